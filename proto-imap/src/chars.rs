//! Character classes of the IMAP grammar (RFC 9051 section 9), shared by the
//! parser, the validating constructors and the encoder so that what we accept
//! and what we write can never disagree.

/// `ATOM-CHAR`: any CHAR except `atom-specials`
/// (`(` `)` `{` SP CTL `%` `*` `"` `\` `]`).
pub(crate) fn is_atom_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR`: `ATOM-CHAR` or `]`.
pub(crate) fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// A character of a tag: `ASTRING-CHAR` except `+`.
pub(crate) fn is_tag_char(b: u8) -> bool {
    is_astring_char(b) && b != b'+'
}

/// `list-char`: `ATOM-CHAR`, the wildcards `%` `*`, or `]`.
pub(crate) fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// A byte that may stand in a quoted string: any but NUL, CR and LF.
/// Non-ASCII bytes are allowed by RFC 9051 (`UTF8-2..4`); whether the encoder
/// may use them is its own choice.
pub(crate) fn is_quotable(b: u8) -> bool {
    !matches!(b, 0 | b'\r' | b'\n')
}
