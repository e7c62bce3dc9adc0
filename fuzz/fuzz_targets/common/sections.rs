//! Every section FETCH can ask of every part a summary lists (and of one it does not): a
//! `BODY[...]` or `BINARY[...]` is a range within the message or bytes made from one, a
//! partial `<o.n>` is that window of the whole, `BINARY.SIZE` is the length of `BINARY`.

use std::borrow::Cow;
use std::num::{NonZeroU32, NonZeroU64};

use engine::mail::{Content, Summary, binary_section, binary_size, body_section};
use proto_imap::{Part, Partial, Section};

pub fn check(message: &[u8], summary: &Summary) {
    let len = message.len();
    let names: Vec<Cow<'_, [u8]>> = vec![Cow::Borrowed(b"From"), Cow::Borrowed(b"subject")];
    let partial = Partial {
        offset: (len / 3) as u64,
        length: NonZeroU64::new((len / 2) as u64 + 1).unwrap(),
    };
    let mut sections = vec![
        None,
        Some(Section::Header(None)),
        Some(Section::Text(None)),
        Some(Section::HeaderFields(None, names.clone())),
        Some(Section::HeaderFieldsNot(None, names.clone())),
    ];
    let missing = vec![NonZeroU32::new(9999).unwrap()];
    let numbers = summary
        .parts
        .iter()
        .map(|p| p.number.clone())
        .chain([missing]);
    for number in numbers {
        let Some(part) = Part::new(number.clone()) else {
            continue;
        };
        sections.extend([
            Some(Section::Part(part.clone())),
            Some(Section::Mime(part.clone())),
            Some(Section::Header(Some(part.clone()))),
            Some(Section::Text(Some(part.clone()))),
            Some(Section::HeaderFields(Some(part.clone()), names.clone())),
            Some(Section::HeaderFieldsNot(Some(part), names.clone())),
        ]);
        match binary_section(message, summary, &number, None) {
            Ok(whole) => {
                in_bounds(&whole, len);
                assert_eq!(
                    binary_size(message, summary, &number),
                    Ok(whole.len() as u64)
                );
                let window = binary_section(message, summary, &number, Some(partial)).unwrap();
                same_window(message, &whole, &window, partial);
            }
            Err(_) => assert!(binary_size(message, summary, &number).is_err()),
        }
    }
    for section in &sections {
        let whole = body_section(message, summary, section.as_ref(), None);
        in_bounds(&whole, len);
        let window = body_section(message, summary, section.as_ref(), Some(partial));
        same_window(message, &whole, &window, partial);
    }
}

fn in_bounds(content: &Content, len: usize) {
    if let Content::Range(r) = content {
        assert!(
            r.start <= r.end && r.end <= len,
            "range {r:?} in {len} octets"
        );
    }
}

/// `<offset.length>` of a section is that window of the whole section.
fn same_window(message: &[u8], whole: &Content, window: &Content, partial: Partial) {
    in_bounds(window, message.len());
    let whole = whole.bytes(message);
    let start = (partial.offset as usize).min(whole.len());
    let end = start
        .saturating_add(partial.length.get() as usize)
        .min(whole.len());
    assert_eq!(window.bytes(message), &whole[start..end]);
}
