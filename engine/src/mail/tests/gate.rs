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

/// A thread that holds a permit (a large message read whole to be parsed) gets the parse's
/// at once, even while every other permit is taken: it counts as the same one.
#[test]
fn a_permit_within_a_permit_does_not_wait() {
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        println!("SKIPPED: one core has one permit, which this thread holds");
        return;
    }
    let outer = permit();
    let (taken_tx, taken_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let others_hold = AtomicBool::new(true);
    std::thread::scope(|s| {
        // Whatever permits are left are taken elsewhere, until told (or 10 s passed).
        let others_hold = &others_hold;
        s.spawn(move || {
            let _other = permit();
            taken_tx.send(()).unwrap();
            let _ = release_rx.recv_timeout(Duration::from_secs(10));
            others_hold.store(false, Ordering::SeqCst);
        });
        taken_rx.recv().unwrap();
        let inner = permit();
        assert!(
            others_hold.load(Ordering::SeqCst),
            "the inner permit waited for another thread's"
        );
        drop(inner);
        release_tx.send(()).unwrap();
    });
    drop(outer);
    // Both given back: two can be held again.
    let (a, b) = (permit(), std::thread::spawn(|| drop(permit())));
    b.join().unwrap();
    drop(a);
}
