//! Whatever a user uploads: checking it never panics, and a script that compiles runs on
//! any message without panicking and within its bounds.

use proptest::prelude::*;
use proto_sieve::{MAX_ACTIONS, Message, compile};

/// Words scripts are made of, so that random scripts often compile and run.
const WORDS: &[&str] = &[
    "require",
    "\"fileinto\"",
    "\"imap4flags\"",
    "\"copy\"",
    "\"envelope\"",
    "\"subaddress\"",
    "\"relational\"",
    "\"mailbox\"",
    "if",
    "elsif",
    "else",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ";",
    "keep",
    "discard",
    "stop",
    "fileinto",
    "redirect",
    "\"a@b.test\"",
    "setflag",
    "addflag",
    "removeflag",
    "\"vacation\"",
    "vacation",
    ":days",
    ":handle",
    ":subject",
    "body",
    "\"body\"",
    ":text",
    ":raw",
    "reject",
    "\"reject\"",
    "currentdate",
    "date",
    ":zone",
    ":originalzone",
    "\"date\"",
    "\"year\"",
    "\"+0100\"",
    "include",
    "\"include\"",
    "return",
    ":once",
    ":optional",
    "header",
    "address",
    "envelope",
    "exists",
    "size",
    "allof",
    "anyof",
    "not",
    "true",
    "false",
    "hasflag",
    "mailboxexists",
    ":is",
    ":contains",
    ":matches",
    ":over",
    ":under",
    ":all",
    ":localpart",
    ":domain",
    ":user",
    ":detail",
    ":copy",
    ":create",
    ":flags",
    ":count",
    ":value",
    "\"gt\"",
    "\"subject\"",
    "\"from\"",
    "\"to\"",
    "\"*a?\"",
    "\"\\\\Seen x\"",
    "\"Box\"",
    "10K",
    "0",
    "text:\n..x\n.\n",
    "\"variables\"",
    "set",
    "string",
    ":lower",
    ":upperfirst",
    ":length",
    ":quotewildcard",
    "\"v\"",
    "\"${v}${v}\"",
    "\"${1}x${0}\"",
    "\"${\"",
    "\"regex\"",
    ":regex",
    "\"^(a|b)*.?[x-z]+$\"",
];

struct Mail {
    subject: String,
    size: u64,
}

impl Message for Mail {
    fn header(&self, name: &str) -> Vec<String> {
        match name.to_ascii_lowercase().as_str() {
            "subject" => vec![self.subject.clone(); 3],
            _ => Vec::new(),
        }
    }

    fn addresses(&self, _: &str) -> Vec<String> {
        vec![format!("{}@example.org", self.subject)]
    }

    fn envelope(&self, _: &str) -> Option<String> {
        Some("x+y@example.org".to_string())
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn mailbox_exists(&self, name: &str) -> bool {
        name.len().is_multiple_of(2)
    }
}

proptest! {
    #[test]
    fn any_text_is_checked_without_panic(source in "\\PC{0,300}") {
        let _ = compile(&source);
    }

    #[test]
    fn scripts_of_sieve_words_run_within_bounds(
        words in proptest::collection::vec(proptest::sample::select(WORDS), 0..60),
        subject in "[a-z*?]{0,40}",
        size in 0u64..100_000,
    ) {
        let source = words.join(" ");
        if let Ok(script) = compile(&source) {
            let outcome = script.run(&Mail { subject, size });
            prop_assert!(outcome.actions.len() <= MAX_ACTIONS);
        }
    }
}
