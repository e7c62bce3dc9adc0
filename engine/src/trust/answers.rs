//! DNS answers for mail-auth, looked up through the engine's [`Resolver`].
//!
//! mail-auth asks DNS through caches it is given before it would use its own resolver (which
//! needs a tokio reactor and knows nothing of `[dns.static]`). [`Answers`] is such a cache
//! that always answers: what it holds, or — for a name not looked up yet — a temporary
//! failure, noting the question. A check is run again once the noted questions are looked up
//! ([`Answers::look_up_missing`]), until it asks nothing new: each run is pure computation,
//! and the lookups are the engine's, with its timeouts, bounds and static answers.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_resolver::proto::op::ResponseCode;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::dmarc::Dmarc;
use mail_auth::spf::Spf;
use mail_auth::{MX, RecordSet, ResolverCache, Txt};

use crate::dns::{DnsError, MxAnswer, Resolver};

/// The most questions one message's checks may ask. SPF allows ten lookups that can each
/// name further hosts (RFC 7208 §4.6.4); DKIM one per signature.
pub const MAX_QUESTIONS: usize = 64;

/// The longest one message's lookups may take together; questions asked later are answered
/// as temporary failures. Each lookup is bounded by the resolver's own timeout too.
pub const LOOKUP_TIME: Duration = Duration::from_secs(30);

/// A question a check asked that has no answer yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Question {
    Txt(Box<str>),
    Mx(Box<str>),
    V4(Box<str>),
    V6(Box<str>),
}

/// The answers one message's checks have had so far, and the questions still open.
pub struct Answers {
    /// When lookups stop being made.
    deadline: Instant,
    txt: Table<Box<str>, Txt>,
    mx: Table<Box<str>, RecordSet<MX>>,
    v4: Table<Box<str>, RecordSet<Ipv4Addr>>,
    v6: Table<Box<str>, RecordSet<Ipv6Addr>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    missing: Vec<Question>,
    asked: usize,
    /// An address or MX lookup failed temporarily. mail-auth's caches cannot say so for
    /// those records, so the SPF result is made a `temperror` afterwards.
    temporary_failure: bool,
}

impl Answers {
    /// Answers for checks whose lookups must be done by `deadline`.
    pub fn new(deadline: Instant) -> Self {
        Answers {
            deadline,
            txt: Table::default(),
            mx: Table::default(),
            v4: Table::default(),
            v6: Table::default(),
            state: Mutex::default(),
        }
    }

    /// The questions asked since the last call that have no answer yet.
    pub fn take_missing(&self) -> Vec<Question> {
        std::mem::take(&mut self.state().missing)
    }

    /// Whether an address or MX lookup failed temporarily.
    pub fn had_temporary_failure(&self) -> bool {
        self.state().temporary_failure
    }

    /// Looks up `questions` and keeps the answers. Past [`MAX_QUESTIONS`] or the deadline
    /// the rest are answered as temporary failures without being asked.
    pub async fn look_up(&self, resolver: &dyn Resolver, questions: Vec<Question>) {
        for question in questions {
            let allowed = {
                let mut state = self.state();
                state.asked += 1;
                state.asked <= MAX_QUESTIONS && Instant::now() < self.deadline
            };
            match question {
                Question::Txt(name) => {
                    let answer = if allowed {
                        resolver.txt(&name).await
                    } else {
                        Err(DnsError::Busy)
                    };
                    let record = txt_record(&name, answer);
                    self.txt.put(name, record);
                }
                Question::Mx(name) => {
                    let answer = if allowed {
                        resolver.mx(&name).await.map(|secured| secured.value)
                    } else {
                        Err(DnsError::Busy)
                    };
                    let hosts = match answer {
                        Ok(MxAnswer::Hosts(hosts)) => hosts
                            .into_iter()
                            .map(|host| MX {
                                exchanges: Box::new([host.host.into_boxed_str()]),
                                preference: host.preference,
                            })
                            .collect(),
                        Ok(_) => Vec::new(),
                        Err(error) => self.failed(&error),
                    };
                    self.mx.put(name, record_set(hosts));
                }
                Question::V4(name) => {
                    let addresses = self.addresses(resolver, &name, allowed).await;
                    let v4 = addresses.iter().filter_map(|ip| match ip {
                        IpAddr::V4(v4) => Some(*v4),
                        IpAddr::V6(_) => None,
                    });
                    self.v4.put(name, record_set(v4.collect()));
                }
                Question::V6(name) => {
                    let addresses = self.addresses(resolver, &name, allowed).await;
                    let v6 = addresses.iter().filter_map(|ip| match ip {
                        IpAddr::V6(v6) => Some(*v6),
                        IpAddr::V4(_) => None,
                    });
                    self.v6.put(name, record_set(v6.collect()));
                }
            }
        }
    }

    async fn addresses(&self, resolver: &dyn Resolver, name: &str, allowed: bool) -> Vec<IpAddr> {
        let answer = if allowed {
            resolver.addresses(name).await.map(|secured| secured.value)
        } else {
            Err(DnsError::Busy)
        };
        answer.unwrap_or_else(|error| self.failed(&error))
    }

    /// An empty answer for a failed lookup, remembering when the failure was temporary.
    fn failed<T>(&self, error: &DnsError) -> Vec<T> {
        if error.is_temporary() {
            self.state().temporary_failure = true;
        }
        Vec::new()
    }

    fn ask(&self, question: Question) {
        let mut state = self.state();
        if !state.missing.contains(&question) {
            state.missing.push(question);
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What mail-auth would have made of a TXT answer: the first record that parses as what the
/// name is for (a DKIM key, a DMARC policy, an SPF record), else the error it would report.
fn txt_record(name: &str, answer: Result<Vec<String>, DnsError>) -> Txt {
    let records = match answer {
        Ok(records) => records,
        Err(DnsError::NxDomain) => return not_found(),
        Err(error) => {
            return Txt::Error(mail_auth::Error::Dns(mail_auth::DnsError::Resolver(
                error.to_string(),
            )));
        }
    };
    // As mail-auth reads an answer: the first record that parses wins; failing that, the
    // last record's parse error (a broken SPF record is a `permerror`), or "no such record".
    let mut parsed = Err(mail_auth::Error::Dns(
        mail_auth::DnsError::InvalidRecordType,
    ));
    for record in &records {
        let bytes = record.as_bytes();
        parsed = if name.contains("._domainkey.") {
            DomainKey::parse(bytes).map(|key| Txt::from(Ok(key)))
        } else if name.starts_with("_dmarc.") {
            Dmarc::parse(bytes).map(|dmarc| Txt::from(Ok(dmarc)))
        } else {
            Spf::parse(bytes).map(|spf| Txt::from(Ok(spf)))
        };
        if parsed.is_ok() {
            break;
        }
    }
    parsed.unwrap_or_else(Txt::Error)
}

fn not_found() -> Txt {
    Txt::Error(mail_auth::Error::Dns(mail_auth::DnsError::RecordNotFound(
        ResponseCode::NXDomain,
    )))
}

fn record_set<T>(records: Vec<T>) -> RecordSet<T> {
    RecordSet {
        rrset: records.into(),
        dnssec_status: Default::default(),
    }
}

/// One kind of answer, by name.
struct Table<K, V>(Mutex<HashMap<K, V>>);

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Table(Mutex::default())
    }
}

impl<K: Hash + Eq, V: Clone> Table<K, V> {
    fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        table.get(key).cloned()
    }

    fn put(&self, key: K, value: V) {
        let mut table = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        table.insert(key, value);
    }
}

/// The answer held for `name`, or `missing` after noting `question`.
fn answer<Q, V>(
    answers: &Answers,
    table: &Table<Box<str>, V>,
    name: &Q,
    question: fn(Box<str>) -> Question,
    missing: V,
) -> Option<V>
where
    V: Clone,
    Box<str>: Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    if let Some(value) = table.get(name) {
        return Some(value);
    }
    answers.ask(question(name_of(name)?));
    Some(missing)
}

/// The name a lookup is keyed by. mail-auth asks with `str` keys, but the cache interface
/// only promises that the key hashes like a `Box<str>` ([`Borrow`]'s contract): so the name
/// is read back from what hashing it writes — a string's bytes, then the `0xff` that ends
/// every `str` in a hash.
fn name_of<Q: Hash + ?Sized>(name: &Q) -> Option<Box<str>> {
    #[derive(Default)]
    struct Recorder(Vec<u8>);
    impl Hasher for Recorder {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }
    let mut recorder = Recorder::default();
    name.hash(&mut recorder);
    let bytes = recorder.0.strip_suffix(&[0xff])?;
    std::str::from_utf8(bytes).ok().map(Into::into)
}

impl ResolverCache<Box<str>, Txt> for Answers {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let missing = Txt::Error(mail_auth::Error::Dns(mail_auth::DnsError::Resolver(
            "not looked up yet".into(),
        )));
        answer(self, &self.txt, name, Question::Txt, missing)
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: Instant) {}
}

/// The record sets, which all answer the same way.
macro_rules! record_cache {
    ($record:ty, $table:ident, $question:path) => {
        impl ResolverCache<Box<str>, RecordSet<$record>> for Answers {
            fn get<Q>(&self, name: &Q) -> Option<RecordSet<$record>>
            where
                Box<str>: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                answer(self, &self.$table, name, $question, record_set(Vec::new()))
            }

            fn remove<Q>(&self, _: &Q) -> Option<RecordSet<$record>>
            where
                Box<str>: Borrow<Q>,
                Q: Hash + Eq + ?Sized,
            {
                None
            }

            fn insert(&self, _: Box<str>, _: RecordSet<$record>, _: Instant) {}
        }
    };
}

record_cache!(MX, mx, Question::Mx);
record_cache!(Ipv4Addr, v4, Question::V4);
record_cache!(Ipv6Addr, v6, Question::V6);

/// Reverse lookups are never made: SPF's `ptr` mechanism, which RFC 7208 §5.5 says not to
/// use, finds no names.
impl ResolverCache<IpAddr, RecordSet<Box<str>>> for Answers {
    fn get<Q>(&self, _: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        Some(record_set(Vec::new()))
    }

    fn remove<Q>(&self, _: &Q) -> Option<RecordSet<Box<str>>>
    where
        IpAddr: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: IpAddr, _: RecordSet<Box<str>>, _: Instant) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_read_back_from_its_hash() {
        let key: Box<str> = "example.org.".into();
        assert_eq!(name_of::<str>(&key).as_deref(), Some("example.org."));
        assert_eq!(name_of::<Box<str>>(&key).as_deref(), Some("example.org."));
        assert_eq!(name_of::<str>("").as_deref(), Some(""));
    }

    #[test]
    fn an_unknown_name_is_a_temporary_failure_and_a_question() {
        let answers = Answers::new(Instant::now() + LOOKUP_TIME);
        let txt = ResolverCache::<Box<str>, Txt>::get::<str>(&answers, "_dmarc.example.org.");
        assert!(matches!(
            txt,
            Some(Txt::Error(mail_auth::Error::Dns(
                mail_auth::DnsError::Resolver(_)
            )))
        ));
        let v4 =
            ResolverCache::<Box<str>, RecordSet<Ipv4Addr>>::get::<str>(&answers, "mx.example.org.");
        assert_eq!(v4.map(|set| set.rrset.len()), Some(0));
        assert_eq!(
            answers.take_missing(),
            [
                Question::Txt("_dmarc.example.org.".into()),
                Question::V4("mx.example.org.".into())
            ]
        );
        assert!(answers.take_missing().is_empty());
    }
}
