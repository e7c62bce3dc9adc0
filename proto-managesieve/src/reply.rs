//! Server responses (RFC 5804 §4): `OK`, `NO` or `BYE`, a response code in parentheses,
//! and a human-readable string; strings as quoted strings where they can be, literals
//! otherwise, so no text (a script, an error naming a line of one) can forge a line.

use std::fmt;

/// A response code (RFC 5804 §1.3) a refusal may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The script or name does not exist.
    Nonexistent,
    /// The new name of a `RENAMESCRIPT` is taken.
    AlreadyExists,
    /// The active script cannot be removed.
    Active,
    /// The account keeps as many scripts as it may.
    QuotaMaxScripts,
    /// The script is larger than the server takes.
    QuotaMaxSize,
    /// The server cannot do it now; the client may try again later.
    TryLater,
    /// Logging in needs TLS first.
    EncryptNeeded,
}

impl Code {
    fn text(self) -> &'static str {
        match self {
            Self::Nonexistent => "NONEXISTENT",
            Self::AlreadyExists => "ALREADYEXISTS",
            Self::Active => "ACTIVE",
            Self::QuotaMaxScripts => "QUOTA/MAXSCRIPTS",
            Self::QuotaMaxSize => "QUOTA/MAXSIZE",
            Self::TryLater => "TRYLATER",
            Self::EncryptNeeded => "ENCRYPT-NEEDED",
        }
    }
}

/// The three responses that end a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Ok,
    No,
    Bye,
}

/// Appends a response ending a command: `status (code) "text"`.
pub(crate) fn status(out: &mut Vec<u8>, status: Status, code: Option<Code>, text: &str) {
    out.extend_from_slice(match status {
        Status::Ok => b"OK",
        Status::No => b"NO",
        Status::Bye => b"BYE",
    });
    if let Some(code) = code {
        out.extend_from_slice(b" (");
        out.extend_from_slice(code.text().as_bytes());
        out.push(b')');
    }
    out.push(b' ');
    string(out, text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends `OK (TAG "tag") "text"`, NOOP's answer (RFC 5804 §2.13).
pub(crate) fn ok_tagged(out: &mut Vec<u8>, tag: &str, text: &str) {
    out.extend_from_slice(b"OK (TAG ");
    string(out, tag.as_bytes());
    out.extend_from_slice(b") ");
    string(out, text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Appends one capability line: `"NAME"`, or `"NAME" "value"`.
pub(crate) fn capability(out: &mut Vec<u8>, name: &str, value: Option<fmt::Arguments<'_>>) {
    string(out, name.as_bytes());
    if let Some(value) = value {
        out.push(b' ');
        string(out, value.to_string().as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a line of `LISTSCRIPTS`: the name, and `ACTIVE` for the active script.
pub(crate) fn listed(out: &mut Vec<u8>, name: &str, active: bool) {
    string(out, name.as_bytes());
    if active {
        out.extend_from_slice(b" ACTIVE");
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a string and a line end: `GETSCRIPT`'s script, a SASL challenge.
pub(crate) fn string_line(out: &mut Vec<u8>, text: &[u8]) {
    string(out, text);
    out.extend_from_slice(b"\r\n");
}

/// Appends `text` as a quoted string when it can be one (short, no line ends or NUL, no
/// octet a quoted string cannot carry), else as a literal.
pub(crate) fn string(out: &mut Vec<u8>, text: &[u8]) {
    let quotable = text.len() <= 1024 && !text.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'));
    if quotable {
        out.push(b'"');
        for &b in text {
            if matches!(b, b'"' | b'\\') {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, text);
    }
}

/// Appends `{n}` CRLF and the octets (a server's literal has no `+`).
pub(crate) fn literal(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'{');
    out.extend_from_slice(text.len().to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
    out.extend_from_slice(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(write: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn responses() {
        assert_eq!(
            written(|o| status(o, Status::Ok, None, "Logged in")),
            "OK \"Logged in\"\r\n"
        );
        assert_eq!(
            written(|o| status(o, Status::No, Some(Code::QuotaMaxSize), "Too \"big\"")),
            "NO (QUOTA/MAXSIZE) \"Too \\\"big\\\"\"\r\n"
        );
        assert_eq!(
            written(|o| status(o, Status::No, None, "line 1\r\nOK")),
            "NO {10}\r\nline 1\r\nOK\r\n"
        );
        assert_eq!(
            written(|o| ok_tagged(o, "t\\1", "Done")),
            "OK (TAG \"t\\\\1\") \"Done\"\r\n"
        );
        assert_eq!(
            written(|o| capability(o, "VERSION", Some(format_args!("1.0")))),
            "\"VERSION\" \"1.0\"\r\n"
        );
        assert_eq!(written(|o| listed(o, "away", true)), "\"away\" ACTIVE\r\n");
    }
}
