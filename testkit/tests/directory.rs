//! The directory's rules on the real store: aliases an account hides or that would loop
//! are refused with the reason, and nothing is stored.

use engine::Engine;
use store_redb::RedbStore;

fn engine() -> (tempfile::TempDir, Engine<RedbStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(RedbStore::open(dir.path()).expect("store"), "mx.test");
    engine.add_domain("example.test").expect("domain");
    engine.add_domain("example.org").expect("domain");
    engine
        .add_user("alice@example.test", "a long passphrase", None, false)
        .expect("user");
    (dir, engine)
}

fn refused(engine: &Engine<RedbStore>, source: &str, target: &str) -> String {
    let before = engine.aliases(None).expect("aliases").len();
    let error = engine
        .add_alias(source, target)
        .expect_err("the alias is refused")
        .to_string();
    assert_eq!(engine.aliases(None).expect("aliases").len(), before);
    error
}

#[test]
fn an_alias_an_account_hides_is_refused() {
    let (_dir, engine) = engine();
    let error = refused(&engine, "Alice@example.test", "bob@example.org");
    assert!(
        error.contains("alice@example.test is an account"),
        "{error}"
    );
    // A +detail address of the account is not hidden by it: routing asks for the
    // alias of the whole address first.
    engine
        .add_alias("alice+lists@example.test", "bob@example.org")
        .expect("allowed");
}

#[test]
fn aliases_that_would_loop_are_refused_with_the_path() {
    let (_dir, engine) = engine();
    engine
        .add_alias("a@example.test", "b@example.test")
        .expect("a");
    engine
        .add_alias("b@example.test", "c@example.test")
        .expect("b");
    let error = refused(&engine, "c@example.test", "a@example.test");
    assert!(
        error.contains(
            "a loop: c@example.test -> a@example.test -> b@example.test -> c@example.test"
        ),
        "{error}"
    );
    let error = refused(&engine, "d@example.test", "d@example.test");
    assert!(
        error.contains("d@example.test -> d@example.test"),
        "{error}"
    );
    // Through the catch-all: x@ is nobody, so mail to it goes back to the catch-all.
    let error = refused(&engine, "@example.test", "x@example.test");
    assert!(
        error.contains("@example.test -> x@example.test -> @example.test"),
        "{error}"
    );
    // Chains that end at an account, or leave for another domain, are fine.
    engine
        .add_alias("c@example.test", "alice@example.test")
        .expect("ends at an account");
    engine
        .add_alias("@example.test", "alice@example.test")
        .expect("a catch-all to an account");
    engine
        .add_alias("e@example.test", "e@elsewhere.example")
        .expect("another domain");
}
