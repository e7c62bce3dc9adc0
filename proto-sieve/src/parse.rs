//! Sieve's grammar (RFC 5228 §8.2) into a tree of commands and tests, before any of them
//! is given a meaning.

use crate::Error;
use crate::lexer::{Lexer, Token};

/// Deepest nesting of blocks and tests: far beyond what people write, and a bound on the
/// recursion a script can cause.
pub(crate) const MAX_DEPTH: usize = 32;

/// `name arguments (";" / block)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub(crate) name: String,
    pub(crate) arguments: Arguments,
    pub(crate) block: Option<Vec<Command>>,
    pub(crate) line: usize,
}

/// `name arguments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Test {
    pub(crate) name: String,
    pub(crate) arguments: Arguments,
    pub(crate) line: usize,
}

/// What follows a command's or a test's name: its arguments, then the test or the list of
/// tests it takes, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Arguments {
    pub(crate) values: Vec<Argument>,
    pub(crate) tests: Vec<Test>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Argument {
    Tag(String),
    Number(u64),
    /// A string or a string list.
    Strings(Vec<String>),
}

/// Parses a whole script.
pub(crate) fn parse(source: &str) -> Result<Vec<Command>, Error> {
    let mut parser = Parser {
        lexer: Lexer::new(source),
        peeked: None,
    };
    let commands = parser.commands(0)?;
    match parser.next()? {
        None => Ok(commands),
        Some((_, line)) => Err(Error::new(line, "a '}' without its '{'")),
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<(Token, usize)>,
}

impl Parser<'_> {
    fn next(&mut self) -> Result<Option<(Token, usize)>, Error> {
        match self.peeked.take() {
            Some(token) => Ok(Some(token)),
            None => self.lexer.next_token(),
        }
    }

    fn peek(&mut self) -> Result<Option<&Token>, Error> {
        if self.peeked.is_none() {
            self.peeked = self.lexer.next_token()?;
        }
        Ok(self.peeked.as_ref().map(|(token, _)| token))
    }

    fn line(&self) -> usize {
        self.peeked
            .as_ref()
            .map_or_else(|| self.lexer.line(), |(_, line)| *line)
    }

    /// Commands up to the end of the script or a `}` (left unread).
    fn commands(&mut self, depth: usize) -> Result<Vec<Command>, Error> {
        if depth > MAX_DEPTH {
            return Err(Error::new(self.line(), "blocks nested too deeply"));
        }
        let mut commands = Vec::new();
        while let Some(token) = self.peek()? {
            if *token == Token::RightBrace {
                break;
            }
            commands.push(self.command(depth)?);
        }
        Ok(commands)
    }

    fn command(&mut self, depth: usize) -> Result<Command, Error> {
        let (name, line) = self.identifier("a command")?;
        let arguments = self.arguments(depth)?;
        let block = match self.next()? {
            Some((Token::Semicolon, _)) => None,
            Some((Token::LeftBrace, _)) => {
                let block = self.commands(depth.saturating_add(1))?;
                match self.next()? {
                    Some((Token::RightBrace, _)) => Some(block),
                    _ => return Err(Error::new(line, "a '{' is never closed")),
                }
            }
            _ => {
                return Err(Error::new(
                    line,
                    &format!("{name}: expected ';' or a block after the arguments"),
                ));
            }
        };
        Ok(Command {
            name,
            arguments,
            block,
            line,
        })
    }

    fn identifier(&mut self, what: &str) -> Result<(String, usize), Error> {
        match self.next()? {
            Some((Token::Identifier(name), line)) => Ok((name.to_ascii_lowercase(), line)),
            Some((_, line)) => Err(Error::new(line, &format!("expected {what}"))),
            None => Err(Error::new(self.line(), &format!("expected {what}"))),
        }
    }

    /// Tags, numbers and string lists, then a test or a test list.
    fn arguments(&mut self, depth: usize) -> Result<Arguments, Error> {
        let mut arguments = Arguments::default();
        loop {
            let is_value = matches!(
                self.peek()?,
                Some(Token::Tag(_) | Token::Number(_) | Token::String(_) | Token::LeftBracket)
            );
            let value = match self.next()? {
                Some((Token::Tag(tag), _)) if is_value => Argument::Tag(tag.to_ascii_lowercase()),
                Some((Token::Number(n), _)) if is_value => Argument::Number(n),
                Some((Token::String(s), _)) if is_value => Argument::Strings(vec![s]),
                Some((Token::LeftBracket, _)) if is_value => Argument::Strings(self.string_list()?),
                other => {
                    self.peeked = other;
                    break;
                }
            };
            arguments.values.push(value);
        }
        match self.peek()? {
            Some(Token::Identifier(_)) => arguments.tests.push(self.test(depth)?),
            Some(Token::LeftParen) => {
                self.next()?;
                loop {
                    arguments.tests.push(self.test(depth)?);
                    match self.next()? {
                        Some((Token::Comma, _)) => {}
                        Some((Token::RightParen, _)) => break,
                        _ => {
                            return Err(Error::new(
                                self.line(),
                                "expected ',' or ')' in a test list",
                            ));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(arguments)
    }

    /// `[` (already read) strings separated by commas `]`.
    fn string_list(&mut self) -> Result<Vec<String>, Error> {
        let mut strings = Vec::new();
        loop {
            match self.next()? {
                Some((Token::String(s), _)) => strings.push(s),
                _ => {
                    return Err(Error::new(
                        self.line(),
                        "expected a string in a string list",
                    ));
                }
            }
            match self.next()? {
                Some((Token::Comma, _)) => {}
                Some((Token::RightBracket, _)) => return Ok(strings),
                _ => {
                    return Err(Error::new(
                        self.line(),
                        "expected ',' or ']' in a string list",
                    ));
                }
            }
        }
    }

    fn test(&mut self, depth: usize) -> Result<Test, Error> {
        if depth > MAX_DEPTH {
            return Err(Error::new(self.line(), "tests nested too deeply"));
        }
        let (name, line) = self.identifier("a test")?;
        let arguments = self.arguments(depth.saturating_add(1))?;
        Ok(Test {
            name,
            arguments,
            line,
        })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands_tests_and_blocks() {
        let commands = parse(
            "require [\"fileinto\"];\nif anyof (header :contains \"subject\" \"x\", size :over 1M) {\n  fileinto \"X\";\n} else { keep; }",
        )
        .unwrap();
        assert_eq!(commands.len(), 3);
        assert_eq!(commands[1].name, "if");
        assert_eq!(commands[1].line, 2);
        let test = &commands[1].arguments.tests[0];
        assert_eq!(test.name, "anyof");
        assert_eq!(test.arguments.tests.len(), 2);
        assert_eq!(
            test.arguments.tests[1].arguments.values,
            vec![Argument::Tag("over".into()), Argument::Number(1 << 20)]
        );
        assert_eq!(commands[2].name, "else");
        assert_eq!(commands[2].block.as_ref().unwrap()[0].name, "keep");
    }

    #[test]
    fn refuses_what_is_not_sieve() {
        for bad in [
            "keep",
            "keep; }",
            "if true { keep;",
            "fileinto [\"a\" \"b\"];",
            "\"string\";",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "if true {".repeat(MAX_DEPTH + 2) + &"}".repeat(MAX_DEPTH + 2);
        assert!(parse(&deep).is_err());
        let tests = "if ".to_string() + &"not ".repeat(MAX_DEPTH + 2) + "true { }";
        assert!(parse(&tests).is_err());
        let fine = "if true {".repeat(4) + &"}".repeat(4);
        assert!(parse(&fine).is_ok());
    }
}
