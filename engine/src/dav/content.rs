//! What clients PUT, checked and indexed: an iCalendar object (RFC 4791 §4.1) or a vCard
//! (RFC 6352 §5.1), parsed with calcard. What queries need (the UID, the component, the
//! time span with recurrences expanded) is worked out here once, at PUT, and stored with
//! the item.

use calcard::icalendar::{ICalendar, ICalendarComponentType};
use calcard::vcard::VCard;

use super::filter::occurrences;
use crate::store::dav::{CollectionKind, ItemIndex};

/// Most occurrences of a recurring event expanded to find its span; one that goes on
/// longer is taken to have no end.
const MAX_OCCURRENCES: usize = 3_000;

/// Why an item was refused: the precondition element of the `403` (RFC 4791 §5.3.2.1,
/// RFC 6352 §6.3.2.1), as (namespace prefix, name), and what to tell the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub precondition: (&'static str, &'static str),
    pub why: String,
}

fn invalid(precondition: (&'static str, &'static str), why: impl Into<String>) -> Invalid {
    Invalid {
        precondition,
        why: why.into(),
    }
}

/// Checks `data` as an item of a collection of `kind` that takes the `components` listed
/// (calendars; empty: any), and indexes it.
pub fn index(
    kind: CollectionKind,
    data: &[u8],
    components: &[String],
) -> Result<ItemIndex, Invalid> {
    match kind {
        CollectionKind::Calendar => calendar(data, components),
        CollectionKind::AddressBook => card(data),
    }
}

fn calendar(data: &[u8], components: &[String]) -> Result<ItemIndex, Invalid> {
    const VALID: (&str, &str) = ("cal", "valid-calendar-data");
    const OBJECT: (&str, &str) = ("cal", "valid-calendar-object-resource");
    let text = std::str::from_utf8(data).map_err(|_| invalid(VALID, "not UTF-8"))?;
    let calendar = ICalendar::parse(text).map_err(|_| invalid(VALID, "not an iCalendar object"))?;
    let mut uid: Option<&str> = None;
    let mut component: Option<&ICalendarComponentType> = None;
    for part in &calendar.components {
        let kind = &part.component_type;
        if !matches!(
            kind,
            ICalendarComponentType::VEvent
                | ICalendarComponentType::VTodo
                | ICalendarComponentType::VJournal
                | ICalendarComponentType::VFreebusy
        ) {
            continue;
        }
        if component.is_some_and(|seen| seen != kind) {
            return Err(invalid(OBJECT, "more than one kind of component"));
        }
        component = Some(kind);
        let this = part
            .uid()
            .ok_or_else(|| invalid(OBJECT, "a component without UID"))?;
        if uid.is_some_and(|seen| seen != this) {
            return Err(invalid(OBJECT, "more than one UID"));
        }
        uid = Some(this);
    }
    let (Some(uid), Some(component)) = (uid, component) else {
        return Err(invalid(
            OBJECT,
            "no event, to-do, journal or free-busy component",
        ));
    };
    let name = component.as_str().to_ascii_uppercase();
    if !components.is_empty() && !components.iter().any(|c| c.eq_ignore_ascii_case(&name)) {
        return Err(invalid(
            ("cal", "supported-calendar-component"),
            format!("this calendar does not take {name}"),
        ));
    }
    let (start, end) = span(&calendar);
    Ok(ItemIndex {
        uid: uid.to_owned(),
        component: name,
        start,
        end,
    })
}

/// The time the object's occurrences cover, in Unix seconds: `None` at an end that is open
/// (an endless recurrence, a to-do without dates).
fn span(calendar: &ICalendar) -> (Option<i64>, Option<i64>) {
    let expanded = occurrences(calendar, MAX_OCCURRENCES);
    let mut start: Option<i64> = None;
    let mut end: Option<i64> = None;
    for event in &expanded.events {
        let (from, to) = event.timestamps();
        start = Some(start.map_or(from, |s| s.min(from)));
        end = Some(end.map_or(to.max(from), |e| e.max(to).max(from)));
    }
    let endless = expanded.events.len() >= MAX_OCCURRENCES;
    (start, if endless { None } else { end })
}

fn card(data: &[u8]) -> Result<ItemIndex, Invalid> {
    const VALID: (&str, &str) = ("card", "valid-address-data");
    let text = std::str::from_utf8(data).map_err(|_| invalid(VALID, "not UTF-8"))?;
    let card = VCard::parse(text).map_err(|_| invalid(VALID, "not a vCard"))?;
    Ok(ItemIndex {
        // A vCard without UID is still stored; uniqueness is then by resource name.
        uid: card.uid().unwrap_or_default().to_owned(),
        component: "VCARD".into(),
        start: None,
        end: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nSUMMARY:Meet\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn an_event_is_indexed_with_its_span() {
        let indexed = index(CollectionKind::Calendar, EVENT.as_bytes(), &[]).unwrap();
        assert_eq!(indexed.uid, "e1");
        assert_eq!(indexed.component, "VEVENT");
        assert_eq!(indexed.start, Some(1_767_607_200));
        assert_eq!(indexed.end, Some(1_767_610_800));
    }

    #[test]
    fn recurrences_widen_the_span_and_endless_ones_have_no_end() {
        let weekly = EVENT.replace("SUMMARY", "RRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY");
        let indexed = index(CollectionKind::Calendar, weekly.as_bytes(), &[]).unwrap();
        assert_eq!(indexed.end, Some(1_767_610_800 + 14 * 86_400));
        let endless = EVENT.replace("SUMMARY", "RRULE:FREQ=DAILY\r\nSUMMARY");
        let indexed = index(CollectionKind::Calendar, endless.as_bytes(), &[]).unwrap();
        assert_eq!((indexed.start, indexed.end), (Some(1_767_607_200), None));
    }

    #[test]
    fn what_a_calendar_refuses() {
        let refused = |data: &str, components: &[String]| {
            index(CollectionKind::Calendar, data.as_bytes(), components)
                .unwrap_err()
                .precondition
        };
        assert_eq!(refused("hello", &[]), ("cal", "valid-calendar-data"));
        assert_eq!(
            refused(&EVENT.replace("UID:e1\r\n", ""), &[]),
            ("cal", "valid-calendar-object-resource")
        );
        let two = EVENT.replace(
            "END:VCALENDAR",
            "BEGIN:VEVENT\r\nUID:e2\r\nDTSTART:20260105T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR",
        );
        assert_eq!(
            refused(&two, &[]),
            ("cal", "valid-calendar-object-resource")
        );
        assert_eq!(
            refused(EVENT, &["VTODO".to_string()]),
            ("cal", "supported-calendar-component")
        );
        assert_eq!(
            refused(
                &[0xffu8].iter().map(|&b| b as char).collect::<String>(),
                &[]
            ),
            ("cal", "valid-calendar-data")
        );
    }

    #[test]
    fn cards() {
        let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Ann\r\nEND:VCARD\r\n";
        let indexed = index(CollectionKind::AddressBook, card.as_bytes(), &[]).unwrap();
        assert_eq!(
            (indexed.uid.as_str(), indexed.component.as_str()),
            ("c1", "VCARD")
        );
        assert!(index(CollectionKind::AddressBook, b"nope", &[]).is_err());
    }
}
