//! Packs the binary's relative relocations (DT_RELR) where the C library that loads it
//! reads them.
//!
//! A position-independent executable carries a 24-byte relocation for every pointer in its
//! read-only data, which for Postern is over a megabyte. DT_RELR says the same in a few
//! kilobytes, and glibc's dynamic loader reads it from 2.36 on. The linker then makes the
//! binary require such a glibc (`GLIBC_ABI_DT_RELR`), so the packing is asked for only when
//! the binary is built for the machine that builds it and that machine's glibc is new
//! enough; cross builds and older systems link as before.

use std::env;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let native = env::var("TARGET").ok() == env::var("HOST").ok();
    let glibc = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if native && glibc && glibc_reads_relr() {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether this machine's glibc is 2.36 or later, as `getconf GNU_LIBC_VERSION` says
/// ("glibc 2.36").
fn glibc_reads_relr() -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let major = numbers.next().unwrap_or(0);
    let minor = numbers.next().unwrap_or(0);
    (major, minor) >= (2, 36)
}
