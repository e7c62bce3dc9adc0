//! Paths as they travel in request targets and `<d:href>`s: percent-encoded segments.
//!
//! Clients encode differently (`@` as is or as `%40`, spaces as `%20`), so a path is
//! decoded into its segments before anything compares it, and every href the server
//! writes is encoded one way.

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// What is encoded in a segment: everything but unreserved characters and the sub-delims
/// and `@`/`:` RFC 3986 allows in a segment, minus those clients trip over.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The decoded segments of a path (`/a/b%20c/` is `["a", "b c"]`), or `None` when a
/// segment is not UTF-8 once decoded, is `.` or `..`, or holds a `/` of its own.
///
/// An href in a request body may be a full URL (`http://host/path`): its path is used.
pub fn segments(path: &str) -> Option<Vec<String>> {
    let path = strip_origin(path);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut out = Vec::new();
    for raw in path.split('/').filter(|segment| !segment.is_empty()) {
        let segment = percent_decode_str(raw).decode_utf8().ok()?;
        if segment == "." || segment == ".." || segment.contains('/') {
            return None;
        }
        out.push(segment.into_owned());
    }
    Some(out)
}

/// `/` followed by the segments, each encoded; `collection` adds the trailing `/`.
pub fn path<S: AsRef<str>>(segments: &[S], collection: bool) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        out.extend(utf8_percent_encode(segment.as_ref(), SEGMENT));
    }
    if collection || out.is_empty() {
        out.push('/');
    }
    out
}

/// The path of an absolute URL (`https://host:8443/dav/x` is `/dav/x`); other input as is.
fn strip_origin(href: &str) -> &str {
    let Some((scheme, rest)) = href.split_once("://") else {
        return href;
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return href;
    }
    rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_and_encoded_one_way() {
        assert_eq!(
            segments("/dav/calendars/a%40example.org/my%20cal/").unwrap(),
            ["dav", "calendars", "a@example.org", "my cal"]
        );
        assert_eq!(segments("https://h:8443/dav/x?y").unwrap(), ["dav", "x"]);
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
        assert!(segments("/dav/../x").is_none());
        assert!(segments("/dav/a%2Fb").is_none());
        assert!(segments("/dav/%ff").is_none());
        assert_eq!(
            path(&["dav", "calendars", "a@example.org", "my cal"], true),
            "/dav/calendars/a@example.org/my%20cal/"
        );
        assert_eq!(path(&["x.ics"], false), "/x.ics");
        assert_eq!(path::<&str>(&[], false), "/");
    }

    proptest::proptest! {
        #[test]
        fn encoding_round_trips(parts in proptest::collection::vec("[^/]{1,12}", 0..4)) {
            let parts: Vec<String> = parts.into_iter().filter(|p| p != "." && p != "..").collect();
            let encoded = path(&parts, false);
            proptest::prop_assert_eq!(segments(&encoded).unwrap(), parts);
        }
    }
}
