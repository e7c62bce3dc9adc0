//! What calendar and contacts clients PUT: any bytes checked and indexed as an iCalendar
//! object or a vCard (`engine::dav::content::index`, calcard underneath, recurrences
//! expanded). Nothing panics, and what is accepted is indexed consistently: a calendar
//! item names one of the four components a calendar holds (one the collection takes, when
//! it limits them) and a span that does not end before it starts; a vCard has no span.
//!
//! Input: one octet (bit 0: address book, else calendar; bits 1 and 2: the calendar takes
//! only VEVENT, only VTODO, or both), then the body.
#![no_main]

use engine::dav::content::index;
use engine::store::dav::CollectionKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    if mode & 1 == 1 {
        if let Ok(item) = index(CollectionKind::AddressBook, body, &[]) {
            assert_eq!(item.component, "VCARD");
            assert_eq!((item.start, item.end), (None, None));
        }
        return;
    }
    let mut components = Vec::new();
    if mode & 2 != 0 {
        components.push("VEVENT".to_owned());
    }
    if mode & 4 != 0 {
        components.push("VTODO".to_owned());
    }
    if let Ok(item) = index(CollectionKind::Calendar, body, &components) {
        assert!(
            ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"].contains(&item.component.as_str()),
            "{}",
            item.component
        );
        assert!(components.is_empty() || components.contains(&item.component));
        if let (Some(start), Some(end)) = (item.start, item.end) {
            assert!(start <= end, "span {start}..{end}");
        }
    }
});
