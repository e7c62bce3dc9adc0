//! The process's allocator: jemalloc, which gives memory freed after a burst back to the
//! system.
//!
//! A mail server's load comes in bursts — every phone logging in again after a restart, a
//! mailbox imported at once — and what a burst frees should not stay resident until the next
//! one. glibc's malloc keeps it: after 2,000 simultaneous logins (each argon2 verification a
//! 19 MiB block, which also raises glibc's mmap threshold so later blocks come from its
//! per-thread arenas) it held 155 MB until the process ended. jemalloc returned to 16 MB
//! within half a minute, at the same throughput (figures in the README).
//!
//! Its settings are compiled in (`JEMALLOC_SYS_WITH_MALLOC_CONF` in `.cargo/config.toml`):
//! a background thread returns freed pages about a second after they were freed, even when
//! the server has gone idle; two arenas instead of four per core, since each keeps memory of
//! its own and a small box has few cores to spread them over.

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
