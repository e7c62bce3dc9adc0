//! Where a webhook posts: an `http://` or `https://` URL, read by the `url` crate.

/// A webhook's receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    /// A name, or an address (IPv6 in brackets, as the `Host` field writes it).
    pub host: String,
    pub port: u16,
    /// The path and query.
    pub path: String,
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(format!(
                    "{text:?}: a webhook is http:// or https://, not {other}"
                ));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{text:?}: a webhook URL carries no credentials; its secret signs"
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{text:?} names no host"))?
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("{text:?} names no port"))?;
        let mut path = url.path().to_string();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        Ok(Target {
            tls,
            host,
            port,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_scheme_host_port_and_path() {
        let t = Target::parse("https://hooks.example.net/in?x=1").unwrap();
        assert_eq!(
            t,
            Target {
                tls: true,
                host: "hooks.example.net".into(),
                port: 443,
                path: "/in?x=1".into()
            }
        );
        let t = Target::parse("http://127.0.0.1:8025").unwrap();
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 8025, "/")
        );
        let t = Target::parse("http://[::1]:9/hook").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("[::1]", 9));
        for bad in [
            "ftp://example.net/",
            "hooks.example.net/in",
            "https://user:pw@example.net/",
            "http://",
            "",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
