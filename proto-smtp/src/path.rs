//! Reverse- and forward-paths: the `<address>` of `MAIL FROM:` and `RCPT TO:`
//! (RFC 5321 4.1.2, with RFC 6531 UTF-8 allowed wherever text is).

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take, take_while1};
use nom::character::complete::char;
use nom::combinator::{fail, opt, recognize};
use nom::multi::{many0_count, separated_list1};
use nom::sequence::{delimited, preceded, terminated};
use nom::{IResult, Parser};

/// Longest address accepted: a path is at most 256 octets including its angle
/// brackets (RFC 5321 4.5.3.1.3).
pub(crate) const MAX_ADDRESS: usize = 254;

/// Parses a reverse-path at the start of `input`: `<>` (the null sender, returned
/// as `""`) or a mailbox. Source routes (`<@a,@b:user@x>`) are dropped, as RFC 5321
/// 4.1.1.3 asks. Returns the rest of the input and the address.
pub(crate) fn reverse_path(input: &[u8]) -> Option<(&[u8], &str)> {
    let null = tag::<_, _, nom::error::Error<&[u8]>>("<>").parse(input);
    match null {
        Ok((rest, _)) => Some((rest, "")),
        Err(_) => path(input, false),
    }
}

/// Parses a forward-path: a mailbox, or the bare `<Postmaster>` every server must
/// accept (RFC 5321 4.5.1).
pub(crate) fn forward_path(input: &[u8]) -> Option<(&[u8], &str)> {
    path(input, true)
}

fn path<'a>(input: &'a [u8], postmaster: bool) -> Option<(&'a [u8], &'a str)> {
    let local_only = move |i: &'a [u8]| -> IResult<&'a [u8], &'a [u8]> {
        if postmaster {
            tag_no_case("postmaster").parse(i)
        } else {
            fail().parse(i)
        }
    };
    let (rest, address) = delimited(
        char('<'),
        preceded(opt(source_route), alt((mailbox, local_only))),
        char('>'),
    )
    .parse(input)
    .ok()?;
    let address = std::str::from_utf8(address).ok()?;
    (address.len() <= MAX_ADDRESS).then_some((rest, address))
}

/// `@a,@b:` (RFC 5321 4.1.2 A-d-l), obsolete and ignored.
fn source_route(i: &[u8]) -> IResult<&[u8], Vec<&[u8]>> {
    terminated(
        separated_list1(char(','), preceded(char('@'), domain)),
        char(':'),
    )
    .parse(i)
}

fn mailbox(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize((
        alt((dot_string, quoted_string)),
        char('@'),
        alt((domain, address_literal)),
    ))
    .parse(i)
}

/// Local part as atoms and dots. Empty or repeated dots are tolerated: real
/// senders use them and the engine, not the parser, decides what exists.
fn dot_string(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| is_atext(b) || b == b'.').parse(i)
}

fn quoted_string(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let qtext =
        take_while1(|b: u8| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\' || b >= 0x80);
    let quoted_pair = preceded(char('\\'), take(1usize));
    recognize(delimited(
        char('"'),
        many0_count(alt((qtext, quoted_pair))),
        char('"'),
    ))
    .parse(i)
}

/// Host name, including U-labels (RFC 6531) and the `_` some private networks use.
fn domain(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(|b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') || b >= 0x80)
        .parse(i)
}

/// `[192.0.2.1]` or `[IPv6:...]`.
fn address_literal(i: &[u8]) -> IResult<&[u8], &[u8]> {
    let dtext =
        take_while1(|b: u8| (b'!'..=b'~').contains(&b) && !matches!(b, b'[' | b']' | b'\\'));
    recognize(delimited(char('['), dtext, char(']'))).parse(i)
}

/// RFC 5322 atext, plus UTF-8 (RFC 6531).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_sender_and_plain_address() {
        assert_eq!(reverse_path(b"<> X"), Some((&b" X"[..], "")));
        assert_eq!(
            reverse_path(b"<a.b@example.com>"),
            Some((&b""[..], "a.b@example.com"))
        );
        assert_eq!(forward_path(b"<>"), None);
    }

    #[test]
    fn source_route_is_stripped() {
        let parsed = forward_path(b"<@a.example,@b.example:user@x.example>");
        assert_eq!(parsed, Some((&b""[..], "user@x.example")));
    }

    #[test]
    fn quoted_local_part_and_literal() {
        let parsed = forward_path(br#"<"john \"q\" doe"@[192.0.2.1]>"#);
        assert_eq!(parsed, Some((&b""[..], r#""john \"q\" doe"@[192.0.2.1]"#)));
    }

    #[test]
    fn postmaster_only_as_recipient() {
        assert_eq!(
            forward_path(b"<PostMaster>"),
            Some((&b""[..], "PostMaster"))
        );
        assert_eq!(reverse_path(b"<postmaster>"), None);
    }

    #[test]
    fn utf8_addresses_parse() {
        let addr = "<j\u{f6}rg@b\u{fc}cher.example>";
        assert_eq!(
            forward_path(addr.as_bytes()).map(|p| p.1),
            Some(&addr[1..addr.len() - 1])
        );
    }

    #[test]
    fn rejects_bad_paths() {
        for bad in [
            &b"a@b"[..],
            b"<a@b",
            b"<@a:>",
            b"<a@>",
            b"<@b>",
            b"<\xff@b>",
        ] {
            assert_eq!(
                forward_path(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = format!("<{}@example.com>", "a".repeat(250));
        assert_eq!(forward_path(long.as_bytes()), None);
    }
}
