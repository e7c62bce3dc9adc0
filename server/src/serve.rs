//! `postern serve`: open the data directory, bind every listener, and run until SIGTERM or
//! SIGINT, then finish the sessions that are mid-message and exit. SIGHUP reloads the
//! certificate.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use engine::Engine;
use engine::admission::ConnectionLimit;
use engine::client_tls::ClientTls;
use engine::dns::{NetworkConfig, NetworkResolver, Overlay, Resolver};
use engine::io::Background;
use engine::listener::{ListenSocket, Listener, Protocol};
use engine::queue::breaker::Breakers;
use engine::queue::pool::Pool;
use engine::queue::schedule::RetryPolicy;
use engine::queue::{Courier, Delivery, DeliveryConfig, Relay, TransportCounts};
use engine::web::{Endpoint, Security, Service, WebConfig};
use proto_smtp::client::Credentials;
use proto_smtp::{BareLf, Mode, ServerConfig};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use store_redb::RedbStore;

use crate::acme::Renewal;
use crate::config::{self, Config, QueueBackend};
use crate::reload::Reload;
use crate::{control, fd_limit, memory, secrets, tls};
use store_redis::RedisQueue;

#[cfg(not(feature = "tokio"))]
use runtime_smol::{self as runtime, SmolDialer as RuntimeDialer, SmolExecutor as RuntimeExecutor};
#[cfg(feature = "tokio")]
use runtime_tokio::{
    self as runtime, TokioDialer as RuntimeDialer, TokioExecutor as RuntimeExecutor,
};

/// Serves `config`, read from `file` (read again on SIGHUP).
pub fn run(config: Config, file: Option<PathBuf>) -> Result<(), String> {
    // One provider (ring) is compiled in; make it the process default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The store creates the data directory, owner-only.
    let store = open_store(&config)?;
    let mut engine = Engine::new(store, config.hostname.clone());
    if let Some(postmaster) = &config.postmaster {
        engine
            .set_postmaster(postmaster)
            .map_err(|e| format!("in the configuration, postmaster: {e}"))?;
    }
    engine.set_resolver(resolver(&config.dns));
    engine.set_srs_key(secrets::srs_key(&config.data_dir)?);
    engine.set_sender_checks(config.security.sender_checks());
    engine.set_password_rules(config.security.password_rules());
    engine.set_send_as(&config.security.send_as);
    engine
        .set_greylisting(config.greylisting.engine_config())
        .map_err(|e| format!("cannot read greylisting's known senders: {e}"))?;
    engine
        .set_audit_retention(i64::try_from(config.audit.retention.0.as_secs()).unwrap_or(i64::MAX));
    engine.prune_audit(engine::mail::date::unix_now());
    engine
        .load_bans()
        .map_err(|e| format!("cannot read the bans: {e}"))?;
    engine.set_sending_limits(engine::directory::rate::SendingLimits {
        messages_per_hour: config.limits.messages_per_hour,
        recipients_per_hour: config.limits.recipients_per_hour,
    });
    if let Some(queue) = shared_queue(&config)? {
        let node = queue.node().to_string();
        match queue.check() {
            Ok(()) => tracing::info!(node, "the outbound queue is shared in Redis"),
            Err(error) => tracing::warn!(
                node,
                %error,
                "the outbound queue is shared in Redis, which does not answer yet: mail waits here until it does"
            ),
        }
        engine.share_greylist(Arc::new(queue.greylist()));
        engine.set_shared_queue(Arc::new(queue));
    }
    let listening = config.listen.addresses();
    let source = tls::Source {
        files: config.tls.as_ref(),
        acme: config.acme.is_some(),
        data_dir: &config.data_dir,
        hostname: &config.hostname,
        listening: &listening,
    };
    let tls = tls::load(&source, engine.acme_challenges().clone())?;
    // Set up at start, so that a `[delivery] ca_file` that cannot be used stops the server
    // now rather than failing every delivery later.
    let client_tls = ClientTls::load(config.delivery.ca_file.as_deref())?;
    let dialer = RuntimeDialer::new(client_tls);

    let mx = Protocol::Smtp(Arc::new(smtp_config(&config, Mode::Mx)));
    let submission = Protocol::Smtp(Arc::new(smtp_config(&config, Mode::Submission)));
    let pop3 = Protocol::Pop3(Arc::new(pop3_config(&config)));
    let imap = Protocol::Imap(Arc::new(imap_config(&config)));
    let http = Protocol::Http(Arc::new(proto_dav::ServerConfig::new("Postern")));
    let managesieve = Protocol::ManageSieve(Arc::new(managesieve_config(&config)));
    let protocol = |service: Service| match service {
        Service::Mx => &mx,
        Service::Submission => &submission,
        Service::Pop3 => &pop3,
        Service::Imap => &imap,
        Service::Http => &http,
        Service::ManageSieve => &managesieve,
    };
    let mut sockets = Vec::new();
    let mut bound = Vec::new();
    for (name, addrs, service, security) in config.listen.services() {
        let protocol = protocol(service);
        let implicit_tls = security == Security::Tls;
        let tls_config = match service {
            Service::Http => tls.https.clone(),
            _ => tls.config.clone(),
        };
        for &addr in addrs {
            let socket = bind(name, addr)?;
            bound.push(Endpoint {
                name,
                service,
                security,
                address: socket.local_addr().unwrap_or(addr),
            });
            sockets.push(ListenSocket {
                socket,
                listener: Listener::new(
                    protocol.clone(),
                    implicit_tls,
                    Some(tls_config.clone()),
                    config.limits.max_connections_per_ip,
                ),
            });
        }
    }
    engine.set_web(WebConfig {
        endpoints: bound.clone(),
        ..config.http.engine_config()
    });
    engine.set_certificate(tls.certificate.clone());
    let engine = Arc::new(engine);
    let transports = Arc::new(TransportCounts::default());
    let control = control::listen(&config.data_dir, engine.clone(), transports.clone())?;
    let limit = ConnectionLimit::new(
        fd_limit::connection_limit(config.limits.max_connections),
        engine.ban_list().clone(),
    );

    // Dropping `stop` closes the channel: every session and acceptor sees the shutdown.
    let (stop, shutdown) = async_channel::bounded::<()>(1);
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let reload = Reload {
        file,
        engine: engine.clone(),
        presented: tls.presented.clone(),
        data_dir: config.data_dir.clone(),
        hostname: config.hostname.clone(),
        listening: config.listen.addresses(),
    };
    std::thread::Builder::new()
        .name("postern-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGHUP {
                    reload.run();
                    continue;
                }
                tracing::info!(signal, "received a stop signal");
                break;
            }
            drop(stop);
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;

    print_banner(&config, &bound, &tls.path);
    tracing::info!(runtime = runtime::NAME, "postern is running");
    let delivery = Delivery::new(Courier {
        engine: engine.clone(),
        executor: RuntimeExecutor,
        dialer: dialer.clone(),
        config: delivery_config(&config),
        breakers: Breakers::default(),
        pool: Pool::default(),
        slots: Default::default(),
        policies: Default::default(),
        transports,
    });
    let mut background: Vec<Background> = renewal(&config, &engine, &tls.presented, &shutdown)?
        .into_iter()
        .collect();
    let sweeper = engine::retention::run(engine.clone(), RuntimeExecutor);
    let waker = engine::snooze::run(engine.clone(), RuntimeExecutor);
    let hooks = engine::webhooks::run(
        engine.clone(),
        RuntimeExecutor,
        dialer.clone(),
        config.webhooks.engine(),
    );
    let releaser = engine::held::run(engine.clone(), RuntimeExecutor);
    let indexer = engine::search_index::run(engine.clone(), RuntimeExecutor);
    for task in [
        Box::pin(sweeper) as Background,
        Box::pin(waker),
        Box::pin(hooks),
        Box::pin(releaser),
        Box::pin(indexer),
    ] {
        let stopped = shutdown.clone();
        background.push(Box::pin(futures_lite::future::or(task, async move {
            let _ = stopped.recv().await;
        })));
    }
    let result = runtime::run(
        engine.clone(),
        sockets,
        limit,
        delivery,
        background,
        shutdown,
    )
    .map_err(|e| format!("server stopped on an error: {e}"));
    let _ = std::fs::remove_file(control);
    // The control thread keeps the engine until the process ends: the database is closed
    // here, so that it records a clean shutdown and the next start needs no repair.
    if let Err(error) = engine.store().close() {
        tracing::warn!(%error, "the database was not closed cleanly; the next start repairs it");
    }
    tracing::info!("postern stopped");
    result
}

/// With `[acme]`, the task that obtains and renews the certificate until `shutdown`.
fn renewal(
    config: &Config,
    engine: &Arc<Engine<RedbStore>>,
    presented: &Arc<tls::Presented>,
    shutdown: &async_channel::Receiver<()>,
) -> Result<Option<Background>, String> {
    let (Some(acme), Some(request)) = (&config.acme, config.acme_request()) else {
        return Ok(None);
    };
    let renewal = Renewal {
        request,
        renew_before: acme.renew_before.0,
        data_dir: config.data_dir.clone(),
        engine: engine.clone(),
        presented: presented.clone(),
        dialer: RuntimeDialer::new(ClientTls::load(acme.ca_file.as_deref())?),
        executor: RuntimeExecutor,
    };
    let shutdown = shutdown.clone();
    Ok(Some(Box::pin(futures_lite::future::or(
        renewal.run(),
        async move {
            let _ = shutdown.recv().await;
        },
    ))))
}

/// `[dns.static]` over the network resolver. A server without DNS still starts (on the
/// static names alone), so that mail in and out of its own domains keeps working; lookups
/// of other names then fail temporarily and outbound mail waits.
pub(crate) fn resolver(dns: &config::Dns) -> Arc<dyn Resolver> {
    let upstream: Option<Arc<dyn Resolver>> = match dns.nameservers.as_deref() {
        Some([]) => None,
        servers => {
            let config = NetworkConfig {
                nameservers: servers.map(|servers| servers.iter().map(|s| s.0).collect()),
                timeout: dns.timeout.0,
                dnssec: dns.dnssec,
                ..NetworkConfig::default()
            };
            match NetworkResolver::start(config) {
                Ok(resolver) => Some(Arc::new(resolver)),
                Err(e) => {
                    tracing::warn!(error = %e, "DNS is unavailable; only [dns.static] names resolve");
                    None
                }
            }
        }
    };
    Arc::new(Overlay::new(dns.static_names.0.clone(), upstream))
}

/// The database in `data_dir`, with `[storage] cache_size` or one sized to the memory the
/// server may use.
pub(crate) fn open_store(config: &Config) -> Result<RedbStore, String> {
    let cache = config
        .storage
        .cache_size
        .map(|size| usize::try_from(size.0).unwrap_or(usize::MAX));
    RedbStore::open_with_cache(
        &config.data_dir,
        cache.unwrap_or_else(memory::default_cache_size),
    )
    .map_err(|e| e.to_string())
}

/// The queue shared with other nodes, when `[queue] backend = "redis"`.
pub(crate) fn shared_queue(config: &Config) -> Result<Option<RedisQueue>, String> {
    let queue = &config.queue;
    if queue.backend != QueueBackend::Redis {
        return Ok(None);
    }
    let node = queue.node.as_deref().unwrap_or(&config.hostname);
    RedisQueue::new(&queue.redis_url, queue.redis_password.as_deref(), node)
        .map(Some)
        .map_err(|e| format!("[queue] redis_url: {e}"))
}

fn delivery_config(config: &Config) -> DeliveryConfig {
    let delivery = &config.delivery;
    let mut outbound = DeliveryConfig::new(config.hostname.clone());
    outbound.workers = delivery.workers;
    outbound.connections_per_host = delivery.connections_per_host;
    outbound.mta_sts = delivery.mta_sts;
    outbound.require_tls = delivery.require_tls;
    outbound.mta_sts_port = delivery.mta_sts_port;
    outbound.remote_port = delivery.remote_port;
    outbound.connect_timeout = delivery.connect_timeout.0;
    outbound.retry = RetryPolicy {
        max_attempts: delivery.max_attempts,
        max_age: delivery.max_age.0,
    };
    outbound.delay_warning = Some(delivery.delay_warning.0).filter(|span| !span.is_zero());
    outbound.relay = delivery.relay.as_ref().map(|url| Relay {
        host: url.host.clone(),
        port: url.port,
        implicit_tls: url.implicit_tls,
        verify_tls: delivery.relay_verify_tls,
        credentials: delivery
            .relay_user
            .clone()
            .zip(delivery.relay_password.clone())
            .map(|(user, password)| Credentials::new(user, password)),
    });
    outbound
}

fn smtp_config(config: &Config, mode: Mode) -> ServerConfig {
    let mut smtp = ServerConfig::new(config.hostname.clone());
    smtp.max_message_size = config.limits.max_message_size.0;
    smtp.mode = mode;
    smtp.starttls = true;
    smtp.auth_without_tls = config.smtp.auth_without_tls;
    smtp.bare_lf = match config.smtp.bare_lf {
        config::BareLf::Normalize => BareLf::Normalize,
        config::BareLf::Reject => BareLf::Reject,
    };
    smtp
}

fn pop3_config(config: &Config) -> proto_pop3::ServerConfig {
    let mut pop3 = proto_pop3::ServerConfig::new(config.hostname.clone());
    pop3.stls = true;
    pop3.auth_without_tls = config.pop3.auth_without_tls;
    pop3.implementation = Some("Postern".into());
    pop3
}

fn managesieve_config(config: &Config) -> proto_managesieve::ServerConfig {
    let mut sieve = engine::managesieve::session_config(&config.hostname);
    sieve.starttls = true;
    sieve.auth_without_tls = config.managesieve.auth_without_tls;
    sieve
}

fn imap_config(config: &Config) -> proto_imap::ServerConfig {
    let mut imap = proto_imap::ServerConfig::new(config.hostname.clone());
    imap.starttls = true;
    imap.auth_without_tls = config.imap.auth_without_tls;
    imap.framer.max_message = u32::try_from(config.limits.max_message_size.0).unwrap_or(u32::MAX);
    imap
}

/// Connections the kernel holds for a listener before it accepts them: enough for every
/// phone of a small team reconnecting at once after a restart. std's 128 dropped SYNs in
/// such a burst, and clients waited out retransmission timeouts. The kernel caps it at
/// `net.core.somaxconn`.
const BACKLOG: i32 = 1024;

fn bind(service: &str, addr: SocketAddr) -> Result<TcpListener, String> {
    listen(addr).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another program listens there; change [listen] in the config)"
            }
            std::io::ErrorKind::PermissionDenied => {
                " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
            }
            _ => "",
        };
        format!("cannot listen for {service} on {addr}: {e}{hint}")
    })
}

/// A listener on `addr`, as std's `TcpListener::bind` makes one (address reuse on Unix),
/// with [`BACKLOG`].
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

fn print_banner(config: &Config, bound: &[Endpoint], cert: &std::path::Path) {
    println!("postern {} is running", env!("CARGO_PKG_VERSION"));
    println!("  data directory  {}", config.data_dir.display());
    println!("  certificate     {}", cert.display());
    for endpoint in bound {
        let tls = match endpoint.security {
            Security::Tls => "TLS",
            Security::StartTls => "STARTTLS",
            // HTTP has no STARTTLS: plain on loopback or behind a proxy.
            Security::Plain => "plain",
        };
        println!("  {:<15} {}  ({tls})", endpoint.name, endpoint.address);
    }
    let config_arg = std::env::args()
        .skip_while(|a| a != "--config")
        .nth(1)
        .map(|file| format!(" --config {file}"))
        .unwrap_or_default();
    println!();
    println!("Next, in another terminal:");
    println!("  postern{config_arg} domain add example.test");
    println!("  postern{config_arg} user add alice@example.test");
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use engine::dns::{DnsError, MxAnswer, MxHost, Secured};
    use futures_lite::future::block_on;

    use super::*;

    #[test]
    fn the_resolver_answers_from_dns_static() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(
            br#"
[dns]
nameservers = []
[dns.static]
"example.net" = { mx = ["mx1.example.net"] }
"mx1.example.net" = { a = ["127.0.0.1"] }
"#,
        )
        .unwrap();
        let config = Config::load(Some(file.path()), []).unwrap();
        let dns = resolver(&config.dns);
        let mx = MxHost {
            preference: 0,
            host: "mx1.example.net".into(),
        };
        assert_eq!(
            block_on(dns.mx("example.net")).unwrap(),
            Secured::new(MxAnswer::Hosts(vec![mx]), true)
        );
        let ip = "127.0.0.1".parse::<std::net::IpAddr>().unwrap();
        assert_eq!(
            block_on(dns.addresses("mx1.example.net")).unwrap().value,
            [ip]
        );
        // No name server: every other name waits for one, it is not refused.
        let err = block_on(dns.mx("example.org")).unwrap_err();
        assert!(matches!(err, DnsError::Unavailable(_)) && err.is_temporary());
    }
}
