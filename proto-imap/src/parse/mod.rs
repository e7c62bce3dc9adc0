//! Parsing of client input: whole commands ([`parse_command`]) and the lines
//! exchanged inside AUTHENTICATE and IDLE.

mod args;
mod command;
pub(crate) mod core;
mod fetch;
mod line;
mod search;
mod values;

pub use command::parse_command;
pub(crate) use command::{
    AppendPrefix, MessageLiteral, check_start, leading_tag, parse_append_next, parse_append_prefix,
};
pub use line::{AuthenticateLine, parse_authenticate_line, parse_idle_done};

/// The nom error of our parsers: only what was expected where parsing
/// failed, which becomes the text of the `BAD` response. The innermost
/// `context` wins because it names the most specific thing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expected(pub(crate) Option<&'static str>);

impl<I> nom::error::ParseError<I> for Expected {
    fn from_error_kind(_: I, _: nom::error::ErrorKind) -> Self {
        Self(None)
    }

    fn append(_: I, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        Self(other.0.or(self.0))
    }
}

impl<I> nom::error::ContextError<I> for Expected {
    fn add_context(_: I, ctx: &'static str, other: Self) -> Self {
        Self(other.0.or(Some(ctx)))
    }
}

impl<I, E> nom::error::FromExternalError<I, E> for Expected {
    fn from_external_error(_: I, _: nom::error::ErrorKind, _: E) -> Self {
        Self(None)
    }
}

/// Result of our parsers.
pub(crate) type IResult<'a, T> = nom::IResult<&'a [u8], T, Expected>;
