//! The gate lets at most two costly parses run at once, and lets the others through as
//! soon as one ends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::mail::gate::permit;

#[test]
fn at_most_two_costly_parses_run_at_once() {
    let running = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                let _permit = permit();
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    let most = most.into_inner();
    assert!((1..=2).contains(&most), "{most} at once");
}
