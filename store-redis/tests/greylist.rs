//! Greylisting's shared triplets against a real `redis-server`: two MX nodes agree.

mod common;

use common::Redis;
use engine::trust::greylist::{GreylistConfig, Greylisting, SharedGreylist, Triplet};

fn triplet(sender: &str) -> Triplet {
    Triplet {
        network: "192.0.2.0".parse().unwrap(),
        sender: sender.into(),
        recipient: "bob@example.test".into(),
    }
}

fn config() -> GreylistConfig {
    GreylistConfig {
        enabled: true,
        min_delay: 300,
        max_age: 35 * 24 * 3600,
    }
}

#[test]
fn a_retry_through_another_node_is_let_through() {
    let Some(redis) = Redis::start() else { return };
    let (one, two) = (redis.node("mx1").greylist(), redis.node("mx2").greylist());
    let ann = triplet("ann@example.org");
    assert_eq!(
        one.check(&ann, 1_000, &config()).unwrap(),
        Greylisting::Wait(300)
    );
    assert_eq!(
        two.check(&ann, 1_100, &config()).unwrap(),
        Greylisting::Wait(200)
    );
    assert_eq!(
        two.check(&ann, 1_300, &config()).unwrap(),
        Greylisting::Pass
    );
    assert_eq!(
        one.check(&ann, 1_301, &config()).unwrap(),
        Greylisting::Pass
    );
    // Another sender from the same network waits on its own.
    let eve = triplet("eve@example.org");
    assert_eq!(
        one.check(&eve, 1_301, &config()).unwrap(),
        Greylisting::Wait(300)
    );
}

#[test]
fn triplets_expire_on_their_own() {
    let Some(redis) = Redis::start() else { return };
    let node = redis.node("mx1").greylist();
    let short = GreylistConfig {
        max_age: 1,
        ..config()
    };
    let ann = triplet("ann@example.org");
    assert_eq!(
        node.check(&ann, 1_000, &short).unwrap(),
        Greylisting::Wait(300)
    );
    std::thread::sleep(std::time::Duration::from_millis(2_100));
    // Forgotten: seen for the first time again, much later by its own clock.
    assert_eq!(
        node.check(&ann, 9_000, &short).unwrap(),
        Greylisting::Wait(300)
    );
}

#[test]
fn no_delay_lets_the_first_message_through() {
    let Some(redis) = Redis::start() else { return };
    let node = redis.node("mx1").greylist();
    let none = GreylistConfig {
        min_delay: 0,
        ..config()
    };
    let ann = triplet("ann@example.org");
    assert_eq!(node.check(&ann, 1_000, &none).unwrap(), Greylisting::Pass);
}
