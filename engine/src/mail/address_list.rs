//! RFC 5322 address lists split into ENVELOPE addresses, over the raw header bytes.
//!
//! mail-parser parses addresses too, but it decodes RFC 2047 display names; ENVELOPE must
//! carry them as written (clients decode), so this splits the raw text into
//! `(name adl mailbox host)` without decoding anything. Groups become a start marker
//! `(NIL NIL "group" NIL)` and an end marker `(NIL NIL NIL NIL)` (RFC 3501 7.4.2). A missing
//! local part or domain is filled with `MISSING_MAILBOX` / `MISSING_DOMAIN` as Dovecot does,
//! because a `NIL` host would read as a group marker.

use std::borrow::Cow;

use proto_imap::Address;

const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";
const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";

/// One lexical token of an address list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An atom (dots included, so `John Q. Public` and `a.b` stay whole) or a domain literal.
    Atom(Vec<u8>),
    /// A quoted string, unescaped.
    Quoted(Vec<u8>),
    /// A comment's text, used as the name of `user@host (Name)`.
    Comment(Vec<u8>),
    /// One of `< > @ , : ;`.
    Special(u8),
}

/// Splits an unfolded header value into ENVELOPE addresses.
pub(super) fn parse_addresses(value: &[u8]) -> Vec<Address<'static>> {
    let tokens = lex(value);
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        out: Vec::new(),
    };
    while parser.pos < tokens.len() {
        parser.address(false);
    }
    parser.out
}

fn lex(value: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = value;
    while let Some((&b, tail)) = rest.split_first() {
        rest = match b {
            b' ' | b'\t' | b'\r' | b'\n' => tail,
            b'"' => {
                let (text, tail) = quoted(tail);
                tokens.push(Token::Quoted(text));
                tail
            }
            b'(' => {
                let (text, tail) = comment(tail);
                tokens.push(Token::Comment(text));
                tail
            }
            b'[' => {
                let end = tail
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(tail.len(), |n| n + 1);
                let (literal, tail) = tail.split_at(end);
                tokens.push(Token::Atom([b"[", literal].concat()));
                tail
            }
            b'<' | b'>' | b'@' | b',' | b':' | b';' => {
                tokens.push(Token::Special(b));
                tail
            }
            _ => {
                let end = rest
                    .iter()
                    .position(|&c| ends_atom(c))
                    .unwrap_or(rest.len());
                let (atom, tail) = rest.split_at(end.max(1));
                tokens.push(Token::Atom(atom.to_vec()));
                tail
            }
        };
    }
    tokens
}

fn ends_atom(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'(' | b'[' | b'<' | b'>' | b'@' | b',' | b':' | b';'
    )
}

/// The text of a quoted string after its opening quote, unescaped, and what follows it.
fn quoted(input: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut text = Vec::new();
    let mut iter = input.iter().enumerate();
    while let Some((n, &b)) = iter.next() {
        match b {
            b'"' => return (text, input.get(n + 1..).unwrap_or_default()),
            b'\\' => text.extend(iter.next().map(|(_, &c)| c)),
            _ => text.push(b),
        }
    }
    (text, &[])
}

/// The text of a (possibly nested) comment after its opening parenthesis.
fn comment(input: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut text = Vec::new();
    let mut depth = 1usize;
    let mut iter = input.iter().enumerate();
    while let Some((n, &b)) = iter.next() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (text, input.get(n + 1..).unwrap_or_default());
                }
            }
            b'\\' => {
                text.extend(iter.next().map(|(_, &c)| c));
                continue;
            }
            _ => {}
        }
        if depth > 1 || b != b'(' {
            text.push(b);
        }
    }
    (text, &[])
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    out: Vec<Address<'static>>,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_special(&self) -> Option<u8> {
        match self.peek() {
            Some(Token::Special(b)) => Some(*b),
            _ => None,
        }
    }

    /// Words and comments up to the next special.
    fn words(&mut self) -> (Vec<&'t Token>, Option<Vec<u8>>) {
        let tokens = self.tokens;
        let mut words = Vec::new();
        let mut comment = None;
        while let Some(token) = tokens.get(self.pos) {
            match token {
                Token::Special(_) => break,
                Token::Comment(text) => {
                    comment.get_or_insert_with(|| text.clone());
                }
                word => words.push(word),
            }
            self.pos += 1;
        }
        (words, comment)
    }

    /// One mailbox or group, or a stray separator.
    fn address(&mut self, in_group: bool) {
        let (words, comment) = self.words();
        match self.peek_special() {
            Some(b'<') => {
                self.pos += 1;
                let name = phrase(&words).or(comment);
                self.angle_addr(name);
            }
            Some(b':') if !in_group => {
                self.pos += 1;
                self.group(phrase(&words));
            }
            Some(b'@') => {
                self.pos += 1;
                let local = addr_spec_part(&words);
                let (domain, trailing) = self.words();
                let host = addr_spec_part(&domain);
                self.push(comment.or(trailing), None, local, host);
            }
            special => {
                if !words.is_empty() {
                    let mailbox = addr_spec_part(&words);
                    self.push(comment, None, mailbox, Vec::new());
                }
                // `;` ends the group we are in: leave it to the caller.
                if special.is_some() && !(in_group && special == Some(b';')) {
                    self.pos += 1;
                }
            }
        }
    }

    /// After `<`: `[@route,@route:] local@domain >`.
    fn angle_addr(&mut self, name: Option<Vec<u8>>) {
        let mut route = Vec::new();
        loop {
            let separator = match self.peek_special() {
                Some(b'@') => b'@',
                Some(b',') if !route.is_empty() => b',',
                _ => break,
            };
            route.push(separator);
            self.pos += 1;
            let (words, _) = self.words();
            route.extend(addr_spec_part(&words));
        }
        if !route.is_empty() && self.peek_special() == Some(b':') {
            self.pos += 1;
        }
        let (local, _) = self.words();
        let local = addr_spec_part(&local);
        let mut host = Vec::new();
        if self.peek_special() == Some(b'@') {
            self.pos += 1;
            let (domain, _) = self.words();
            host = addr_spec_part(&domain);
        }
        if self.peek_special() == Some(b'>') {
            self.pos += 1;
        }
        let adl = (!route.is_empty()).then_some(route);
        self.push(name, adl, local, host);
    }

    /// After `name:`: members up to `;`, between the group markers.
    fn group(&mut self, name: Option<Vec<u8>>) {
        self.out.push(Address {
            mailbox: Some(Cow::Owned(name.unwrap_or_default())),
            ..Address::default()
        });
        while let Some(token) = self.peek() {
            if *token == Token::Special(b';') {
                self.pos += 1;
                break;
            }
            self.address(true);
        }
        self.out.push(Address::default());
    }

    fn push(&mut self, name: Option<Vec<u8>>, adl: Option<Vec<u8>>, local: Vec<u8>, host: Vec<u8>) {
        let or_missing = |v: Vec<u8>, missing: &[u8]| {
            Cow::Owned(if v.is_empty() { missing.to_vec() } else { v })
        };
        self.out.push(Address {
            name: name.filter(|n| !n.is_empty()).map(Cow::Owned),
            adl: adl.map(Cow::Owned),
            mailbox: Some(or_missing(local, MISSING_MAILBOX)),
            host: Some(or_missing(host, MISSING_DOMAIN)),
        });
    }
}

/// A display name: the words joined by single spaces, quoted strings unquoted.
fn phrase(words: &[&Token]) -> Option<Vec<u8>> {
    let parts: Vec<&[u8]> = words.iter().filter_map(|w| word_text(w)).collect();
    (!parts.is_empty()).then(|| parts.join(&b' '))
}

/// A local part or domain: the words run together; a quoted local part keeps its quotes so
/// that `mailbox@host` is still a valid address.
fn addr_spec_part(words: &[&Token]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in words {
        match word {
            Token::Quoted(text) => {
                out.push(b'"');
                for &b in text {
                    if b == b'"' || b == b'\\' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'"');
            }
            other => out.extend(word_text(other).unwrap_or_default()),
        }
    }
    out
}

fn word_text(token: &Token) -> Option<&[u8]> {
    match token {
        Token::Atom(text) | Token::Quoted(text) => Some(text),
        Token::Comment(_) | Token::Special(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(name adl mailbox host)` per address, `-` for NIL.
    fn show(value: &str) -> Vec<String> {
        let part = |p: &Option<Cow<'_, [u8]>>| {
            p.as_deref()
                .map_or("-".to_string(), |b| String::from_utf8_lossy(b).into_owned())
        };
        parse_addresses(value.as_bytes())
            .iter()
            .map(|a| {
                format!(
                    "{}|{}|{}|{}",
                    part(&a.name),
                    part(&a.adl),
                    part(&a.mailbox),
                    part(&a.host)
                )
            })
            .collect()
    }

    #[test]
    fn mailboxes() {
        assert_eq!(show("user@domain"), ["-|-|user|domain"]);
        assert_eq!(
            show("From Real <fromuser@fromdomain.org>"),
            ["From Real|-|fromuser|fromdomain.org"]
        );
        assert_eq!(show("user@domain (Real Name)"), ["Real Name|-|user|domain"]);
        assert_eq!(
            show("\"Doe, John\" <j@x.org>, =?utf-8?q?J=C3=B6rg?= <jo@x.org>"),
            ["Doe, John|-|j|x.org", "=?utf-8?q?J=C3=B6rg?=|-|jo|x.org"]
        );
        assert_eq!(show("John Q. Public <jqp@x>"), ["John Q. Public|-|jqp|x"]);
        assert_eq!(show("\"a b\"@x"), ["-|-|\"a b\"|x"]);
        assert_eq!(show("<@route:user@domain>"), ["-|@route|user|domain"]);
        assert_eq!(show("<@r1,@r2:u@d>"), ["-|@r1,@r2|u|d"]);
        assert_eq!(show("a@[127.0.0.1]"), ["-|-|a|[127.0.0.1]"]);
    }

    #[test]
    fn groups() {
        assert_eq!(
            show("group: g1@d1.org, g2@d2.org;, group2: g3@d3.org;"),
            [
                "-|-|group|-",
                "-|-|g1|d1.org",
                "-|-|g2|d2.org",
                "-|-|-|-",
                "-|-|group2|-",
                "-|-|g3|d3.org",
                "-|-|-|-"
            ]
        );
        assert_eq!(
            show("group:;, group2: (foo) ;"),
            ["-|-|group|-", "-|-|-|-", "-|-|group2|-", "-|-|-|-"]
        );
        assert_eq!(
            show("undisclosed-recipients:;"),
            ["-|-|undisclosed-recipients|-", "-|-|-|-"]
        );
    }

    #[test]
    fn malformed_input_never_gives_a_nil_host() {
        assert_eq!(
            show("undisclosed-recipients"),
            ["-|-|undisclosed-recipients|MISSING_DOMAIN"]
        );
        assert_eq!(show("<>"), ["-|-|MISSING_MAILBOX|MISSING_DOMAIN"]);
        assert_eq!(show("Name <user"), ["Name|-|user|MISSING_DOMAIN"]);
        assert_eq!(
            show(",,;>\"unterminated"),
            ["-|-|\"unterminated\"|MISSING_DOMAIN"]
        );
        assert_eq!(
            show("a@b (unterminated (nested) comment"),
            ["unterminated (nested) comment|-|a|b"]
        );
        assert!(show("").is_empty());
        assert_eq!(show("g: a@b"), ["-|-|g|-", "-|-|a|b", "-|-|-|-"]);
    }
}
