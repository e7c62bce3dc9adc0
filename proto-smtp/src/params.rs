//! Wire format of the ESMTP parameters that follow the path in `MAIL` and `RCPT`
//! (RFC 5321 4.1.2 `esmtp-param`).

use std::io::Write as _;

use nom::Parser;
use nom::bytes::complete::{take_while, take_while1};
use nom::character::complete::{char, space1};
use nom::combinator::{opt, recognize};
use nom::sequence::preceded;

use crate::envelope::{Body, MailParams, Notify, RcptParams, Ret};
use crate::{ParseError, xtext};

/// Parses the parameters of `MAIL FROM:`; `input` is what follows the path.
pub(crate) fn parse_mail_params(input: &[u8]) -> Result<MailParams, ParseError> {
    let mut params = MailParams::default();
    for_each_param(input, |keyword, value| {
        let keyword = Keyword(keyword);
        if keyword.is("SIZE") {
            set_once(&mut params.size, parse_size(required(value)?)?)
        } else if keyword.is("BODY") {
            set_once(&mut params.body, parse_body(required(value)?)?)
        } else if keyword.is("SMTPUTF8") {
            flag(&mut params.smtputf8, value)
        } else if keyword.is("REQUIRETLS") {
            flag(&mut params.require_tls, value)
        } else if keyword.is("RET") {
            let ret = match required(value)? {
                v if v.eq_ignore_ascii_case(b"FULL") => Ret::Full,
                v if v.eq_ignore_ascii_case(b"HDRS") => Ret::Hdrs,
                _ => return Err(ParseError::Syntax),
            };
            set_once(&mut params.ret, ret)
        } else if keyword.is("ENVID") {
            set_once(
                &mut params.envid,
                xtext::decode(required(value)?).ok_or(ParseError::Syntax)?,
            )
        } else if keyword.is("AUTH") {
            set_once(
                &mut params.auth,
                xtext::decode(required(value)?).ok_or(ParseError::Syntax)?,
            )
        } else {
            Err(ParseError::UnsupportedParameter)
        }
    })?;
    Ok(params)
}

/// Parses the parameters of `RCPT TO:`; `input` is what follows the path.
pub(crate) fn parse_rcpt_params(input: &[u8]) -> Result<RcptParams, ParseError> {
    let mut params = RcptParams::default();
    for_each_param(input, |keyword, value| {
        let keyword = Keyword(keyword);
        if keyword.is("NOTIFY") {
            set_once(&mut params.notify, parse_notify(required(value)?)?)
        } else if keyword.is("ORCPT") {
            set_once(&mut params.orcpt, parse_orcpt(required(value)?)?)
        } else {
            Err(ParseError::UnsupportedParameter)
        }
    })?;
    Ok(params)
}

impl MailParams {
    /// Appends the parameters, each preceded by a space, in a fixed order.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        if let Some(size) = self.size {
            let _ = write!(out, " SIZE={size}");
        }
        match self.body {
            Some(Body::SevenBit) => out.extend_from_slice(b" BODY=7BIT"),
            Some(Body::EightBitMime) => out.extend_from_slice(b" BODY=8BITMIME"),
            None => {}
        }
        if self.smtputf8 {
            out.extend_from_slice(b" SMTPUTF8");
        }
        match self.ret {
            Some(Ret::Full) => out.extend_from_slice(b" RET=FULL"),
            Some(Ret::Hdrs) => out.extend_from_slice(b" RET=HDRS"),
            None => {}
        }
        if let Some(envid) = &self.envid {
            out.extend_from_slice(b" ENVID=");
            xtext::encode(envid, out);
        }
        if let Some(auth) = &self.auth {
            out.extend_from_slice(b" AUTH=");
            xtext::encode(auth, out);
        }
        if self.require_tls {
            out.extend_from_slice(b" REQUIRETLS");
        }
    }
}

/// A parameter without a value (`SMTPUTF8`, `REQUIRETLS`), given at most once.
fn flag(set: &mut bool, value: Option<&[u8]>) -> Result<(), ParseError> {
    if value.is_some() || *set {
        return Err(ParseError::Syntax);
    }
    *set = true;
    Ok(())
}

impl RcptParams {
    /// Appends the parameters, each preceded by a space.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        if let Some(notify) = self.notify {
            out.extend_from_slice(b" NOTIFY=");
            if notify.never {
                out.extend_from_slice(b"NEVER");
            } else {
                let names = [
                    (notify.success, "SUCCESS"),
                    (notify.failure, "FAILURE"),
                    (notify.delay, "DELAY"),
                ];
                let mut first = true;
                for (_, name) in names.iter().filter(|(on, _)| *on) {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(name.as_bytes());
                }
            }
        }
        if let Some(orcpt) = &self.orcpt {
            out.extend_from_slice(b" ORCPT=");
            // Stored as "type;address": only the address part is xtext.
            let (kind, address) = orcpt.split_once(';').unwrap_or(("rfc822", orcpt));
            out.extend_from_slice(kind.as_bytes());
            out.push(b';');
            xtext::encode(address, out);
        }
    }
}

/// Calls `f` for every ` keyword[=value]` in `input`, stopping at the first error.
fn for_each_param<'a>(
    mut input: &'a [u8],
    mut f: impl FnMut(&'a [u8], Option<&'a [u8]>) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let keyword = recognize((
        take_while1(|b: u8| b.is_ascii_alphanumeric()),
        take_while(|b: u8| b.is_ascii_alphanumeric() || b == b'-'),
    ));
    // esmtp-value: any printable but '=' and space; UTF-8 per RFC 6531.
    let value = take_while1(|b: u8| b > b' ' && b != b'=' && b != 0x7f);
    let mut param = preceded(space1, (keyword, opt(preceded(char('='), value))));
    while !input.is_empty() {
        let (rest, (keyword, value)) = param
            .parse(input)
            .map_err(|_: nom::Err<nom::error::Error<&[u8]>>| ParseError::Syntax)?;
        f(keyword, value)?;
        input = rest;
    }
    Ok(())
}

struct Keyword<'a>(&'a [u8]);

impl Keyword<'_> {
    fn is(&self, name: &str) -> bool {
        self.0.eq_ignore_ascii_case(name.as_bytes())
    }
}

/// The value of a keyword that needs one.
fn required(value: Option<&[u8]>) -> Result<&[u8], ParseError> {
    value.ok_or(ParseError::Syntax)
}

/// Stores a parameter value; a repeated parameter is a syntax error.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), ParseError> {
    match slot {
        Some(_) => Err(ParseError::Syntax),
        None => {
            *slot = Some(value);
            Ok(())
        }
    }
}

/// Decimal size; absurdly large values saturate (and then exceed any limit).
fn parse_size(value: &[u8]) -> Result<u64, ParseError> {
    value.iter().try_fold(0u64, |acc, &b| {
        let digit = char::from(b).to_digit(10).ok_or(ParseError::Syntax)?;
        Ok(acc.saturating_mul(10).saturating_add(u64::from(digit)))
    })
}

fn parse_body(value: &[u8]) -> Result<Body, ParseError> {
    if value.eq_ignore_ascii_case(b"7BIT") {
        Ok(Body::SevenBit)
    } else if value.eq_ignore_ascii_case(b"8BITMIME") {
        Ok(Body::EightBitMime)
    } else if value.eq_ignore_ascii_case(b"BINARYMIME") {
        // Real (RFC 3030) but not advertised.
        Err(ParseError::UnsupportedParameter)
    } else {
        Err(ParseError::Syntax)
    }
}

fn parse_notify(value: &[u8]) -> Result<Notify, ParseError> {
    let mut notify = Notify::default();
    for item in value.split(|&b| b == b',') {
        let flag = match item {
            i if i.eq_ignore_ascii_case(b"NEVER") => &mut notify.never,
            i if i.eq_ignore_ascii_case(b"SUCCESS") => &mut notify.success,
            i if i.eq_ignore_ascii_case(b"FAILURE") => &mut notify.failure,
            i if i.eq_ignore_ascii_case(b"DELAY") => &mut notify.delay,
            _ => return Err(ParseError::Syntax),
        };
        *flag = true;
    }
    // NEVER must stand alone (RFC 3461 4.1).
    if notify.never && (notify.success || notify.failure || notify.delay) {
        return Err(ParseError::Syntax);
    }
    Ok(notify)
}

/// `addr-type ";" xtext`, kept as `type;decoded-address`.
fn parse_orcpt(value: &[u8]) -> Result<String, ParseError> {
    let semicolon = value
        .iter()
        .position(|&b| b == b';')
        .ok_or(ParseError::Syntax)?;
    let (kind, address) = value.split_at(semicolon);
    let valid_kind =
        !kind.is_empty() && kind.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-');
    let kind = std::str::from_utf8(kind).map_err(|_| ParseError::Syntax)?;
    let address = address
        .get(1..)
        .and_then(xtext::decode)
        .ok_or(ParseError::Syntax)?;
    if !valid_kind || address.is_empty() {
        return Err(ParseError::Syntax);
    }
    Ok(format!("{kind};{address}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_params() {
        let p = parse_mail_params(b" size=123 BODY=8bitmime SMTPUTF8 RET=HDRS ENVID=a+2Bb AUTH=<>")
            .unwrap();
        assert_eq!(p.size, Some(123));
        assert_eq!(p.body, Some(Body::EightBitMime));
        assert!(p.smtputf8);
        assert_eq!(p.ret, Some(Ret::Hdrs));
        assert_eq!(p.envid.as_deref(), Some("a+b"));
        assert_eq!(p.auth.as_deref(), Some("<>"));
    }

    #[test]
    fn mail_param_errors() {
        assert_eq!(
            parse_mail_params(b" FOO=1"),
            Err(ParseError::UnsupportedParameter)
        );
        assert_eq!(
            parse_mail_params(b" BODY=BINARYMIME"),
            Err(ParseError::UnsupportedParameter)
        );
        assert_eq!(
            parse_mail_params(b" SIZE=1 SIZE=2"),
            Err(ParseError::Syntax)
        );
        assert_eq!(parse_mail_params(b" SIZE"), Err(ParseError::Syntax));
        assert_eq!(parse_mail_params(b" SIZE=x"), Err(ParseError::Syntax));
        assert_eq!(parse_mail_params(b" SMTPUTF8=yes"), Err(ParseError::Syntax));
        assert_eq!(parse_mail_params(b"SIZE=1"), Err(ParseError::Syntax));
        assert_eq!(parse_mail_params(b" ENVID=a+Z1"), Err(ParseError::Syntax));
        assert_eq!(
            parse_mail_params(b" SIZE=99999999999999999999999")
                .unwrap()
                .size,
            Some(u64::MAX)
        );
    }

    #[test]
    fn rcpt_params() {
        let p = parse_rcpt_params(b" NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+40b@c").unwrap();
        let notify = Notify {
            success: true,
            delay: true,
            ..Notify::default()
        };
        assert_eq!(p.notify, Some(notify));
        assert_eq!(p.orcpt.as_deref(), Some("rfc822;a@b@c"));
        assert_eq!(
            parse_rcpt_params(b" NOTIFY=NEVER,DELAY"),
            Err(ParseError::Syntax)
        );
        assert_eq!(
            parse_rcpt_params(b" ORCPT=noseparator"),
            Err(ParseError::Syntax)
        );
        assert_eq!(
            parse_rcpt_params(b" SIZE=1"),
            Err(ParseError::UnsupportedParameter)
        );
    }

    #[test]
    fn encode_round_trips() {
        let input = b" SIZE=5 BODY=7BIT SMTPUTF8 RET=FULL ENVID=x+2By AUTH=a+3Db";
        let mut out = Vec::new();
        parse_mail_params(input).unwrap().encode(&mut out);
        assert_eq!(out, input);
        let input = b" NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;u+20v@w";
        let mut out = Vec::new();
        parse_rcpt_params(input).unwrap().encode(&mut out);
        assert_eq!(out, input);
    }
}
