//! A storm of logins: many clients logging in at once (every phone reconnecting after a
//! restart) cost a bounded number of password verifications, and one user's burst is
//! verified once.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use engine::Engine;
use engine::directory::{LoginClient, log_in};
use proto_core::sasl::Credentials;
use store_redb::RedbStore;
use testkit::InlineExecutor;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn engine_with(users: &[&str]) -> (tempfile::TempDir, Arc<Engine<RedbStore>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(RedbStore::open(dir.path()).expect("store"), "mx.test");
    engine.add_domain("example.test").expect("domain");
    for user in users {
        engine
            .add_user(user, "right password", None, false)
            .expect("user");
    }
    (dir, Arc::new(engine))
}

/// `clients` logins of `user` with `password` at once, each on a thread of its own.
fn storm(engine: &Arc<Engine<RedbStore>>, logins: &[(&str, &str)]) -> Vec<bool> {
    std::thread::scope(|scope| {
        let threads: Vec<_> = logins
            .iter()
            .map(|&(user, password)| {
                let engine = engine.clone();
                scope.spawn(move || {
                    let credentials = Credentials::new(user.into(), password.into());
                    let login = log_in(
                        &engine,
                        &InlineExecutor,
                        credentials,
                        LoginClient {
                            ip: PEER,
                            protocol: "imap",
                        },
                    );
                    futures_lite::future::block_on(login).is_ok()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().expect("login thread"))
            .collect()
    })
}

#[test]
fn one_users_burst_of_logins_is_verified_once() {
    let (_dir, engine) = engine_with(&["alice@example.test"]);
    let burst = vec![("alice@example.test", "right password"); 16];
    assert!(storm(&engine, &burst).iter().all(|&ok| ok));
    assert_eq!(engine.password_verifications(), 1);
}

#[test]
fn wrong_passwords_are_each_verified_and_refused() {
    let (_dir, engine) = engine_with(&["alice@example.test", "bob@example.test"]);
    let logins = [
        ("alice@example.test", "right password"),
        ("alice@example.test", "wrong password"),
        ("bob@example.test", "wrong password"),
        ("bob@example.test", "right password"),
        ("nobody@example.test", "right password"),
    ];
    let results = storm(&engine, &logins);
    assert_eq!(results, [true, false, false, true, false]);
    // One each, in whatever order: the unknown user's against a decoy hash, so that it
    // takes as long as a wrong password.
    assert_eq!(engine.password_verifications(), 5);
}
