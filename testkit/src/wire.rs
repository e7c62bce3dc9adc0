//! The in-memory side of a scripted conversation: a [`Connection`] whose reads are the
//! script's client lines and whose writes are checked against the script's server lines.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use engine::io::{Connection, Executor, ReadOutcome};

/// One event of a conversation, in script order.
#[derive(Debug)]
pub enum Event {
    /// The server must send a line matching this pattern (`*` = any text).
    Expect { pattern: String, line: usize },
    /// The client sends these bytes.
    Send(Vec<u8>),
    /// Time runs out before the client says anything.
    Timeout,
    /// The server is told to shut down.
    Shutdown,
}

/// Plays a script's client and checks its server.
pub struct ScriptConnection {
    events: VecDeque<Event>,
    output: Vec<u8>,
    pending_send: Vec<u8>,
    failure: Option<String>,
}

impl ScriptConnection {
    pub fn new(events: Vec<Event>) -> Self {
        ScriptConnection {
            events: events.into(),
            output: Vec::new(),
            pending_send: Vec::new(),
            failure: None,
        }
    }

    /// After the session ended: every expectation met and nothing unexpected sent.
    pub fn finish(mut self) -> Result<(), String> {
        self.check_expectations();
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        match self.events.front() {
            Some(Event::Expect { pattern, line }) => Err(format!(
                "line {line}: expected {pattern:?}, but the server closed the connection"
            )),
            Some(other) => Err(format!("the server closed the connection before {other:?}")),
            None if !self.output.is_empty() => Err(format!(
                "the server sent more than the script expects: {:?}",
                String::from_utf8_lossy(&self.output)
            )),
            None => Ok(()),
        }
    }

    /// Matches complete output lines against the expectations at the head of the script.
    fn check_expectations(&mut self) {
        while self.failure.is_none() {
            let Some(Event::Expect { pattern, line }) = self.events.front() else {
                return;
            };
            let Some(end) = self.output.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let sent = String::from_utf8_lossy(&self.output[..end]).into_owned();
            if !glob(pattern, &sent) {
                self.failure = Some(format!(
                    "line {line}: expected {pattern:?}, server sent {sent:?}"
                ));
                return;
            }
            self.output.drain(..end + 2);
            self.events.pop_front();
        }
    }
}

impl Connection for ScriptConnection {
    async fn read(
        &mut self,
        buf: &mut [u8],
        _deadline: Option<Instant>,
        watch_shutdown: bool,
    ) -> io::Result<ReadOutcome> {
        if self.pending_send.is_empty() {
            self.check_expectations();
            if self.failure.is_some() {
                return Ok(ReadOutcome::Closed);
            }
            match self.events.front() {
                Some(Event::Expect { pattern, line }) => {
                    self.failure = Some(format!(
                        "line {line}: expected {pattern:?}, but the server waits for input after {:?}",
                        String::from_utf8_lossy(&self.output)
                    ));
                    return Ok(ReadOutcome::Closed);
                }
                Some(Event::Timeout) => {
                    self.events.pop_front();
                    return Ok(ReadOutcome::TimedOut);
                }
                Some(Event::Shutdown) if watch_shutdown => {
                    self.events.pop_front();
                    return Ok(ReadOutcome::Shutdown);
                }
                Some(Event::Shutdown) => {
                    self.events.pop_front();
                }
                Some(Event::Send(_)) | None => {}
            }
            while let Some(Event::Send(bytes)) = self.events.front() {
                self.pending_send.extend_from_slice(bytes);
                self.events.pop_front();
            }
            if self.pending_send.is_empty() {
                return Ok(ReadOutcome::Closed);
            }
        }
        let n = buf.len().min(self.pending_send.len());
        if n == 0 {
            return Err(io::Error::other(
                "the session asked for input with no room for it",
            ));
        }
        buf[..n].copy_from_slice(&self.pending_send[..n]);
        self.pending_send.drain(..n);
        Ok(ReadOutcome::Data(n))
    }

    async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.output.extend_from_slice(data);
        Ok(())
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs blocking work in place and skips sleeps: scripts take no wall-clock time.
#[derive(Clone, Copy)]
pub struct InlineExecutor;

impl Executor for InlineExecutor {
    fn unblock<T, F>(&self, work: F) -> impl Future<Output = T> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        std::future::ready(work())
    }

    fn sleep(&self, _duration: Duration) -> impl Future<Output = ()> + Send + use<> {
        std::future::ready(())
    }
}

/// Matches `text` against `pattern`, where `*` stands for any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn glob_matches() {
        assert!(glob("250 *", "250 2.0.0 Ok"));
        assert!(glob("abc", "abc"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abdx"));
        assert!(glob("*ok", "ok"));
        assert!(!glob("ab*ba", "aba"));
    }
}
