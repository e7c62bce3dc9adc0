//! TLSA records (RFC 6698 §2): which certificate or public key a TLS server presents.

use std::fmt;
use std::str::FromStr;

/// One TLSA record. The fields keep their numbers, so that records with values this server
/// does not know can still be told apart from none (RFC 7672 §2.2: TLSA records that exist
/// but are all unusable still make TLS mandatory).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tlsa {
    /// Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
    pub usage: u8,
    /// 0: the whole certificate; 1: its SubjectPublicKeyInfo.
    pub selector: u8,
    /// 0: the data itself; 1: its SHA-256; 2: its SHA-512.
    pub matching: u8,
    pub data: Vec<u8>,
}

impl fmt::Display for Tlsa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.usage, self.selector, self.matching)?;
        self.data
            .iter()
            .try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The presentation format of RFC 6698 §2.2: three numbers and the data in hexadecimal,
/// which may be split by spaces, as zone files write it: `3 1 1 0123...ef`.
impl FromStr for Tlsa {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        fields(text).map_err(|why| {
            format!("{text:?} is not a TLSA record: {why} (write it as \"3 1 1 <hex>\")")
        })
    }
}

fn fields(text: &str) -> Result<Tlsa, String> {
    let mut fields = text.split_whitespace();
    let mut number = |name: &str| {
        let field = fields
            .next()
            .ok_or_else(|| format!("the {name} is missing"))?;
        field
            .parse::<u8>()
            .map_err(|_| format!("the {name} {field:?} is not a number from 0 to 255"))
    };
    let (usage, selector, matching) = (
        number("usage")?,
        number("selector")?,
        number("matching type")?,
    );
    let hex: String = fields.collect();
    if hex.is_empty() {
        return Err("the certificate data is missing".into());
    }
    let data = decode_hex(&hex).ok_or("the certificate data is not hexadecimal")?;
    Ok(Tlsa {
        usage,
        selector,
        matching,
        data,
    })
}

/// Bytes from pairs of hexadecimal digits; `None` for anything else.
fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(pair, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_presentation_format_is_read() {
        let record: Tlsa = "3 1 1 0A0b 0c".parse().unwrap();
        assert_eq!(
            record,
            Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data: vec![0x0a, 0x0b, 0x0c],
            }
        );
        assert_eq!(record.to_string(), "3 1 1 0a0b0c");
    }

    #[test]
    fn mistakes_are_explained() {
        for (text, why) in [
            ("", "usage is missing"),
            ("3 1", "matching type is missing"),
            ("3 1 1", "data is missing"),
            ("300 1 1 00", "not a number"),
            ("3 1 1 0g", "not hexadecimal"),
            ("3 1 1 abc", "not hexadecimal"),
            ("3 1 1 é0", "not hexadecimal"),
        ] {
            let err = text.parse::<Tlsa>().unwrap_err();
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(
            usage: u8, selector: u8, matching: u8,
            data in proptest::collection::vec(any::<u8>(), 1..80),
        ) {
            let record = Tlsa { usage, selector, matching, data };
            prop_assert_eq!(record.to_string().parse::<Tlsa>(), Ok(record));
        }

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in "\\PC{0,40}") {
            let _ = text.parse::<Tlsa>();
        }
    }
}
