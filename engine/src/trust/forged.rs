//! Removes `Authentication-Results:` fields that arrive from outside claiming to be ours.
//!
//! Mail readers and filters believe the results our authserv-id vouches for (RFC 8601 §5):
//! a field with our name that a sender wrote itself would pass its forgery off as checked.
//! Such fields are dropped from the header as the message streams into the spool; other
//! servers' results stay.

/// A header field is held up to this long while deciding; a longer one is kept as it is
/// (the authserv-id comes first, so a field whose first kilobytes do not name it is not
/// ours).
const HOLD_MAX: usize = 4096;

const FIELD: &[u8] = b"authentication-results:";

/// Filters a message's header as its bytes arrive in chunks of any size.
#[derive(Debug)]
pub struct ForgedResults {
    authserv_id: Box<str>,
    /// The field being read, until it is known whether to keep it.
    held: Vec<u8>,
    /// What is done with the field being read.
    field: Field,
    /// The next byte starts a line.
    line_start: bool,
    /// The blank line that ends the header went by: everything else is kept.
    in_body: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// Held until it is complete, to see whose results it holds.
    Holding,
    /// Written as it comes.
    Keeping,
}

impl ForgedResults {
    pub fn new(authserv_id: &str) -> Self {
        ForgedResults {
            authserv_id: authserv_id.into(),
            held: Vec::new(),
            field: Field::Keeping,
            line_start: true,
            in_body: false,
        }
    }

    /// Feeds the next bytes of the message; what is kept is appended to `out`.
    pub fn filter(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        while !bytes.is_empty() {
            if self.in_body {
                out.extend_from_slice(bytes);
                return;
            }
            let line_end = bytes.iter().position(|&b| b == b'\n');
            let (part, rest) = match line_end {
                Some(end) => bytes.split_at(end + 1),
                None => (bytes, &[][..]),
            };
            self.line_part(part, line_end.is_some(), out);
            bytes = rest;
        }
    }

    /// The end of the message: a field still held (a message that is all header) is
    /// decided.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.decide_held(out);
        self.in_body = true;
    }

    /// A piece of one line; `ends` when it is the rest of the line, LF included.
    fn line_part(&mut self, part: &[u8], ends: bool, out: &mut Vec<u8>) {
        if self.line_start && !matches!(part.first(), Some(b' ' | b'\t')) {
            // Not a continuation: the field before is complete.
            self.decide_held(out);
            if matches!(part.first(), Some(b'\r' | b'\n')) {
                // The blank line: no header field starts with CR or LF.
                out.extend_from_slice(part);
                self.in_body = true;
                return;
            }
            self.field = if may_start_field(part, ends) {
                Field::Holding
            } else {
                Field::Keeping
            };
        }
        match self.field {
            Field::Holding => {
                self.held.extend_from_slice(part);
                if self.held.len() > HOLD_MAX {
                    out.append(&mut self.held);
                    self.field = Field::Keeping;
                }
            }
            Field::Keeping => out.extend_from_slice(part),
        }
        self.line_start = ends;
    }

    /// Writes the held field unless it is results under our name.
    fn decide_held(&mut self, out: &mut Vec<u8>) {
        let field = std::mem::take(&mut self.held);
        if !self.is_ours(&field) {
            out.extend_from_slice(&field);
        }
        self.field = Field::Keeping;
    }

    /// Whether a whole field is `Authentication-Results:` with our authserv-id.
    fn is_ours(&self, field: &[u8]) -> bool {
        let Some(value) = field
            .get(..FIELD.len())
            .filter(|name| name.eq_ignore_ascii_case(FIELD))
            .and_then(|_| field.get(FIELD.len()..))
        else {
            return false;
        };
        let value = String::from_utf8_lossy(value);
        authserv_id(&value).eq_ignore_ascii_case(&self.authserv_id)
    }
}

/// Whether the first bytes of a line may be the start of an `Authentication-Results:`
/// field: they are, or they are all there is so far and could still become it.
fn may_start_field(part: &[u8], ends: bool) -> bool {
    match part.get(..FIELD.len()) {
        Some(name) => name.eq_ignore_ascii_case(FIELD),
        None => !ends && FIELD[..part.len()].eq_ignore_ascii_case(part),
    }
}

/// The authserv-id of an `Authentication-Results:` value: its first token, after folding
/// white space and comments (RFC 8601 §2.2), up to `;`, white space or a comment.
fn authserv_id(value: &str) -> &str {
    let mut rest = value;
    loop {
        rest = rest.trim_start();
        if let Some(comment) = rest.strip_prefix('(') {
            rest = skip_comment(comment);
        } else {
            break;
        }
    }
    let end = rest
        .find(|c: char| c == ';' || c == '(' || c.is_whitespace())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// What follows a comment whose opening parenthesis was just read (comments nest).
fn skip_comment(mut rest: &str) -> &str {
    let mut depth = 1usize;
    while depth > 0 {
        let Some(at) = rest.find(['(', ')', '\\']) else {
            return "";
        };
        let (sign, after) = rest[at..].split_at(1);
        rest = after;
        match sign {
            "(" => depth += 1,
            ")" => depth -= 1,
            // A quoted pair: skip the character it quotes.
            _ => {
                rest = rest
                    .get(rest.chars().next().map_or(0, char::len_utf8)..)
                    .unwrap_or("")
            }
        }
    }
    rest
}
