//! File descriptors: the server raises its soft `RLIMIT_NOFILE` to the hard limit at start
//! (distributions often leave the soft limit at 1024 while allowing far more), and serves
//! only as many connections as leave descriptors for everything else.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept for what is not a client connection: the database, listeners, the
/// control socket and its clients, logging, the runtime's own.
const RESERVED: u64 = 64;
/// Of the rest, one in this many stays free for the files a connection opens for a while
/// (a message being spooled or streamed): an idle connection holds one descriptor, and
/// only a fraction of them move a message at once.
const TRANSIENT_SHARE: u64 = 8;

/// Raises the soft limit as far as allowed and returns how many connections fit in it,
/// at most `configured`.
pub fn connection_limit(configured: usize) -> usize {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    let available = match (current, maximum) {
        (Some(soft), Some(hard)) if soft < hard => {
            match setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(hard),
                    maximum: Some(hard),
                },
            ) {
                Ok(()) => {
                    tracing::info!(from = soft, to = hard, "raised the file descriptor limit");
                    hard
                }
                Err(e) => {
                    tracing::warn!(limit = soft, error = %e, "cannot raise the file descriptor limit");
                    soft
                }
            }
        }
        (Some(soft), _) => soft,
        // Unlimited.
        (None, _) => u64::MAX,
    };
    let usable = available.saturating_sub(RESERVED);
    let fits = usable - usable / TRANSIENT_SHARE;
    let limit = usize::try_from(fits)
        .unwrap_or(usize::MAX)
        .clamp(1, configured);
    if limit < configured {
        tracing::info!(
            connections = limit,
            descriptors = available,
            "the file descriptor limit allows fewer connections than limits.max_connections"
        );
    }
    limit
}
