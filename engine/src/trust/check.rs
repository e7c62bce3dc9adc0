//! The checks themselves: DKIM, ARC, SPF and DMARC, each run again as its answers arrive
//! (see [`Answers`]), then summed up in one `Authentication-Results:` field and what DMARC
//! asks to be done with the message.

use std::net::IpAddr;
use std::time::Instant;

use mail_auth::common::headers::HeaderWriter;
use mail_auth::dmarc::Policy;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DkimResult, DmarcResult, MessageAuthenticator,
    Parameters, SpfOutput, SpfResult, dmarc::verify::DmarcParameters,
};

use super::answers::{Answers, LOOKUP_TIME, MAX_QUESTIONS};
use super::spf::{check_spf, helo_name, mail_from_or_postmaster};
use crate::dns::Resolver;

/// Runs of one check before what is still unanswered counts as a temporary failure. Each
/// run that asks something new gets its answers; SPF's chains of `include:` are the
/// longest (ten lookups at most, RFC 7208 §4.6.4).
pub(super) const MAX_RUNS: usize = 12;

/// Who sent the message, as the SMTP session saw it.
#[derive(Clone, Debug)]
pub struct Sender<'a> {
    pub ip: IpAddr,
    /// The EHLO/HELO name; empty if none was given.
    pub helo: &'a str,
    /// The envelope sender; empty for the null sender.
    pub mail_from: &'a str,
}

/// What the author's domain asks of a message that fails DMARC, after our configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    Accept,
    /// Deliver to the recipient's Junk mailbox.
    Quarantine,
    /// Refuse with `550 5.7.1`.
    Reject,
}

/// The outcome of the checks on one message.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The `Authentication-Results:` field, CRLF-terminated.
    pub header: String,
    pub disposition: Disposition,
    /// The results in a few words, for the log line of the message: `spf=pass dkim=pass
    /// dmarc=pass`.
    pub summary: String,
    /// The domain of the `From:` address, whose DMARC policy was applied.
    pub author_domain: String,
    /// The domains (`d=`) of the DKIM signatures that passed.
    pub dkim_domains: Vec<String>,
    /// The envelope sender passed SPF.
    pub spf_passed: bool,
    /// What the content scanner made of it, when one is set up and answered.
    pub spam: Option<super::rspamd::Scan>,
}

/// Checks `message` (as received, without our trace fields) from `sender`, writing results
/// as `authserv_id`, with the SPF result if it was had already (see [`super::spf`]). DNS is
/// asked through `resolver` only.
pub async fn check(
    authenticator: &MessageAuthenticator,
    resolver: &dyn Resolver,
    authserv_id: &str,
    message: &[u8],
    sender: &Sender<'_>,
    spf: Option<SpfOutput>,
) -> Checked {
    let Some(parsed) = AuthenticatedMessage::parse(message) else {
        // Not a message mail-auth can read (no header at all, say): nothing to vouch for.
        return Checked {
            header: format!("Authentication-Results: {authserv_id}; none\r\n"),
            disposition: Disposition::Accept,
            summary: "unreadable".into(),
            author_domain: String::new(),
            dkim_domains: Vec::new(),
            spf_passed: false,
            spam: None,
        };
    };
    let answers = Answers::new(Instant::now() + LOOKUP_TIME);
    let parsed = &parsed;

    let dkim = settle(&answers, resolver, async || {
        authenticator
            .verify_dkim(Parameters::new(parsed).with_txt_cache(&answers))
            .await
    })
    .await;
    let arc = settle(&answers, resolver, async || {
        authenticator
            .verify_arc(Parameters::new(parsed).with_txt_cache(&answers))
            .await
    })
    .await;

    let spf = match spf {
        Some(spf) => spf,
        None => check_spf(authenticator, resolver, authserv_id, sender).await,
    };
    let (helo, mail_from) = (helo_name(sender), mail_from_or_postmaster(sender));
    let mail_from_domain = mail_from.rsplit_once('@').map_or("", |(_, domain)| domain);

    let dmarc = settle(&answers, resolver, async || {
        let dmarc = DmarcParameters::new(parsed, &dkim, mail_from_domain, &spf);
        authenticator
            .verify_dmarc(
                Parameters::new(dmarc)
                    .with_txt_cache(&answers)
                    .with_ipv4_cache(&answers),
            )
            .await
    })
    .await;

    let author = parsed.from().rsplit_once('@').map_or("", |(_, d)| d);
    let mut results = AuthenticationResults::new(authserv_id).with_dkim_results(&dkim, author);
    if !parsed.ams_headers.is_empty() {
        results = results.with_arc_result(&arc, sender.ip);
    }
    let mut results = results.with_spf_mailfrom_result(&spf, sender.ip, sender.mail_from, &helo);
    // Without one author domain (no From:, or several) DMARC does not apply (RFC 7489
    // §6.6.1), and there is no `header.from` to name.
    if !dmarc.domain().is_empty() {
        results = results.with_dmarc_result(&dmarc);
    }

    let disposition = match dmarc.result() {
        // A record in testing mode (t=y) asks for reports only.
        DmarcResult::Fail(_) if !dmarc.dmarc_record().is_some_and(|r| r.t) => {
            match dmarc.policy() {
                Policy::Reject => Disposition::Reject,
                Policy::Quarantine => Disposition::Quarantine,
                Policy::None | Policy::Unspecified => Disposition::Accept,
            }
        }
        _ => Disposition::Accept,
    };
    let dkim_domains = dkim
        .iter()
        .filter(|output| *output.result() == DkimResult::Pass)
        .filter_map(|output| output.signature())
        .map(|signature| signature.d.to_ascii_lowercase())
        .collect();
    Checked {
        header: results.to_header(),
        disposition,
        dkim_domains,
        spf_passed: spf.result() == SpfResult::Pass,
        spam: None,
        summary: format!(
            "spf={} dkim={} dmarc={}",
            spf_word(spf.result()),
            dkim_word(&dkim),
            dmarc_word(&dmarc.result()),
        ),
        author_domain: dmarc.domain().to_string(),
    }
}

/// Runs `check` until it asks nothing new, looking up what each run asked; at most
/// [`MAX_RUNS`] times (then what is still unanswered stays a temporary failure).
async fn settle<T>(
    answers: &Answers,
    resolver: &dyn Resolver,
    mut check: impl AsyncFnMut() -> T,
) -> T {
    let mut runs = 1;
    loop {
        let outcome = check().await;
        let missing = answers.take_missing();
        if missing.is_empty() || runs >= MAX_RUNS {
            return outcome;
        }
        answers.look_up(resolver, missing).await;
        runs += 1;
    }
}

pub(super) fn spf_word(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

/// The best of the signatures' results: one passing signature is enough.
fn dkim_word(outputs: &[mail_auth::DkimOutput<'_>]) -> &'static str {
    let rank = |result: &DkimResult| match result {
        DkimResult::Pass => (0, "pass"),
        DkimResult::TempError(_) => (1, "temperror"),
        DkimResult::PermError(_) => (2, "permerror"),
        DkimResult::Fail(_) => (3, "fail"),
        DkimResult::Neutral(_) => (4, "neutral"),
        DkimResult::None => (5, "none"),
    };
    outputs
        .iter()
        .map(|output| rank(output.result()))
        .min()
        .map_or("none", |(_, word)| word)
}

fn dmarc_word(result: &DmarcResult) -> &'static str {
    match result {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    }
}

const _: () = assert!(MAX_QUESTIONS >= MAX_RUNS);
