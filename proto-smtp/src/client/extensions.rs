//! The service extensions a server lists in its `EHLO` reply (RFC 5321
//! 4.1.1.1): one keyword per line after the greeting line, parameters after a
//! space.

use proto_core::sasl::Mechanism;

/// What the server said it supports, from its last `EHLO` reply. Empty after
/// `HELO` and after `STARTTLS`, until the `EHLO` that follows it (RFC 3207 4.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// `SIZE` (RFC 1870) with the largest message the server takes, or 0 when
    /// it declares no fixed limit (or a limit we cannot read).
    pub size: Option<u64>,
    /// `PIPELINING` (RFC 2920): `MAIL`, the `RCPT`s and `DATA` go out in one batch.
    pub pipelining: bool,
    /// `8BITMIME` (RFC 6152).
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `DSN` (RFC 3461).
    pub dsn: bool,
    /// `STARTTLS` (RFC 3207).
    pub starttls: bool,
    /// The `AUTH` mechanisms (RFC 4954) we can run, in the order listed.
    pub auth: Vec<Mechanism>,
    /// `CHUNKING` (RFC 3030).
    pub chunking: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    pub enhanced_status_codes: bool,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
}

impl Extensions {
    /// Reads the text of a positive `EHLO` reply: the first line is the
    /// server's greeting, each further line one keyword. Keywords are
    /// case-insensitive; unknown ones are ignored, as RFC 5321 asks.
    pub fn parse(ehlo_text: &str) -> Self {
        let mut extensions = Self::default();
        for line in ehlo_text.split('\n').skip(1) {
            extensions.keyword(line.trim());
        }
        extensions
    }

    fn keyword(&mut self, line: &str) {
        let (keyword, params) = line
            .split_once([' ', '='])
            .map_or((line, ""), |(k, p)| (k, p.trim()));
        match keyword.to_ascii_uppercase().as_str() {
            // `SIZE 0` and a bare `SIZE` both mean "no fixed limit" (RFC 1870 4).
            "SIZE" => self.size = Some(params.parse().unwrap_or(0)),
            "PIPELINING" => self.pipelining = true,
            "8BITMIME" => self.eight_bit_mime = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "DSN" => self.dsn = true,
            "STARTTLS" => self.starttls = true,
            "CHUNKING" => self.chunking = true,
            "ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            "REQUIRETLS" => self.requiretls = true,
            // `AUTH=PLAIN LOGIN` is how servers wrote it for clients of a draft
            // that predates RFC 2554; some still do, next to `AUTH`.
            "AUTH" => {
                for mechanism in params
                    .split_ascii_whitespace()
                    .filter_map(Mechanism::from_name)
                {
                    if !self.auth.contains(&mechanism) {
                        self.auth.push(mechanism);
                    }
                }
            }
            _ => {}
        }
    }

    /// The largest message the server takes, if it said so.
    pub fn size_limit(&self) -> Option<u64> {
        self.size.filter(|&limit| limit > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_keyword() {
        let ext = Extensions::parse(
            "mx.example.org greets you\nPIPELINING\nSIZE 26214400\n8BITMIME\nSMTPUTF8\n\
             ENHANCEDSTATUSCODES\nCHUNKING\nDSN\nSTARTTLS\nAUTH PLAIN LOGIN CRAM-MD5\nREQUIRETLS",
        );
        assert_eq!(
            ext,
            Extensions {
                size: Some(26_214_400),
                pipelining: true,
                eight_bit_mime: true,
                smtputf8: true,
                dsn: true,
                starttls: true,
                auth: vec![Mechanism::Plain, Mechanism::Login],
                chunking: true,
                enhanced_status_codes: true,
                requiretls: true,
            }
        );
        assert_eq!(ext.size_limit(), Some(26_214_400));
    }

    #[test]
    fn the_greeting_line_is_not_a_keyword() {
        assert_eq!(Extensions::parse("PIPELINING"), Extensions::default());
        assert_eq!(Extensions::parse(""), Extensions::default());
    }

    #[test]
    fn keywords_ignore_case_and_unknown_ones_are_skipped() {
        let ext = Extensions::parse("mx\npipelining\nX-EXPS GSSAPI\nvrfy\nStartTLS\nsize");
        assert!(ext.pipelining && ext.starttls);
        assert_eq!((ext.size, ext.size_limit()), (Some(0), None));
    }

    #[test]
    fn old_style_auth_lines_add_up_without_duplicates() {
        let ext = Extensions::parse("mx\nAUTH=LOGIN\nAUTH login plain\nAUTH GSSAPI");
        assert_eq!(ext.auth, [Mechanism::Login, Mechanism::Plain]);
        assert!(Extensions::parse("mx\nAUTH").auth.is_empty());
    }

    #[test]
    fn an_unreadable_size_means_no_limit() {
        assert_eq!(Extensions::parse("mx\nSIZE lots").size, Some(0));
        assert_eq!(Extensions::parse("mx\nSIZE 0").size_limit(), None);
        assert_eq!(
            Extensions::parse("mx\nSIZE 99999999999999999999999").size_limit(),
            None
        );
    }
}
