//! The filters of calendar-query (RFC 4791 §9.7) and addressbook-query (RFC 6352 §10.5).
//!
//! A query is answered in two passes: the index stored with each item (component, time
//! span) rules out most items without reading them ([`may_match`]), and the rest are
//! parsed and tested in full: every occurrence of a recurring event against a time range,
//! properties against text matches.

use calcard::common::PartialDateTime;
use calcard::common::timezone::Tz;
use calcard::icalendar::dates::CalendarExpand;
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameterValue,
    ICalendarProperty, ICalendarRelated, ICalendarStatus, ICalendarTransparency, ICalendarValue,
};
use calcard::vcard::{VCard, VCardEntry};
use proto_dav::dav::xml::Element;
use proto_dav::dav::{CALDAV, CARDDAV};

use crate::mail::date::{civil_from_days, days_from_civil};
use crate::store::dav::ItemIndex;

/// Most occurrences expanded when testing a recurring event against a time range.
const MAX_OCCURRENCES: usize = 10_000;

/// A time range in Unix seconds; an absent bound is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: i64,
    pub end: i64,
}

impl Range {
    /// The range of a `time-range` element; `None` when a bound is malformed.
    pub fn of(element: &Element) -> Option<Range> {
        let bound = |name, open| match element.attribute(name) {
            Some(text) => utc(text),
            None => Some(open),
        };
        Some(Range {
            start: bound("start", i64::MIN)?,
            end: bound("end", i64::MAX)?,
        })
    }

    /// Whether a span from `start` to `end` overlaps (RFC 4791 §9.9): an instant must
    /// fall inside, a span must share some time.
    pub fn overlaps(self, start: i64, end: i64) -> bool {
        if end <= start {
            self.start <= start && start < self.end
        } else {
            start < self.end && end > self.start
        }
    }
}

/// `YYYYMMDDTHHMMSSZ`, the only form a time-range carries, in Unix seconds.
pub fn utc(text: &str) -> Option<i64> {
    let text = text.strip_suffix(['Z', 'z'])?;
    let (date, time) = text.split_once(['T', 't'])?;
    if date.len() != 8
        || time.len() != 6
        || !date.bytes().chain(time.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let number = |s: &str, from: usize, to: usize| s.get(from..to)?.parse::<i64>().ok();
    let days = days_from_civil(
        number(date, 0, 4)?,
        number(date, 4, 6)?,
        number(date, 6, 8)?,
    );
    let seconds = number(time, 0, 2)? * 3600 + number(time, 2, 4)? * 60 + number(time, 4, 6)?;
    Some(days * 86_400 + seconds)
}

/// `unix` as an iCalendar UTC date-time, `YYYYMMDDTHHMMSSZ`.
pub fn format_utc(unix: i64) -> String {
    let (year, month, day) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A stretch of busy time for free-busy-query (RFC 4791 §7.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub start: i64,
    pub end: i64,
    /// The event is only tentative (`FBTYPE=BUSY-TENTATIVE`).
    pub tentative: bool,
}

/// The busy time the events of the iCalendar object `data` take within `range`, clipped to
/// it: transparent and cancelled events take none (RFC 4791 §7.10).
pub fn busy_within(data: &[u8], range: Range) -> Vec<Busy> {
    let Some(calendar) = std::str::from_utf8(data)
        .ok()
        .and_then(|text| ICalendar::parse(text).ok())
    else {
        return Vec::new();
    };
    let expanded = occurrences(&calendar, MAX_OCCURRENCES);
    let mut busy = Vec::new();
    for event in &expanded.events {
        let Some(component) = calendar.components.get(event.comp_id as usize) else {
            continue;
        };
        let status = component.status();
        if component.component_type != ICalendarComponentType::VEvent
            || component.transparency() == Some(&ICalendarTransparency::Transparent)
            || status == Some(&ICalendarStatus::Cancelled)
        {
            continue;
        }
        let (start, end) = event.timestamps();
        if end > start && range.overlaps(start, end) {
            busy.push(Busy {
                start: start.max(range.start),
                end: end.min(range.end),
                tentative: status == Some(&ICalendarStatus::Tentative),
            });
        }
    }
    busy
}

/// What the calendar data of recurring events is limited to (RFC 4791 §9.6.5, §9.6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Each occurrence within the range, in UTC ([`expanded`]).
    Expand(Range),
    /// The event with only the overridden occurrences that touch the range.
    RecurrenceSet(Range),
}

/// The iCalendar object `data` as `limit` asks; `None` when it is not iCalendar.
pub fn limited(data: &[u8], limit: Limit) -> Option<String> {
    match limit {
        Limit::Expand(range) => expanded(data, range),
        Limit::RecurrenceSet(range) => recurrence_set(data, range),
    }
}

/// The iCalendar object `data` without the overrides (components with RECURRENCE-ID)
/// that neither replace an occurrence within `range` nor take place within it.
fn recurrence_set(data: &[u8], range: Range) -> Option<String> {
    let mut calendar = ICalendar::parse(std::str::from_utf8(data).ok()?).ok()?;
    let expansion = occurrences(&calendar, MAX_OCCURRENCES);
    let outside: Vec<u32> = (0..calendar.components.len() as u32)
        .filter(|&id| {
            let Some(component) = calendar.components.get(id as usize) else {
                return false;
            };
            if !component.is_recurrence_override() {
                return false;
            }
            let replaces = recurrence_id(&calendar, id).is_some_and(|rid| range.overlaps(rid, rid));
            let occurs = expansion.events.iter().any(|event| {
                let (start, end) = event.timestamps();
                event.comp_id == id && range.overlaps(start, end)
            });
            !replaces && !occurs
        })
        .collect();
    calendar.remove_component_ids(&outside);
    Some(calendar.to_string())
}

/// The occurrences of `calendar`'s components in UTC, at most `limit` of them.
///
/// calcard pairs an override with the occurrence it replaces by RECURRENCE-ID and SEQUENCE
/// both; RFC 5545 §3.8.4.4 pairs them by RECURRENCE-ID alone. A client that raises the
/// series' SEQUENCE when it changes it (python-caldav does) leaves its overrides with a
/// lower one, and the overridden occurrence would come twice, as it was and as changed.
/// The occurrences are found with SEQUENCE left out.
pub(crate) fn occurrences(calendar: &ICalendar, limit: usize) -> CalendarExpand {
    let overrides = calendar
        .components
        .iter()
        .any(|c| c.property(&ICalendarProperty::RecurrenceId).is_some());
    if !overrides {
        return calendar.expand_dates(Tz::UTC, limit);
    }
    let mut unsequenced = calendar.clone();
    for component in &mut unsequenced.components {
        component
            .entries
            .retain(|entry| entry.name != ICalendarProperty::Sequence);
    }
    unsequenced.expand_dates(Tz::UTC, limit)
}

/// The iCalendar object `data` with its recurring events expanded (RFC 4791 §9.6.5): one
/// component per occurrence within `range`, with its RECURRENCE-ID, DTSTART and DTEND (or
/// DUE) in UTC and no recurrence rule; components that do not recur stay as they are if
/// they occur within the range. An all-day event's occurrences stay dates: a date refers
/// to no time zone, and the RFC converts only what does. An occurrence has an end only
/// where its component had one (a DTEND, DUE or DURATION): a to-do without a due date
/// gets none. `None` when `data` is not iCalendar.
pub fn expanded(data: &[u8], range: Range) -> Option<String> {
    let calendar = ICalendar::parse(std::str::from_utf8(data).ok()?).ok()?;
    let root = calendar.components.first()?;
    let expansion = occurrences(&calendar, MAX_OCCURRENCES);
    let mut out = ICalendar {
        components: vec![ICalendarComponent {
            component_ids: Vec::new(),
            ..root.clone()
        }],
    };
    for event in &expansion.events {
        let (start, end) = event.timestamps();
        let Some(source) = calendar.components.get(event.comp_id as usize) else {
            continue;
        };
        if !range.overlaps(start, end) {
            continue;
        }
        let mut instance = ICalendarComponent {
            component_ids: Vec::new(),
            ..source.clone()
        };
        let recurs = source.is_recurrent_or_override();
        let ends = [
            ICalendarProperty::Dtend,
            ICalendarProperty::Due,
            ICalendarProperty::Duration,
        ]
        .iter()
        .any(|name| source.property(name).is_some());
        instance.entries.retain(|entry| {
            !matches!(
                entry.name,
                ICalendarProperty::Rrule
                    | ICalendarProperty::Rdate
                    | ICalendarProperty::Exdate
                    | ICalendarProperty::Dtstart
                    | ICalendarProperty::Dtend
                    | ICalendarProperty::Due
                    | ICalendarProperty::Duration
                    | ICalendarProperty::RecurrenceId
            )
        });
        // VALUE=DATE, when DTSTART has it, makes each of these a date.
        let date_params: Vec<_> = source
            .property(&ICalendarProperty::Dtstart)
            .filter(|start| {
                start
                    .values
                    .first()
                    .and_then(ICalendarValue::as_partial_date_time)
                    .is_some_and(|value| !value.has_time())
            })
            .map(|start| {
                start
                    .params
                    .iter()
                    .filter(|p| matches!(p.value, ICalendarParameterValue::Value(_)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let at = |name, unix| ICalendarEntry {
            name,
            params: date_params.clone(),
            values: vec![ICalendarValue::PartialDateTime(Box::new(
                PartialDateTime::from_utc_timestamp(unix),
            ))],
        };
        if recurs {
            let original = source
                .property(&ICalendarProperty::RecurrenceId)
                .and_then(|_| recurrence_id(&calendar, event.comp_id))
                .unwrap_or(start);
            instance
                .entries
                .push(at(ICalendarProperty::RecurrenceId, original));
        }
        instance.entries.push(at(ICalendarProperty::Dtstart, start));
        let end_name = if source.component_type == ICalendarComponentType::VTodo {
            ICalendarProperty::Due
        } else {
            ICalendarProperty::Dtend
        };
        if ends {
            instance.entries.push(at(end_name, end));
        }
        // Sub-components (alarms) come along, each once per occurrence.
        for child in &source.component_ids {
            if let Some(alarm) = calendar.components.get(*child as usize) {
                instance.component_ids.push(out.components.len() as u32 + 1);
                out.components.push(alarm.clone());
            }
        }
        let id = out.components.len() as u32;
        if let Some(root) = out.components.first_mut() {
            root.component_ids.push(id);
        }
        out.components.push(instance);
    }
    Some(out.to_string())
}

/// The original occurrence an override replaces, in UTC: its RECURRENCE-ID.
fn recurrence_id(calendar: &ICalendar, component: u32) -> Option<i64> {
    let source = calendar.components.get(component as usize)?;
    let value = source
        .property(&ICalendarProperty::RecurrenceId)?
        .values
        .first()?
        .as_partial_date_time()?;
    value
        .to_date_time()?
        .to_date_time_with_tz(Tz::UTC)
        .map(|t| t.timestamp())
}

/// Whether an item with `index` can match a calendar-query `filter`: its component is the
/// one asked for, and its span meets the time range. `false` rules it out; `true` means
/// [`calendar_matches`] decides.
pub fn may_match(filter: &Element, index: &ItemIndex) -> bool {
    let Some(calendar) = filter.child(CALDAV, "comp-filter") else {
        return true;
    };
    let Some(component) = calendar.child(CALDAV, "comp-filter") else {
        return true;
    };
    if component.child(CALDAV, "is-not-defined").is_some() {
        return true;
    }
    let name = component.attribute("name").unwrap_or_default();
    if !name.eq_ignore_ascii_case(&index.component) {
        return false;
    }
    match (
        component.child(CALDAV, "time-range").and_then(Range::of),
        index.start,
    ) {
        (Some(range), Some(start)) => {
            let end = index.end.unwrap_or(i64::MAX);
            range.start < end.max(start.saturating_add(1)) && start < range.end
        }
        _ => true,
    }
}

/// Whether the iCalendar object `data` matches a calendar-query `filter`.
pub fn calendar_matches(filter: &Element, data: &[u8]) -> bool {
    let Some(text) = std::str::from_utf8(data).ok() else {
        return false;
    };
    let Ok(calendar) = ICalendar::parse(text) else {
        return false;
    };
    let Some(top) = filter.child(CALDAV, "comp-filter") else {
        return true;
    };
    let roots: Vec<u32> = calendar
        .components
        .first()
        .map(|_| vec![0])
        .unwrap_or_default();
    comp_filter(&calendar, None, &roots, top)
}

/// Whether one of the components `ids` (siblings, children of `parent`) matches `filter` —
/// or, with `is-not-defined`, none is of its name.
fn comp_filter(calendar: &ICalendar, parent: Option<u32>, ids: &[u32], filter: &Element) -> bool {
    let name = filter.attribute("name").unwrap_or_default();
    let mut named = ids.iter().filter_map(|&id| {
        let component = calendar.components.get(id as usize)?;
        component
            .component_type
            .as_str()
            .eq_ignore_ascii_case(name)
            .then_some((id, component))
    });
    if filter.child(CALDAV, "is-not-defined").is_some() {
        return named.next().is_none();
    }
    named.any(|(id, component)| component_matches(calendar, parent, id, component, filter))
}

fn component_matches(
    calendar: &ICalendar,
    parent: Option<u32>,
    id: u32,
    component: &ICalendarComponent,
    filter: &Element,
) -> bool {
    if let Some(range) = filter.child(CALDAV, "time-range").and_then(Range::of) {
        let within = match component.component_type {
            ICalendarComponentType::VAlarm => goes_off_within(calendar, parent, component, range),
            _ => occurs_within(calendar, id, component, range),
        };
        if !within {
            return false;
        }
    }
    filter
        .children_named(CALDAV, "prop-filter")
        .all(|prop| prop_filter(&named(&component.entries, prop), prop, CALDAV))
        && filter
            .children_named(CALDAV, "comp-filter")
            .all(|child| comp_filter(calendar, Some(id), &component.component_ids, child))
}

/// Whether `alarm` goes off within `range` (RFC 4791 §9.9): at its TRIGGER, a date-time or
/// a time before or after the start (the end, with RELATED=END) of each occurrence of
/// `parent`, the component it belongs to; and again REPEAT times, DURATION apart.
fn goes_off_within(
    calendar: &ICalendar,
    parent: Option<u32>,
    alarm: &ICalendarComponent,
    range: Range,
) -> bool {
    let first = |name| alarm.property(name).and_then(|entry| entry.values.first());
    let repeat = first(&ICalendarProperty::Repeat)
        .and_then(ICalendarValue::as_integer)
        .unwrap_or(0)
        .max(0);
    let every = match first(&ICalendarProperty::Duration) {
        Some(ICalendarValue::Duration(every)) => every.as_seconds(),
        _ => 0,
    };
    // Whether `at + k × every` falls in the range for some k from 0 to `repeat`.
    let rings = |at: i64| {
        if every <= 0 || repeat == 0 || at >= range.start {
            return range.overlaps(at, at);
        }
        let gap = range.start.saturating_sub(at);
        let k = gap / every + i64::from(gap % every != 0);
        let again = at.saturating_add(k.saturating_mul(every));
        k <= repeat && range.overlaps(again, again)
    };
    let Some(trigger) = alarm.property(&ICalendarProperty::Trigger) else {
        return false;
    };
    match trigger.values.first() {
        Some(ICalendarValue::PartialDateTime(at)) => at
            .to_date_time()
            .and_then(|at| at.to_date_time_with_tz(Tz::UTC))
            .is_some_and(|at| rings(at.timestamp())),
        Some(ICalendarValue::Duration(offset)) => {
            let Some(parent) = parent else {
                return false;
            };
            let from_end = trigger.params.iter().any(|param| {
                matches!(
                    param.value,
                    ICalendarParameterValue::Related(ICalendarRelated::End)
                )
            });
            // An overridden occurrence is its override's, with the override's own alarms.
            occurrences(calendar, MAX_OCCURRENCES)
                .events
                .iter()
                .filter(|event| event.comp_id == parent)
                .any(|event| {
                    let (start, end) = event.timestamps();
                    let base = if from_end { end } else { start };
                    rings(base.saturating_add(offset.as_seconds()))
                })
        }
        _ => false,
    }
}

/// Whether some occurrence of component `id` (or of the overrides of its recurrences)
/// falls in `range`. Components without dates (a to-do with neither start nor due)
/// match any range.
fn occurs_within(
    calendar: &ICalendar,
    id: u32,
    component: &ICalendarComponent,
    range: Range,
) -> bool {
    if !component.component_type.has_time_ranges() {
        return true;
    }
    let uid = component.uid();
    let expanded = occurrences(calendar, MAX_OCCURRENCES);
    let mut any = false;
    for event in &expanded.events {
        let same = event.comp_id == id
            || calendar
                .components
                .get(event.comp_id as usize)
                .is_some_and(|other| {
                    other.uid() == uid && other.component_type == component.component_type
                });
        if !same {
            continue;
        }
        any = true;
        let (start, end) = event.timestamps();
        if range.overlaps(start, end) {
            return true;
        }
    }
    !any
}

/// A property as filters see it: its value as text, its parameters' names and values, and
/// the time it names (an iCalendar date-time, in Unix seconds).
struct Prop {
    value: String,
    params: Vec<(String, String)>,
    time: Option<i64>,
}

/// An iCalendar or vCard property, seen as a [`Prop`].
trait Entry {
    fn name(&self) -> &str;
    fn prop(&self) -> Prop;
}

/// iCalendar's and vCard's entries have the same shape in calcard, under different types.
macro_rules! entry {
    ($type:ty, $time:expr) => {
        impl Entry for $type {
            fn name(&self) -> &str {
                self.name.as_str()
            }

            fn prop(&self) -> Prop {
                let params = self.params.iter().filter_map(|p| {
                    Some((p.name.as_str().to_owned(), p.value.as_text()?.to_owned()))
                });
                Prop {
                    value: joined(self.values.iter().filter_map(|v| v.as_text())),
                    params: params.collect(),
                    time: $time(self),
                }
            }
        }
    };
}

entry!(ICalendarEntry, |entry: &ICalendarEntry| {
    let value = entry.values.first()?.as_partial_date_time()?;
    let time = value.to_date_time()?.to_date_time_with_tz(Tz::UTC)?;
    Some(time.timestamp())
});
entry!(VCardEntry, |_: &VCardEntry| None);

/// The properties among `entries` that a prop-filter names.
fn named<E: Entry>(entries: &[E], filter: &Element) -> Vec<Prop> {
    let name = filter.attribute("name").unwrap_or_default();
    entries
        .iter()
        .filter(|entry| entry.name().eq_ignore_ascii_case(name))
        .map(Entry::prop)
        .collect()
}

/// Whether the vCard `data` matches an addressbook-query `filter`.
pub fn card_matches(filter: &Element, data: &[u8]) -> bool {
    let Some(text) = std::str::from_utf8(data).ok() else {
        return false;
    };
    let Ok(card) = VCard::parse(text) else {
        return false;
    };
    let mut filters = filter.children_named(CARDDAV, "prop-filter").peekable();
    if filters.peek().is_none() {
        return true;
    }
    if filter.attribute("test") == Some("allof") {
        filters.all(|prop| prop_filter(&named(&card.entries, prop), prop, CARDDAV))
    } else {
        filters.any(|prop| prop_filter(&named(&card.entries, prop), prop, CARDDAV))
    }
}

/// The text values of one property, as one string to match against.
fn joined<'a>(texts: impl Iterator<Item = &'a str>) -> String {
    texts.collect::<Vec<_>>().join(",")
}

/// A prop-filter (in namespace `ns`) on every property of its name: `is-not-defined`
/// wants none; otherwise some property must pass its text matches (any of them, or all as
/// the filter's `test` says; CalDAV has one) and every param-filter.
fn prop_filter(props: &[Prop], filter: &Element, ns: &str) -> bool {
    if filter.child(ns, "is-not-defined").is_some() {
        return props.is_empty();
    }
    let all = filter.attribute("test") == Some("allof");
    props.iter().any(|prop| {
        let mut matchers = filter.children_named(ns, "text-match").peekable();
        let text = matchers.peek().is_none()
            || if all {
                matchers.all(|m| text_match(m, &prop.value))
            } else {
                matchers.any(|m| text_match(m, &prop.value))
            };
        // A time range in a prop-filter (RFC 4791 §9.7.2) wants a date-time within it.
        let time = match filter.child(ns, "time-range").map(Range::of) {
            None => true,
            Some(range) => range.zip(prop.time).is_some_and(|(r, t)| r.overlaps(t, t)),
        };
        text && time
            && filter
                .children_named(ns, "param-filter")
                .all(|param| param_filter(prop, param, ns))
    })
}

/// A param-filter (RFC 4791 §9.7.3, RFC 6352 §10.5.2): the parameter is absent
/// (`is-not-defined`), or present with a value that passes its text match.
fn param_filter(prop: &Prop, filter: &Element, ns: &str) -> bool {
    let name = filter.attribute("name").unwrap_or_default();
    let mut values = prop
        .params
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
        .peekable();
    if filter.child(ns, "is-not-defined").is_some() {
        return values.peek().is_none();
    }
    match filter.child(ns, "text-match") {
        Some(matcher) => values.any(|value| text_match(matcher, value)),
        None => values.peek().is_some(),
    }
}

/// A text-match (RFC 4791 §9.7.5, RFC 6352 §10.5.4): case-insensitive unless the
/// collation is `i;octet`, `contains` unless a match-type says otherwise, inverted by
/// `negate-condition="yes"`.
fn text_match(matcher: &Element, value: &str) -> bool {
    let wanted = matcher.text.as_str();
    let exact = matcher.attribute("collation") == Some("i;octet");
    let (value, wanted) = if exact {
        (value.to_owned(), wanted.to_owned())
    } else {
        (value.to_lowercase(), wanted.to_lowercase())
    };
    let found = match matcher.attribute("match-type") {
        Some("equals") => value == wanted,
        Some("starts-with") => value.starts_with(&wanted),
        Some("ends-with") => value.ends_with(&wanted),
        _ => value.contains(&wanted),
    };
    found != (matcher.attribute("negate-condition") == Some("yes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_dav::dav::xml;

    const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:w\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn query(inner: &str) -> Element {
        let body = format!(
            r#"<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">{inner}</C:comp-filter></C:comp-filter></C:filter>"#
        );
        xml::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn time_ranges_see_each_occurrence() {
        // The second occurrence, 12 January.
        let hit = query(r#"<C:time-range start="20260112T103000Z" end="20260112T120000Z"/>"#);
        assert!(calendar_matches(&hit, WEEKLY.as_bytes()));
        // Between occurrences: inside the span, but no occurrence.
        let gap = query(r#"<C:time-range start="20260107T000000Z" end="20260108T000000Z"/>"#);
        assert!(!calendar_matches(&gap, WEEKLY.as_bytes()));
        // After the last.
        let after = query(r#"<C:time-range start="20260201T000000Z"/>"#);
        assert!(!calendar_matches(&after, WEEKLY.as_bytes()));
    }

    #[test]
    fn text_and_definition() {
        let found = query(
            r#"<C:prop-filter name="SUMMARY"><C:text-match>STAND</C:text-match></C:prop-filter>"#,
        );
        assert!(calendar_matches(&found, WEEKLY.as_bytes()));
        let negated = query(
            r#"<C:prop-filter name="SUMMARY"><C:text-match negate-condition="yes">stand</C:text-match></C:prop-filter>"#,
        );
        assert!(!calendar_matches(&negated, WEEKLY.as_bytes()));
        let undefined =
            query(r#"<C:prop-filter name="LOCATION"><C:is-not-defined/></C:prop-filter>"#);
        assert!(calendar_matches(&undefined, WEEKLY.as_bytes()));
        let todo = xml::parse(br#"<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav"><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter>"#).unwrap();
        assert!(!calendar_matches(&todo, WEEKLY.as_bytes()));
    }

    #[test]
    fn parameters_and_times_of_properties() {
        let invited = WEEKLY.replace(
            "SUMMARY",
            "ATTENDEE;PARTSTAT=NEEDS-ACTION;CN=Bob:mailto:bob@example.test\r\nDTSTAMP:20260101T120000Z\r\nSUMMARY",
        );
        let pending = query(
            r#"<C:prop-filter name="ATTENDEE"><C:text-match>bob@</C:text-match><C:param-filter name="PARTSTAT"><C:text-match>NEEDS-ACTION</C:text-match></C:param-filter></C:prop-filter>"#,
        );
        assert!(calendar_matches(&pending, invited.as_bytes()));
        assert!(!calendar_matches(&pending, WEEKLY.as_bytes()));
        let accepted = query(
            r#"<C:prop-filter name="ATTENDEE"><C:param-filter name="PARTSTAT"><C:text-match>ACCEPTED</C:text-match></C:param-filter></C:prop-filter>"#,
        );
        assert!(!calendar_matches(&accepted, invited.as_bytes()));
        let no_role = query(
            r#"<C:prop-filter name="ATTENDEE"><C:param-filter name="ROLE"><C:is-not-defined/></C:param-filter></C:prop-filter>"#,
        );
        assert!(calendar_matches(&no_role, invited.as_bytes()));
        let stamped = |start: &str| {
            query(&format!(
                r#"<C:prop-filter name="DTSTAMP"><C:time-range start="{start}" end="20260102T000000Z"/></C:prop-filter>"#
            ))
        };
        assert!(calendar_matches(
            &stamped("20260101T000000Z"),
            invited.as_bytes()
        ));
        assert!(!calendar_matches(
            &stamped("20260101T130000Z"),
            invited.as_bytes()
        ));
    }

    #[test]
    fn the_index_rules_out_cheaply() {
        let index = ItemIndex {
            uid: "w".into(),
            component: "VEVENT".into(),
            start: Some(utc("20260105T100000Z").unwrap()),
            end: Some(utc("20260126T110000Z").unwrap()),
        };
        assert!(may_match(
            &query(r#"<C:time-range start="20260112T000000Z" end="20260113T000000Z"/>"#),
            &index
        ));
        assert!(!may_match(
            &query(r#"<C:time-range start="20260201T000000Z" end="20260301T000000Z"/>"#),
            &index
        ));
        let todo = ItemIndex {
            component: "VTODO".into(),
            ..index
        };
        assert!(!may_match(&query(""), &todo));
    }

    #[test]
    fn busy_time_is_clipped_and_skips_transparent_events() {
        let range = Range {
            start: utc("20260112T103000Z").unwrap(),
            end: utc("20260126T000000Z").unwrap(),
        };
        let busy = busy_within(WEEKLY.as_bytes(), range);
        assert_eq!(busy.len(), 2);
        assert_eq!(format_utc(busy[0].start), "20260112T103000Z");
        assert_eq!(format_utc(busy[0].end), "20260112T110000Z");
        assert!(!busy[0].tentative);
        let free = WEEKLY.replace("SUMMARY", "TRANSP:TRANSPARENT\r\nSUMMARY");
        assert!(busy_within(free.as_bytes(), range).is_empty());
    }

    #[test]
    fn expansion_lists_the_occurrences_in_range() {
        let range = Range {
            start: utc("20260110T000000Z").unwrap(),
            end: utc("20260120T000000Z").unwrap(),
        };
        let text = expanded(WEEKLY.as_bytes(), range).unwrap();
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 2, "{text}");
        assert!(!text.contains("RRULE"), "{text}");
        for day in ["20260112", "20260119"] {
            assert!(
                text.contains(&format!("RECURRENCE-ID:{day}T100000Z")),
                "{text}"
            );
            assert!(text.contains(&format!("DTSTART:{day}T100000Z")), "{text}");
            assert!(text.contains(&format!("DTEND:{day}T110000Z")), "{text}");
        }
        // What it expands is still iCalendar, and one object.
        let again = ICalendar::parse(&text).unwrap();
        assert!(again.uids().all(|uid| uid == "w"));
        // An event that does not recur is kept when it falls in the range.
        let once = WEEKLY.replace("RRULE:FREQ=WEEKLY;COUNT=4\r\n", "");
        let text = expanded(
            once.as_bytes(),
            Range {
                start: 0,
                end: i64::MAX,
            },
        )
        .unwrap();
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 1);
        assert!(!text.contains("RECURRENCE-ID"), "{text}");
    }

    #[test]
    fn a_limited_recurrence_set_keeps_the_overrides_in_range() {
        let moved = WEEKLY.replace(
            "END:VCALENDAR",
            "BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID:20260112T100000Z\r\nDTSTART:20260112T150000Z\r\nDTEND:20260112T160000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR",
        );
        let around = |start: &str, end: &str| {
            let range = Range {
                start: utc(start).unwrap(),
                end: utc(end).unwrap(),
            };
            limited(moved.as_bytes(), Limit::RecurrenceSet(range)).unwrap()
        };
        let within = around("20260112T000000Z", "20260113T000000Z");
        assert!(
            within.contains("SUMMARY:Moved") && within.contains("RRULE"),
            "{within}"
        );
        let later = around("20260119T000000Z", "20260120T000000Z");
        assert!(
            !later.contains("SUMMARY:Moved") && later.contains("RRULE"),
            "{later}"
        );
    }

    #[test]
    fn cards_match_text() {
        let card = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c\r\nFN:Ann Example\r\nEMAIL:ann@example.org\r\nEND:VCARD\r\n";
        let filter = |inner: &str| {
            xml::parse(
                format!(r#"<C:filter xmlns:C="urn:ietf:params:xml:ns:carddav" {inner}</C:filter>"#)
                    .as_bytes(),
            )
            .unwrap()
        };
        assert!(card_matches(&filter(r#">"#), card));
        assert!(card_matches(
            &filter(
                r#"><C:prop-filter name="FN"><C:text-match>ann</C:text-match></C:prop-filter>"#
            ),
            card
        ));
        assert!(card_matches(
            &filter(
                r#"test="anyof"><C:prop-filter name="FN"><C:text-match>zed</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match match-type="ends-with">example.org</C:text-match></C:prop-filter>"#
            ),
            card
        ));
        assert!(!card_matches(
            &filter(
                r#"test="allof"><C:prop-filter name="FN"><C:text-match>zed</C:text-match></C:prop-filter><C:prop-filter name="EMAIL"><C:text-match>example</C:text-match></C:prop-filter>"#
            ),
            card
        ));
        assert!(!card_matches(
            &filter(
                r#"><C:prop-filter name="FN"><C:text-match match-type="equals">ann</C:text-match></C:prop-filter>"#
            ),
            card
        ));
    }
}
