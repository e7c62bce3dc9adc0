//! FETCH data items, body sections and modifiers.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use nom::Parser;
use nom::branch::alt;
use nom::character::complete::char;
use nom::combinator::{map, map_opt, opt, value};
use nom::error::context;
use nom::multi::separated_list1;
use nom::sequence::{delimited, preceded, separated_pair};

use crate::parse::IResult;
use crate::parse::core::{
    arg, astring, committed, number64, nz_number, nz_number64, paren_list1, upper_keyword, word,
};
use crate::types::fetch::{FetchAttr, FetchAttrs, FetchModifiers, Part, Partial, Section};

/// `ALL` / `FAST` / `FULL` / `fetch-att` / `(fetch-att ...)`.
pub(crate) fn fetch_attrs(i: &[u8]) -> IResult<'_, FetchAttrs<'_>> {
    context(
        "fetch attribute",
        alt((
            value(FetchAttrs::All, word("ALL")),
            value(FetchAttrs::Fast, word("FAST")),
            value(FetchAttrs::Full, word("FULL")),
            map(paren_list1(fetch_attr), FetchAttrs::List),
            map(fetch_attr, |attr| FetchAttrs::List(vec![attr])),
        )),
    )
    .parse(i)
}

fn fetch_attr(i: &[u8]) -> IResult<'_, FetchAttr<'_>> {
    use FetchAttr as A;
    let (i, name) = upper_keyword::<13>(i)?;
    let body = |peek| {
        map((section, opt(partial)), move |(section, partial)| {
            A::BodySection {
                peek,
                section,
                partial,
            }
        })
    };
    let binary = |peek| {
        map((section_binary, opt(partial)), move |(part, partial)| {
            A::Binary {
                peek,
                part,
                partial,
            }
        })
    };
    match name.as_bytes() {
        b"ENVELOPE" => Ok((i, A::Envelope)),
        b"FLAGS" => Ok((i, A::Flags)),
        b"INTERNALDATE" => Ok((i, A::InternalDate)),
        b"RFC822" => Ok((i, A::Rfc822)),
        b"RFC822.HEADER" => Ok((i, A::Rfc822Header)),
        b"RFC822.SIZE" => Ok((i, A::Rfc822Size)),
        b"RFC822.TEXT" => Ok((i, A::Rfc822Text)),
        b"BODYSTRUCTURE" => Ok((i, A::BodyStructure)),
        b"UID" => Ok((i, A::Uid)),
        b"MODSEQ" => Ok((i, A::ModSeq)),
        b"BODY" if i.first() == Some(&b'[') => body(false).parse(i),
        b"BODY" => Ok((i, A::Body)),
        b"BODY.PEEK" => body(true).parse(i),
        b"BINARY" => binary(false).parse(i),
        b"BINARY.PEEK" => binary(true).parse(i),
        b"BINARY.SIZE" => map(section_binary, |part| A::BinarySize { part }).parse(i),
        _ => nom::combinator::fail().parse(i),
    }
}

/// `section-part`: `1.2.3`.
fn part(i: &[u8]) -> IResult<'_, Part> {
    map_opt(separated_list1(char('.'), nz_number), Part::new).parse(i)
}

/// What of a part a section names.
enum SectionText<'a> {
    Header,
    Fields(Vec<Cow<'a, [u8]>>),
    FieldsNot(Vec<Cow<'a, [u8]>>),
    Text,
    Mime,
}

fn section_text(i: &[u8]) -> IResult<'_, SectionText<'_>> {
    let (i, name) = upper_keyword::<17>(i)?;
    match name.as_bytes() {
        b"HEADER" => Ok((i, SectionText::Header)),
        b"TEXT" => Ok((i, SectionText::Text)),
        b"MIME" => Ok((i, SectionText::Mime)),
        b"HEADER.FIELDS" => map(header_list, SectionText::Fields).parse(i),
        b"HEADER.FIELDS.NOT" => map(header_list, SectionText::FieldsNot).parse(i),
        _ => nom::combinator::fail().parse(i),
    }
}

/// Combines a part path and a section text; `MIME` needs a part.
fn build_section<'a>(part: Option<Part>, text: Option<SectionText<'a>>) -> Option<Section<'a>> {
    Some(match text {
        None => Section::Part(part?),
        Some(SectionText::Header) => Section::Header(part),
        Some(SectionText::Fields(names)) => Section::HeaderFields(part, names),
        Some(SectionText::FieldsNot(names)) => Section::HeaderFieldsNot(part, names),
        Some(SectionText::Text) => Section::Text(part),
        Some(SectionText::Mime) => Section::Mime(part?),
    })
}

/// `[section-spec]`; `None` for `[]`.
fn section(i: &[u8]) -> IResult<'_, Option<Section<'_>>> {
    let with_part = (map(part, Some), opt(preceded(char('.'), section_text)));
    let without_part = (|i| Ok((i, None)), map(section_text, Some));
    let spec = map_opt(alt((with_part, without_part)), |(part, text)| {
        build_section(part, text)
    });
    committed(
        '[',
        context("section", delimited(char('['), opt(spec), char(']'))),
    )
    .parse(i)
}

fn header_list(i: &[u8]) -> IResult<'_, Vec<Cow<'_, [u8]>>> {
    arg(context("header list", paren_list1(astring))).parse(i)
}

/// `[section-part]` of BINARY; empty for the whole message.
fn section_binary(i: &[u8]) -> IResult<'_, Vec<NonZeroU32>> {
    let path = map(opt(part), |p| {
        p.map(|p| p.as_slice().to_vec()).unwrap_or_default()
    });
    committed(
        '[',
        context("section", delimited(char('['), path, char(']'))),
    )
    .parse(i)
}

/// `<offset.length>`.
fn partial(i: &[u8]) -> IResult<'_, Partial> {
    let numbers = separated_pair(number64, char('.'), nz_number64);
    let partial = map(
        delimited(char('<'), numbers, char('>')),
        |(offset, length)| Partial { offset, length },
    );
    committed('<', context("partial", partial)).parse(i)
}

/// `[SP (CHANGEDSINCE n / VANISHED ...)]`; each at most once.
pub(crate) fn fetch_modifiers(i: &[u8]) -> IResult<'_, FetchModifiers> {
    #[derive(Clone, Copy)]
    enum Modifier {
        ChangedSince(NonZeroU64),
        Vanished,
    }
    let modifier = alt((
        map(
            preceded(word("CHANGEDSINCE"), arg(nz_number64)),
            Modifier::ChangedSince,
        ),
        value(Modifier::Vanished, word("VANISHED")),
    ));
    let list = map_opt(paren_list1(modifier), |list| {
        let mut out = FetchModifiers::default();
        for m in list {
            match m {
                Modifier::ChangedSince(n) if out.changed_since.is_none() => {
                    out.changed_since = Some(n);
                }
                Modifier::Vanished if !out.vanished => out.vanished = true,
                _ => return None,
            }
        }
        Some(out)
    });
    map(
        opt(arg(context("fetch modifier", list))),
        Option::unwrap_or_default,
    )
    .parse(i)
}
