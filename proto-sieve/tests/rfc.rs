//! The examples of RFC 5228 and its extensions' RFCs, run on messages made for them, and
//! scripts each RFC says must be refused.

use proto_sieve::{Action, BodyTransform, Message, When, compile};

/// A message as a script sees it: header fields (name, value), addresses per field, the
/// envelope and a size.
#[derive(Default)]
struct Mail {
    fields: Vec<(&'static str, &'static str)>,
    from: &'static str,
    to: &'static str,
    size: u64,
    mailboxes: Vec<&'static str>,
    /// The body: one text/plain part.
    body: &'static str,
    /// The `Date:` field's instant and zone.
    date: Option<When>,
    /// The time of delivery.
    now: Option<i64>,
    /// The user's other scripts, by name.
    scripts: Vec<(&'static str, &'static str)>,
}

impl Message for Mail {
    fn header(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_string())
            .collect()
    }

    fn addresses(&self, name: &str) -> Vec<String> {
        // The test messages hold bare addresses, comma-separated.
        self.header(name)
            .iter()
            .flat_map(|v| {
                v.split(',')
                    .map(|a| a.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn envelope(&self, part: &str) -> Option<String> {
        match part {
            "from" => Some(self.from.to_string()),
            "to" => Some(self.to.to_string()),
            _ => None,
        }
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn mailbox_exists(&self, name: &str) -> bool {
        self.mailboxes.contains(&name)
    }

    fn body(&self, transform: &BodyTransform) -> Vec<String> {
        let text = match transform {
            BodyTransform::Raw | BodyTransform::Text => true,
            BodyTransform::Content(types) => types.iter().any(|t| t.is_empty() || t == "text"),
        };
        if text {
            vec![self.body.to_string()]
        } else {
            Vec::new()
        }
    }

    fn date(&self, name: &str) -> Option<When> {
        self.date.filter(|_| name.eq_ignore_ascii_case("date"))
    }

    fn now(&self) -> Option<i64> {
        self.now
    }

    fn include(&self, name: &str) -> Option<proto_sieve::Script> {
        let (_, source) = self.scripts.iter().find(|(n, _)| *n == name)?;
        compile(source).ok()
    }
}

fn keep() -> Action {
    Action::Keep { flags: Vec::new() }
}

fn fileinto(mailbox: &str) -> Action {
    Action::FileInto {
        mailbox: mailbox.to_string(),
        flags: Vec::new(),
        create: false,
    }
}

fn run(script: &str, mail: &Mail) -> Vec<Action> {
    let script = compile(script).unwrap_or_else(|e| panic!("{e}\n{script}"));
    let outcome = script.run(mail);
    assert_eq!(outcome.error, None);
    outcome.actions
}

/// RFC 5228 §9's extended example.
const EXTENDED: &str = r#"#
# Example Sieve Filter
# Declare any optional features or extension used by the script
#
require ["fileinto"];

#
# Handle messages from known mailing lists
# Move messages from IETF filter discussion list to filter mailbox
#
if header :is "Sender" "owner-ietf-mta-filters@imc.org"
        {
        fileinto "filter";  # move to "filter" mailbox
        }
#
# Keep all messages to or from people in my company
#
elsif address :DOMAIN :is ["From", "To"] "example.com"
        {
        keep;               # keep in "In" mailbox
        }

#
# Try and catch unsolicited email.  If a message is not to me,
# or it contains a subject known to be spam, file it away.
#
elsif anyof (NOT address :all :contains
               ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject"
               ["*make*money*fast*", "*university*dipl*mas*"])
        {
        fileinto "spam";   # move to "spam" mailbox
        }
else
        {
        # Move all other (non-company) mail to "personal"
        # mailbox.
        fileinto "personal";
        }
"#;

#[test]
fn rfc5228_extended_example() {
    let list = Mail {
        fields: vec![("Sender", "owner-ietf-mta-filters@imc.org")],
        ..Mail::default()
    };
    assert_eq!(run(EXTENDED, &list), vec![fileinto("filter")]);
    let colleague = Mail {
        fields: vec![("From", "boss@EXAMPLE.com"), ("To", "me@example.com")],
        ..Mail::default()
    };
    assert_eq!(run(EXTENDED, &colleague), vec![keep()]);
    let spam = Mail {
        fields: vec![
            ("From", "x@spam.test"),
            ("To", "list@lists.test"),
            ("Cc", "me@example.com"),
            ("Subject", "Make MONEY fast!"),
        ],
        ..Mail::default()
    };
    assert_eq!(run(EXTENDED, &spam), vec![fileinto("spam")]);
    let not_to_me = Mail {
        fields: vec![("From", "x@friend.test"), ("To", "other@example.net")],
        ..Mail::default()
    };
    assert_eq!(run(EXTENDED, &not_to_me), vec![fileinto("spam")]);
    let personal = Mail {
        fields: vec![("From", "x@friend.test"), ("Cc", "me@example.com")],
        ..Mail::default()
    };
    assert_eq!(run(EXTENDED, &personal), vec![fileinto("personal")]);
}

#[test]
fn rfc5228_implicit_keep_discard_and_stop() {
    let mail = Mail {
        size: 200 * 1024,
        ..Mail::default()
    };
    // §2.10.2: an empty script keeps.
    assert_eq!(run("", &mail), vec![keep()]);
    // §4.5 / §5.9: discard large messages.
    assert_eq!(run("if size :over 100K { discard; }", &mail), vec![]);
    assert_eq!(run("if size :under 100K { discard; }", &mail), vec![keep()]);
    // §3.3: stop ends the script, the implicit keep stands.
    assert_eq!(run("stop; discard;", &mail), vec![keep()]);
    // An explicit keep after discard keeps.
    assert_eq!(run("discard; keep;", &mail), vec![keep()]);
}

#[test]
fn rfc5228_exists_and_redirect() {
    let mail = Mail {
        fields: vec![("From", "a@b.test"), ("Date", "today")],
        ..Mail::default()
    };
    let script = r#"if not exists ["From","Date"] { discard; } redirect "bart@example.com";"#;
    assert_eq!(
        run(script, &mail),
        vec![Action::Redirect {
            address: "bart@example.com".into()
        }]
    );
    // The same redirect twice is done once (§2.10.3).
    let twice = r#"redirect "bart@example.com"; redirect "BART@example.com";"#;
    assert_eq!(run(twice, &mail).len(), 1);
}

#[test]
fn rfc5228_envelope() {
    let mail = Mail {
        from: "tim@example.com",
        to: "me+lists@example.org",
        ..Mail::default()
    };
    let script = r#"require "envelope";
        if envelope :all :is "from" "tim@example.com" { discard; }"#;
    assert_eq!(run(script, &mail), vec![]);
    let script = r#"require ["envelope", "subaddress", "fileinto"];
        if envelope :detail "to" "lists" { fileinto "Lists"; }"#;
    assert_eq!(run(script, &mail), vec![fileinto("Lists")]);
}

#[test]
fn rfc3894_copy() {
    let mail = Mail::default();
    let script = r#"require ["copy", "fileinto"]; fileinto :copy "Archive";"#;
    assert_eq!(run(script, &mail), vec![fileinto("Archive"), keep()]);
    let script = r#"require "copy"; redirect :copy "b@example.com";"#;
    assert_eq!(
        run(script, &mail),
        vec![
            Action::Redirect {
                address: "b@example.com".into()
            },
            keep()
        ]
    );
}

#[test]
fn rfc5232_imap4flags() {
    let mail = Mail {
        fields: vec![("From", "boss@example.com"), ("Subject", "urgent")],
        ..Mail::default()
    };
    // §7's example, in part.
    let script = r#"require ["imap4flags", "fileinto"];
        if header :contains "from" "boss@example.com" {
            setflag "\\Flagged";
            if header :contains "Subject" "urgent" { addflag "$Important \\Seen"; }
        }
        if hasflag :contains "important" { fileinto "Important"; }
        removeflag "\\Seen";
        keep;"#;
    assert_eq!(
        run(script, &mail),
        vec![
            Action::FileInto {
                mailbox: "Important".into(),
                flags: vec!["\\Flagged".into(), "$Important".into(), "\\Seen".into()],
                create: false,
            },
            Action::Keep {
                flags: vec!["\\Flagged".into(), "$Important".into()]
            }
        ]
    );
    let script = r#"require "imap4flags"; keep :flags ["\\Deleted", "a b"];"#;
    assert_eq!(
        run(script, &mail),
        vec![Action::Keep {
            flags: vec!["\\Deleted".into(), "a".into(), "b".into()]
        }]
    );
}

#[test]
fn rfc5231_relational() {
    let mail = Mail {
        fields: vec![
            ("Received", "one"),
            ("Received", "two"),
            ("Received", "three"),
            ("X-Priority", "1"),
        ],
        ..Mail::default()
    };
    let script = r#"require ["relational", "comparator-i;ascii-numeric"];
        if header :count "ge" :comparator "i;ascii-numeric" "received" "3" { discard; }"#;
    assert_eq!(run(script, &mail), vec![]);
    let script = r#"require ["relational", "comparator-i;ascii-numeric", "fileinto"];
        if header :value "lt" :comparator "i;ascii-numeric" "x-priority" "3" { fileinto "Urgent"; }"#;
    assert_eq!(run(script, &mail), vec![fileinto("Urgent")]);
}

#[test]
fn rfc5490_mailbox() {
    let mail = Mail {
        mailboxes: vec!["INBOX", "Lists"],
        ..Mail::default()
    };
    let script = r#"require ["mailbox", "fileinto"];
        if mailboxexists "Lists" { fileinto :create "Lists/New"; }"#;
    assert_eq!(
        run(script, &mail),
        vec![Action::FileInto {
            mailbox: "Lists/New".into(),
            flags: Vec::new(),
            create: true
        }]
    );
    let script = r#"require ["mailbox", "fileinto"];
        if mailboxexists "Missing" { discard; }"#;
    assert_eq!(run(script, &mail), vec![keep()]);
}

#[test]
fn scripts_that_must_be_refused() {
    for (script, says) in [
        ("fileinto \"x\";", "needs require \"fileinto\""),
        ("require \"vacation2\";", "not supported"),
        ("keep; require \"fileinto\";", "require must come before"),
        ("else { keep; }", "without an if"),
        ("keep", "expected ';' or a block"),
        ("if true keep;", "takes no test"),
        ("frobnicate;", "unknown command"),
        ("if frob { }", "unknown test"),
        (
            "if header :is :contains \"a\" \"b\" { }",
            "more than one match type",
        ),
        ("if size 100 { }", ":over and :under"),
        (
            "if header :comparator \"i;klingon\" \"a\" \"b\" { }",
            "not supported",
        ),
        ("redirect \"not an address\";", "not an email address"),
        (
            "if address :user \"to\" \"x\" { }",
            "needs require \"subaddress\"",
        ),
        ("keep \"extra\";", "too many arguments"),
        ("if header \"a\" { }", "expected the keys"),
        ("stop { }", "takes no block"),
        ("if true { } elsif { }", "expected one test"),
        ("if anyof (true false) { }", "takes no test"),
    ] {
        let error = compile(script).expect_err(script);
        assert!(
            error.message.contains(says),
            "{script}: {error} does not say {says}"
        );
    }
}

#[test]
fn errors_name_their_line() {
    let error = compile("require \"fileinto\";\n\nif true {\n  frob;\n}").unwrap_err();
    assert_eq!(error.line, 4);
    assert_eq!(error.to_string(), "line 4: unknown command \"frob\"");
}

#[test]
fn a_script_too_large_is_refused() {
    let script = "keep;\n".repeat(proto_sieve::MAX_SCRIPT / 5);
    assert!(compile(&script).is_err());
}

#[test]
fn a_run_past_its_work_keeps_the_message() {
    let value: &'static str = Box::leak("a".repeat(60_000).into_boxed_str());
    let mail = Mail {
        fields: vec![("Subject", value); 20],
        ..Mail::default()
    };
    let keys: Vec<String> = (0..50).map(|i| format!("\"*a*a*a*{i}\"")).collect();
    let script = format!(
        "if header :matches \"subject\" [{}] {{ discard; }}",
        keys.join(",")
    );
    let outcome = compile(&script).unwrap().run(&mail);
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.is_some());
}

fn vacation_for(mail: &Mail, script: &str) -> Option<Action> {
    run(script, mail)
        .into_iter()
        .find(|a| matches!(a, Action::Vacation { .. }))
}

#[test]
fn rfc5230_vacation_answers_people_not_robots() {
    let script = r#"require "vacation";
        vacation :days 23 :addresses ["tjs@example.edu", "ts4z@landru.example.edu"]
        "I'm away until October 19. If it's an emergency, call 911, I guess." ;"#;
    let mail = Mail {
        fields: vec![
            ("From", "friend@example.org"),
            ("To", "tjs@example.edu"),
            ("Subject", "lunch?"),
            ("Message-ID", "<1@example.org>"),
        ],
        from: "friend@example.org",
        to: "tjs+work@example.edu",
        ..Mail::default()
    };
    assert_eq!(
        run(script, &mail),
        vec![
            Action::Vacation {
                to: "friend@example.org".into(),
                from: None,
                subject: "Auto: lunch?".into(),
                reason: "I'm away until October 19. If it's an emergency, call 911, I guess."
                    .into(),
                mime: false,
                days: 23,
                handle: "I'm away until October 19. If it's an emergency, call 911, I guess.\0\0"
                    .into(),
                in_reply_to: Some("<1@example.org>".into()),
            },
            keep(),
        ],
        "vacation keeps the message too"
    );
    let without = |field: (&'static str, &'static str)| {
        let mut mail = Mail {
            fields: mail.fields.clone(),
            from: mail.from,
            to: mail.to,
            ..Mail::default()
        };
        mail.fields.push(field);
        vacation_for(&mail, script)
    };
    // Lists, automated mail and bulk mail are not answered (§4.6, RFC 3834).
    assert_eq!(without(("List-Id", "<users.lists.example>")), None);
    assert_eq!(without(("Auto-Submitted", "auto-replied")), None);
    assert_eq!(without(("Precedence", "bulk")), None);
    assert!(without(("Auto-Submitted", "no")).is_some());
    // Nor bounces, robots, or mail that does not name the recipient (§4.5).
    let from = |sender: &'static str| {
        let mail = Mail {
            fields: mail.fields.clone(),
            from: sender,
            to: mail.to,
            ..Mail::default()
        };
        vacation_for(&mail, script)
    };
    assert_eq!(from(""), None);
    assert_eq!(from("MAILER-DAEMON@example.org"), None);
    assert_eq!(from("owner-list@example.org"), None);
    assert_eq!(from("list-request@example.org"), None);
    assert_eq!(from("tjs@example.edu"), None, "never to oneself");
    let bcc = Mail {
        fields: vec![("From", "friend@example.org"), ("To", "other@example.org")],
        from: "friend@example.org",
        to: "tjs@example.edu",
        ..Mail::default()
    };
    assert_eq!(vacation_for(&bcc, script), None);
}

#[test]
fn rfc5230_vacation_options() {
    let mail = Mail {
        fields: vec![("To", "me@example.org")],
        from: "you@example.net",
        to: "me@example.org",
        ..Mail::default()
    };
    let script = r#"require "vacation";
        vacation :subject "Out of office" :from "me@example.org" :handle "ooo" :days 0 "Away.";"#;
    let Some(Action::Vacation {
        subject,
        from,
        handle,
        days,
        ..
    }) = vacation_for(&mail, script)
    else {
        panic!("no answer")
    };
    assert_eq!(
        (subject.as_str(), from.as_deref(), handle.as_str(), days),
        ("Out of office", Some("me@example.org"), "ooo", 1)
    );
    // Without a subject to quote.
    let Some(Action::Vacation { subject, .. }) =
        vacation_for(&mail, r#"require "vacation"; vacation "Away.";"#)
    else {
        panic!("no answer")
    };
    assert_eq!(subject, "Automated reply");
    // RFC 5230 §4.4's :mime example: the reason is the answer's MIME entity.
    let mime = r#"require "vacation";
        vacation :mime text:
Content-Type: multipart/alternative; boundary=foo

--foo

I'm at the beach relaxing.  Mmmm, surf...

--foo
Content-Type: text/html; charset=us-ascii

<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0//EN"
 "http://www.w3.org/TR/REC-html40/strict.dtd">
<HTML><HEAD><TITLE>How to relax</TITLE>
<BASE HREF="http://home.example.com/pictures/"></HEAD>
<BODY><P>I'm at the <A HREF="beach.gif">beach</A> relaxing.
Mmmm, <A HREF="ocean.gif">surf</A>...
</BODY></HTML>

--foo--
.
;"#;
    let Some(Action::Vacation { reason, mime, .. }) = vacation_for(&mail, mime) else {
        panic!("no answer")
    };
    assert!(mime && reason.starts_with("Content-Type: multipart/alternative"));
    for (bad, says) in [
        (r#"vacation "x";"#, "needs require \"vacation\""),
        (
            r#"require "vacation"; vacation :mime "x";"#,
            "a MIME entity",
        ),
        (
            r#"require "vacation"; vacation :from "not an address" "x";"#,
            "not an email address",
        ),
        (
            r#"require "vacation"; vacation :days "7" "x";"#,
            ":days needs a number",
        ),
    ] {
        let error = compile(bad).expect_err(bad);
        assert!(error.message.contains(says), "{bad}: {error}");
    }
}

#[test]
fn rfc5173_body() {
    let script = r#"require ["body", "fileinto"];
        if body :raw :contains "MAKE MONEY FAST" { discard; }
        elsif body :content "text" :contains ["missile", "coordinates"] { fileinto "secrets"; }
        elsif body :content "image" :contains "x" { fileinto "images"; }"#;
    let mail = |body| Mail {
        body,
        ..Mail::default()
    };
    assert_eq!(run(script, &mail("Reply now to MAKE MONEY FAST!")), vec![]);
    assert_eq!(
        run(script, &mail("the missile coordinates are")),
        vec![fileinto("secrets")]
    );
    assert_eq!(run(script, &mail("hello")), vec![keep()]);
    let text = r#"require "body"; if body :text :is "exactly this" { discard; }"#;
    assert_eq!(run(text, &mail("exactly this")), vec![]);
    for (bad, says) in [
        (r#"if body "x" { }"#, "needs require \"body\""),
        (
            r#"require "body"; if body :raw :text "x" { }"#,
            "one of :raw, :content and :text",
        ),
    ] {
        let error = compile(bad).expect_err(bad);
        assert!(error.message.contains(says), "{bad}: {error}");
    }
}

#[test]
fn rfc5429_reject_stands_alone() {
    let mail = Mail {
        fields: vec![("Subject", "cheap pills")],
        ..Mail::default()
    };
    let script = r#"require ["reject"];
        if header :contains "subject" "pills" { reject "No thank you."; }"#;
    assert_eq!(
        run(script, &mail),
        vec![Action::Reject {
            reason: "No thank you.".into()
        }]
    );
    let extended = r#"require "ereject"; ereject text:
Not here.
.
;"#;
    assert_eq!(
        run(extended, &mail),
        vec![Action::Reject {
            reason: "Not here.\r\n".into()
        }]
    );
    // With a keep it is an error, and the message is kept (§2.1).
    let both = compile(r#"require ["reject", "fileinto"]; fileinto "X"; reject "no";"#)
        .unwrap()
        .run(&mail);
    assert_eq!(both.actions, vec![keep()]);
    assert!(both.error.unwrap().contains("reject together with"));
    assert!(compile(r#"reject "x";"#).is_err());
}

#[test]
fn rfc5260_date_and_currentdate() {
    // RFC 5260 §7's examples. The boss wrote at 10:30 in +0200, 08:30 UTC.
    let urgent = r#"require ["date", "relational", "fileinto"];
        if allof(header :is "from" "boss@example.com",
                 date :value "ge" :originalzone "date" "hour" "09",
                 date :value "lt" :originalzone "date" "hour" "17")
        { fileinto "urgent"; }"#;
    let mail = |offset| Mail {
        fields: vec![("From", "boss@example.com")],
        date: Some(When {
            unix: 1_796_545_800,
            offset,
        }),
        ..Mail::default()
    };
    assert_eq!(run(urgent, &mail(120)), vec![fileinto("urgent")]);
    assert_eq!(
        run(urgent, &mail(0)),
        vec![keep()],
        "08:30 where it was written"
    );
    let away = r#"require ["date", "relational", "vacation"];
        if allof(currentdate :value "ge" "date" "2026-12-01",
                 currentdate :value "le" "date" "2026-12-07")
        { vacation :days 7 "I am away the first week of December."; }"#;
    let delivered = |now| Mail {
        fields: vec![("To", "me@example.org")],
        from: "you@example.net",
        to: "me@example.org",
        now: Some(now),
        ..Mail::default()
    };
    assert!(vacation_for(&delivered(1_796_545_800), away).is_some());
    assert!(vacation_for(&delivered(1_800_000_000), away).is_none());
    let zoned = r#"require "date"; if currentdate :zone "-0500" "weekday" "6" { discard; }"#;
    // Sunday 01:00 UTC is Saturday 20:00 in -0500.
    assert_eq!(run(zoned, &delivered(1_796_518_800)), vec![]);
    assert_eq!(run(zoned, &delivered(1_796_545_800)), vec![keep()]);
    for (bad, says) in [
        (r#"if currentdate "date" "x" { }"#, "needs require \"date\""),
        (
            r#"require "date"; if currentdate "fortnight" "x" { }"#,
            "not a date part",
        ),
        (
            r#"require "date"; if currentdate :zone "CET" "date" "x" { }"#,
            "not a zone",
        ),
        (
            r#"require "date"; if currentdate :originalzone "date" "x" { }"#,
            ":originalzone",
        ),
    ] {
        let error = compile(bad).expect_err(bad);
        assert!(error.message.contains(says), "{bad}: {error}");
    }
}

#[test]
fn rfc6609_include_and_return() {
    let mail = Mail {
        fields: vec![("From", "friend@example.org"), ("Subject", "hello")],
        scripts: vec![
            (
                "lists",
                r#"require ["include", "fileinto"];
                if header :contains "subject" "[list]" { fileinto "Lists"; stop; }
                if header :contains "subject" "hello" { fileinto "Hello"; return; }
                fileinto "Never";"#,
            ),
            ("loop", r#"require "include"; include "loop";"#),
            (
                "flag",
                r#"require "imap4flags"; addflag "$Seen-By-Include";"#,
            ),
        ],
        ..Mail::default()
    };
    let main = r#"require ["include", "fileinto"];
        include :personal "lists";
        fileinto "After";"#;
    assert_eq!(
        run(main, &mail),
        vec![fileinto("Hello"), fileinto("After")],
        "return ends only the included script"
    );
    let once = r#"require ["include", "imap4flags"];
        include :once "flag"; include :once "flag"; keep;"#;
    assert_eq!(
        run(once, &mail),
        vec![Action::Keep {
            flags: vec!["$Seen-By-Include".into()]
        }]
    );
    assert_eq!(
        run(r#"require "include"; include :optional "missing";"#, &mail),
        vec![keep()]
    );
    for failing in [
        r#"require "include"; include "missing"; discard;"#,
        r#"require "include"; include "loop"; discard;"#,
    ] {
        let outcome = compile(failing).unwrap().run(&mail);
        assert_eq!(outcome.actions, vec![keep()], "{failing}");
        assert!(outcome.error.is_some(), "{failing}");
    }
    assert!(compile(r#"require "include"; include :global "spam";"#).is_err());
    assert!(compile(r#"include "x";"#).is_err());
}

#[test]
fn rfc5229_variables_set_and_expanded() {
    let mail = Mail {
        fields: vec![
            ("From", "Ann Example <ann@example.org>"),
            ("Subject", "[acme-users] [fwd] version 1.0 is out"),
            ("List-Id", "Acme users <acme-users.lists.example.org>"),
        ],
        from: "ann@example.org",
        to: "me+Shop@example.com",
        ..Mail::default()
    };
    // §3.2's example: what the wildcards of the last successful :matches took.
    let lists = r#"require ["fileinto", "variables"];
        if header :matches "List-ID" "*<*.lists.example.org>" {
            fileinto "Lists/${2}";
        }"#;
    assert_eq!(run(lists, &mail), vec![fileinto("Lists/acme-users")]);
    let subject = r#"require ["fileinto", "variables"];
        if header :matches "Subject" "[*] *" {
            set "list" "${1}";
            set :upperfirst "rest" "${2}";
        }
        if header :matches "Subject" "nothing*like*this" { fileinto "never"; }
        fileinto "${list}: ${rest} (${1})";"#;
    assert_eq!(
        run(subject, &mail),
        vec![fileinto(
            "acme-users: [fwd] version 1.0 is out (acme-users)"
        )],
        "a failed :matches leaves the match variables as they were"
    );
    // §4.1's modifiers, in their order of precedence.
    let modifiers = r#"require ["fileinto", "variables"];
        set "a" "juMBlEd lETteRS";
        set :length "length" "${a}";
        set :lower "lower" "${a}";
        set :upperfirst "upperfirst" "${a}";
        set :upperfirst :lower "both" "${a}";
        set :quotewildcard "b" "*?\\";
        fileinto "${length}|${lower}|${upperfirst}|${both}|${b}|${unset}|${A}";"#;
    assert_eq!(
        run(modifiers, &mail),
        vec![fileinto(
            "15|jumbled letters|JuMBlEd lETteRS|Jumbled letters|\\*\\?\\\\||juMBlEd lETteRS"
        )]
    );
    // §5's string test, and an envelope detail put in a mailbox name.
    let string = r#"require ["fileinto", "variables", "envelope", "subaddress",
                             "relational", "comparator-i;ascii-numeric"];
        if envelope :detail :matches "to" "*" { set "detail" "${1}"; }
        if string :is :comparator "i;ascii-casemap" "${detail}" "shop" {
            fileinto "Shopping/${detail}";
        }
        if string :count "eq" :comparator "i;ascii-numeric" ["${detail}", "", "${none}"] "1" {
            fileinto "Counted";
        }"#;
    assert_eq!(
        run(string, &mail),
        vec![fileinto("Shopping/Shop"), fileinto("Counted")]
    );
    // Without "variables", `${...}` is text like any other.
    assert_eq!(
        run(r#"require "fileinto"; fileinto "${1}";"#, &mail),
        vec![fileinto("${1}")]
    );
}

#[test]
fn rfc5229_variables_with_flags_redirects_and_vacation() {
    let mail = Mail {
        fields: vec![
            ("From", "boss@example.org"),
            ("To", "me@example.com"),
            ("Subject", "urgent: budget"),
        ],
        from: "boss@example.org",
        to: "me@example.com",
        ..Mail::default()
    };
    // RFC 5232 §3: flags kept in a variable, tested with hasflag.
    let flags = r#"require ["imap4flags", "variables", "fileinto"];
        setflag "mine" "\\Seen";
        addflag "mine" ["$Work", "\\Flagged"];
        removeflag "mine" "\\Seen";
        if hasflag :contains "mine" "work" { fileinto :flags "${mine}" "Work"; }"#;
    assert_eq!(
        run(flags, &mail),
        vec![Action::FileInto {
            mailbox: "Work".into(),
            flags: vec!["$Work".into(), "\\Flagged".into()],
            create: false,
        }]
    );
    let redirect = r#"require "variables";
        if header :matches "subject" "*: *" { set "to" "${1}"; }
        redirect "${to}@example.net";"#;
    assert_eq!(
        run(redirect, &mail),
        vec![Action::Redirect {
            address: "urgent@example.net".into()
        }]
    );
    // A redirect to what is not an address fails the run, which keeps the message.
    let outcome = compile(r#"require "variables"; redirect "${nobody}";"#)
        .unwrap()
        .run(&mail);
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.unwrap().contains("not an email address"));
    let vacation = r#"require ["vacation", "variables"];
        if header :matches "subject" "*: *" { set "topic" "${2}"; }
        vacation :subject "Re: ${topic}" "Back on Monday; about ${topic}, ask Bob.";"#;
    let Some(Action::Vacation {
        subject, reason, ..
    }) = run(vacation, &mail).into_iter().next()
    else {
        panic!("a vacation answer");
    };
    assert_eq!(subject, "Re: budget");
    assert_eq!(reason, "Back on Monday; about budget, ask Bob.");
    // Each script its own variables: an included one does not see its includer's.
    let mail = Mail {
        scripts: vec![(
            "inner",
            r#"require ["variables", "fileinto"]; fileinto "inner-${x}";"#,
        )],
        ..mail
    };
    assert_eq!(
        run(
            r#"require ["include", "variables", "fileinto"];
            set "x" "outer"; include "inner"; fileinto "${x}";"#,
            &mail
        ),
        vec![fileinto("inner-"), fileinto("outer")]
    );
}

#[test]
fn rfc5229_variables_refused_and_bounded() {
    for (bad, says) in [
        (r#"set "a" "b";"#, "require \"variables\""),
        (
            r#"require "variables"; set "1" "b";"#,
            "cannot name a variable",
        ),
        (
            r#"require "variables"; set "a.b" "c";"#,
            "cannot name a variable",
        ),
        (
            r#"require "variables"; set :lower :upper "a" "b";"#,
            "cannot go with",
        ),
        (r#"require "variables"; set "a";"#, "expected the value"),
        (
            r#"require "variables"; if string "a" { keep; }"#,
            "expected the keys",
        ),
        (
            r#"require "imap4flags"; addflag "v" "x";"#,
            "require \"variables\"",
        ),
        (
            r#"require "variables"; redirect "not an address";"#,
            "not an email address",
        ),
    ] {
        let error = compile(bad).expect_err(bad);
        assert!(error.message.contains(says), "{bad}: {error}");
    }
    // Setting variables without end stops at a bound and keeps the message.
    let mut many = String::from("require \"variables\";\n");
    for n in 0..=proto_sieve::MAX_VARIABLES {
        many.push_str(&format!("set \"v{n}\" \"x\";\n"));
    }
    many.push_str("discard;");
    let outcome = compile(&many).unwrap().run(&Mail::default());
    assert_eq!(outcome.actions, vec![keep()]);
    assert!(outcome.error.unwrap().contains("variables"));
    // A value doubling itself stays within its bound.
    let mut doubling = String::from("require [\"variables\", \"fileinto\"];\nset \"v\" \"ab\";\n");
    for _ in 0..20 {
        doubling.push_str("set \"v\" \"${v}${v}\";\n");
    }
    doubling.push_str("set :length \"n\" \"${v}\"; fileinto \"${n}\";");
    assert_eq!(
        run(&doubling, &Mail::default()),
        vec![fileinto(&proto_sieve::MAX_VALUE.to_string())]
    );
}

#[test]
fn regex_match_type() {
    let mail = Mail {
        fields: vec![
            ("From", "alerts@monitor.example.org"),
            ("Subject", "[PROD-7] disk /var at 91%"),
        ],
        ..Mail::default()
    };
    // draft-ietf-sieve-regex §3: anywhere in the value, letters without case by default,
    // groups in ${1}... with "variables".
    let script = r#"require ["regex", "variables", "fileinto", "mailbox"];
        if header :regex "subject" "^\\[([a-z]+)-([0-9]+)\\] disk (/[^ ]*) at (9[0-9])%$" {
            fileinto :create "Alerts/${1}/${3}";
        }
        if address :regex :domain "from" "(^|\\.)example\\.org$" { fileinto "Ours"; }
        if header :regex :comparator "i;octet" "subject" "prod" { fileinto "Never"; }"#;
    let filed = |mailbox: &str| Action::FileInto {
        mailbox: mailbox.into(),
        flags: vec![],
        create: true,
    };
    assert_eq!(
        run(script, &mail),
        vec![filed("Alerts/PROD//var"), fileinto("Ours")]
    );
    for (bad, says) in [
        (
            r#"if header :regex "subject" "x" { keep; }"#,
            "require \"regex\"",
        ),
        (
            r#"require "regex"; if header :regex "subject" "(unclosed" { keep; }"#,
            "is not a regular expression",
        ),
        (
            r#"require ["regex", "comparator-i;ascii-numeric"];
            if header :regex :comparator "i;ascii-numeric" "x" "1" { keep; }"#,
            "i;ascii-numeric",
        ),
    ] {
        let error = compile(bad).expect_err(bad);
        assert!(error.message.contains(says), "{bad}: {error}");
    }
    // A pattern made of variables that is not one matches nothing.
    let made = r#"require ["regex", "variables", "fileinto"];
        set "p" "(oops";
        if header :regex "subject" "${p}" { fileinto "Never"; }"#;
    assert_eq!(run(made, &mail), vec![keep()]);
}
