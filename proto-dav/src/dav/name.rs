//! Property names: a namespace and a local name, and the namespaces DAV clients speak.

use std::fmt;

/// WebDAV (RFC 4918).
pub const DAV: &str = "DAV:";
/// CalDAV (RFC 4791).
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
/// CardDAV (RFC 6352).
pub const CARDDAV: &str = "urn:ietf:params:xml:ns:carddav";
/// Calendar Server extensions (`getctag`), which many clients still ask for.
pub const CALENDARSERVER: &str = "http://calendarserver.org/ns/";
/// Apple's iCal properties (`calendar-color`, `calendar-order`).
pub const APPLE_ICAL: &str = "http://apple.com/ns/ical/";

/// The prefixes a response declares once at its root, for the namespaces above.
pub(crate) const PREFIXES: [(&str, &str); 5] = [
    ("d", DAV),
    ("cal", CALDAV),
    ("card", CARDDAV),
    ("cs", CALENDARSERVER),
    ("ical", APPLE_ICAL),
];

/// A property's name, as a client wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropName {
    /// The namespace URI; empty when the client bound none.
    pub ns: String,
    /// The local name.
    pub local: String,
}

impl PropName {
    /// `ns`'s property `local`.
    pub fn new(ns: &str, local: &str) -> Self {
        Self {
            ns: ns.to_owned(),
            local: local.to_owned(),
        }
    }

    /// Whether this is `ns`'s `local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// The prefix declared at a response's root for this namespace, if any.
    pub(crate) fn known_prefix(&self) -> Option<&'static str> {
        PREFIXES
            .iter()
            .find(|(_, ns)| *ns == self.ns)
            .map(|(prefix, _)| *prefix)
    }
}

impl fmt::Display for PropName {
    /// Clark notation, `{ns}local`: how the property is named in logs and stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{}}}{}", self.ns, self.local)
    }
}

impl std::str::FromStr for PropName {
    type Err = ();

    /// Reads Clark notation back.
    fn from_str(s: &str) -> Result<Self, ()> {
        let rest = s.strip_prefix('{').ok_or(())?;
        let (ns, local) = rest.split_once('}').ok_or(())?;
        if local.is_empty() {
            return Err(());
        }
        Ok(Self::new(ns, local))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clark_notation_round_trips() {
        let name = PropName::new(CALDAV, "calendar-data");
        assert_eq!(
            name.to_string(),
            "{urn:ietf:params:xml:ns:caldav}calendar-data"
        );
        assert_eq!(name.to_string().parse::<PropName>(), Ok(name));
        assert_eq!("{}x".parse::<PropName>(), Ok(PropName::new("", "x")));
        assert!("x".parse::<PropName>().is_err());
        assert!("{a}".parse::<PropName>().is_err());
    }
}
