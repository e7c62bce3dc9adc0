//! Panics inside mail-parser, taken as production takes them.
//!
//! `Summary::derive` catches a panic of the MIME parser (mail from anyone is parsed at
//! delivery; a flaw upstream must not keep a message from being stored) and describes the
//! message as one opaque part. Under libFuzzer that catch never gets a chance: libfuzzer-sys
//! installs a panic hook that aborts the process before anything unwinds. So the targets
//! that derive summaries wrap that hook: a panic whose location is in mail-parser's source,
//! raised while [`derive`] runs, is let unwind into the engine's `catch_unwind` (noted once
//! on stderr), and the fuzzer goes on to check the fallback summary. Every other panic (ours,
//! or mail-parser's outside `derive`, where nothing catches it) still aborts and is a crash.
//!
//! Together with the `[profile.release.package.mail-parser]` override in `Cargo.toml`
//! (mail-parser built, as in a release build of the server, without its debug assertions,
//! one of which hostile `multipart/digest` messages trip), this keeps the known upstream
//! assertion from failing the runs while our own code keeps its debug assertions and
//! overflow checks. cargo-fuzz adds no `-Cpanic=abort`, so unwinding works.

use std::cell::Cell;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

use engine::mail::Summary;

thread_local! {
    static DERIVING: Cell<bool> = const { Cell::new(false) };
}

/// Wraps libFuzzer's aborting panic hook; call it from the target's `init`.
pub fn install() {
    let aborting = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if DERIVING.get() && in_mail_parser(info) {
            static NOTED: Once = Once::new();
            NOTED.call_once(|| {
                eprintln!("note: {info} (caught by Summary::derive; further ones silent)")
            });
            return;
        }
        aborting(info);
    }));
}

/// `Summary::derive`, with mail-parser's panics left to the engine to catch.
pub fn derive(message: &[u8]) -> Summary {
    caught_by_engine(|| Summary::derive(message))
}

/// `engine::mail::search_filter` (which parses the message again for its text), the same way.
#[allow(dead_code)] // Not every target that derives summaries makes filters.
pub fn search_filter(message: &[u8]) -> Vec<u8> {
    caught_by_engine(|| engine::mail::search_filter(message))
}

fn caught_by_engine<T>(parse: impl FnOnce() -> T) -> T {
    DERIVING.set(true);
    let parsed = parse();
    DERIVING.set(false);
    parsed
}

fn in_mail_parser(info: &PanicHookInfo<'_>) -> bool {
    info.location()
        .is_some_and(|at| at.file().replace('\\', "/").contains("/mail-parser-"))
}
