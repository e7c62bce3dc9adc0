//! Sieve's lexical level (RFC 5228 §2 and §8.1): identifiers, tags, numbers, quoted and
//! multi-line strings, the punctuation, with comments and white space skipped.

use crate::Error;

/// One token, with the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Identifier(String),
    /// `:name`, without the colon.
    Tag(String),
    Number(u64),
    String(String),
    LeftBracket,
    RightBracket,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    Comma,
    Semicolon,
}

/// Reads the tokens of a script.
pub(crate) struct Lexer<'a> {
    rest: &'a [u8],
    line: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Lexer {
            rest: source.as_bytes(),
            line: 1,
        }
    }

    /// The line the next token starts on (once white space is skipped).
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    /// The next token; `None` at the end of the script.
    pub(crate) fn next_token(&mut self) -> Result<Option<(Token, usize)>, Error> {
        self.skip_blank()?;
        let line = self.line;
        let Some(&first) = self.rest.first() else {
            return Ok(None);
        };
        let token = match first {
            b'[' => self.punct(Token::LeftBracket),
            b']' => self.punct(Token::RightBracket),
            b'(' => self.punct(Token::LeftParen),
            b')' => self.punct(Token::RightParen),
            b'{' => self.punct(Token::LeftBrace),
            b'}' => self.punct(Token::RightBrace),
            b',' => self.punct(Token::Comma),
            b';' => self.punct(Token::Semicolon),
            b'"' => Token::String(self.quoted()?),
            b':' => {
                self.advance(1);
                match self.word() {
                    Some(name) => Token::Tag(name),
                    None => return Err(self.error("a tag needs a name after ':'")),
                }
            }
            b'0'..=b'9' => Token::Number(self.number()?),
            _ => match self.word() {
                Some(word)
                    if word.eq_ignore_ascii_case("text") && self.rest.first() == Some(&b':') =>
                {
                    self.advance(1);
                    Token::String(self.multiline()?)
                }
                Some(word) => Token::Identifier(word),
                None => {
                    return Err(
                        self.error(&format!("unexpected character {:?}", char::from(first)))
                    );
                }
            },
        };
        Ok(Some((token, line)))
    }

    fn error(&self, message: &str) -> Error {
        Error::new(self.line, message)
    }

    fn advance(&mut self, n: usize) {
        let (taken, rest) = self.rest.split_at(n.min(self.rest.len()));
        self.line = self
            .line
            .saturating_add(taken.iter().filter(|&&b| b == b'\n').count());
        self.rest = rest;
    }

    fn punct(&mut self, token: Token) -> Token {
        self.advance(1);
        token
    }

    /// White space, `#` comments to the end of the line and `/* */` comments.
    fn skip_blank(&mut self) -> Result<(), Error> {
        loop {
            match self.rest {
                [b' ' | b'\t' | b'\r' | b'\n', ..] => self.advance(1),
                [b'#', ..] => {
                    let end = self
                        .rest
                        .iter()
                        .position(|&b| b == b'\n')
                        .unwrap_or(self.rest.len());
                    self.advance(end);
                }
                [b'/', b'*', ..] => {
                    let Some(end) = find(self.rest, b"*/") else {
                        return Err(self.error("a comment opened with /* is never closed"));
                    };
                    self.advance(end.saturating_add(2));
                }
                _ => return Ok(()),
            }
        }
    }

    /// An identifier: a letter or `_`, then letters, digits and `_`.
    fn word(&mut self) -> Option<String> {
        let first = *self.rest.first()?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let end = self
            .rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'_'))
            .unwrap_or(self.rest.len());
        let word = String::from_utf8_lossy(self.rest.get(..end)?).into_owned();
        self.advance(end);
        Some(word)
    }

    /// Digits, then an optional quantifier: `K`, `M` or `G` (powers of 1024).
    fn number(&mut self) -> Result<u64, Error> {
        let end = self
            .rest
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(self.rest.len());
        let digits = std::str::from_utf8(self.rest.get(..end).unwrap_or_default()).unwrap_or("");
        let value: u64 = digits
            .parse()
            .map_err(|_| self.error("a number too large"))?;
        self.advance(end);
        let shift = match self.rest.first().map(u8::to_ascii_uppercase) {
            Some(b'K') => 10,
            Some(b'M') => 20,
            Some(b'G') => 30,
            _ => return Ok(value),
        };
        self.advance(1);
        value
            .checked_mul(1 << shift)
            .ok_or_else(|| self.error("a number too large"))
    }

    /// `"..."`: `\"` and `\\` stand for themselves, any other `\x` for `x` (RFC 5228
    /// §2.4.2). Line breaks may occur inside.
    fn quoted(&mut self) -> Result<String, Error> {
        let start = self.line;
        self.advance(1);
        let mut bytes = Vec::new();
        loop {
            match self.rest {
                [] => return Err(Error::new(start, "a string is never closed")),
                [b'"', ..] => {
                    self.advance(1);
                    break;
                }
                [b'\\', escaped, ..] => {
                    bytes.push(*escaped);
                    self.advance(2);
                }
                [b, ..] => {
                    bytes.push(*b);
                    self.advance(1);
                }
            }
        }
        utf8(bytes, start)
    }

    /// `text:` (already read), blanks and an optional comment to the end of the line, then
    /// lines up to one holding a lone `.`; a line starting with `..` loses one dot.
    fn multiline(&mut self) -> Result<String, Error> {
        let start = self.line;
        while let [b' ' | b'\t', ..] = self.rest {
            self.advance(1);
        }
        let Some(eol) = self.rest.iter().position(|&b| b == b'\n') else {
            return Err(Error::new(start, "a text: string is never closed"));
        };
        let opening = self.rest.get(..eol).unwrap_or_default();
        let opening = opening.strip_suffix(b"\r").unwrap_or(opening);
        if !(opening.is_empty() || opening.starts_with(b"#")) {
            return Err(self.error("text: must end its line (a # comment may follow)"));
        }
        self.advance(eol.saturating_add(1));
        let mut bytes = Vec::new();
        loop {
            let Some(eol) = self.rest.iter().position(|&b| b == b'\n') else {
                return Err(Error::new(start, "a text: string is never closed"));
            };
            let line = self.rest.get(..eol).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line == b"." {
                self.advance(eol.saturating_add(1));
                break;
            }
            let line = line
                .strip_prefix(b".")
                .filter(|l| l.starts_with(b"."))
                .unwrap_or(line);
            bytes.extend_from_slice(line);
            bytes.extend_from_slice(b"\r\n");
            self.advance(eol.saturating_add(1));
        }
        utf8(bytes, start)
    }
}

fn utf8(bytes: Vec<u8>, line: usize) -> Result<String, Error> {
    String::from_utf8(bytes).map_err(|_| Error::new(line, "a string that is not UTF-8"))
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn tokens(source: &str) -> Result<Vec<Token>, Error> {
        let mut lexer = Lexer::new(source);
        let mut out = Vec::new();
        while let Some((token, _)) = lexer.next_token()? {
            out.push(token);
        }
        Ok(out)
    }

    #[test]
    fn reads_every_kind_of_token() {
        let got = tokens("if size :over 100K { fileinto \"a\\\"b\"; } # c\n/* d */ [\"x\", \"y\"]")
            .unwrap();
        assert_eq!(
            got,
            vec![
                Token::Identifier("if".into()),
                Token::Identifier("size".into()),
                Token::Tag("over".into()),
                Token::Number(100 * 1024),
                Token::LeftBrace,
                Token::Identifier("fileinto".into()),
                Token::String("a\"b".into()),
                Token::Semicolon,
                Token::RightBrace,
                Token::LeftBracket,
                Token::String("x".into()),
                Token::Comma,
                Token::String("y".into()),
                Token::RightBracket,
            ]
        );
    }

    #[test]
    fn multiline_strings_unstuff_dots() {
        let got = tokens("text: # note\r\nline one\r\n..dot\r\n.\r\n;").unwrap();
        assert_eq!(
            got,
            vec![
                Token::String("line one\r\n.dot\r\n".into()),
                Token::Semicolon
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let error = tokens("keep;\n\n\"open").unwrap_err();
        assert_eq!(error.line, 3);
        assert!(tokens("99999999999999999999").is_err());
        assert!(tokens("17179869184G").is_err());
        assert!(tokens("/* never closed").is_err());
        assert!(tokens("text:\nno end").is_err());
    }
}
