//! Command-line interface. Every management command works whether or not a server runs:
//! it goes through the server's control socket when one answers, else opens the data
//! directory itself.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use engine::Engine;

use crate::admin::{
    self, BanRequest, DkimRequest, DnsFormat, KeyAlgorithm, QueueRequest, Request, Secret,
    ShareAccess, SieveRequest, TokenRequest,
};
use crate::config::Config;
use crate::setup::{self, SetupArgs};
use crate::{checks, control, serve};

#[derive(Parser)]
#[command(
    name = "postern",
    version,
    about = "A complete mail server in one binary."
)]
struct Cli {
    /// Configuration file (TOML). Without it: POSTERN_CONFIG, else
    /// /etc/postern/postern.toml, else ./postern.toml, else the embedded defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (with no config: loopback only, data in ./postern-data).
    Serve,
    /// Set up a server for a domain: the configuration, the data directory, the first
    /// domain with its administrator and DKIM keys, a systemd unit, and the DNS records to
    /// publish. Asks for what the flags do not say; safe to run again.
    Setup(SetupArgs),
    /// Manage local domains.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage aliases (`@domain` as source makes a catch-all).
    #[command(subcommand)]
    Alias(AliasCommand),
    /// A user's important senders: their mail gets the `$Important` keyword.
    #[command(subcommand)]
    Vip(VipCommand),
    /// Mail to an address or a domain posted to a program over HTTP, signed.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// A user's mail waiting to go: sent for later, or within the undo delay.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// A user's snoozed mail: put away until a time, then back in the INBOX as new.
    #[command(subcommand)]
    Snooze(SnoozeCommand),
    /// A user's Screener: mail from senders they have not decided on waits in `Screener`.
    #[command(subcommand)]
    Screener(ScreenerCommand),
    /// Share a user's calendars and address books with other users.
    #[command(subcommand)]
    Share(ShareCommand),
    /// Manage the DKIM keys outbound mail is signed with.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// Look at and act on the outbound queue.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Refuse connections from networks (sources that keep failing logins are banned by
    /// themselves).
    #[command(subcommand)]
    Ban(BanCommand),
    /// Manage the tokens of the JSON API (/api/v1/).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage users' Sieve filters (RFC 5228): the active script decides where each
    /// message delivered to the user goes.
    #[command(subcommand)]
    Sieve(SieveCommand),
    /// The DNS records a local domain needs, in zone-file form or as a table.
    Dns {
        #[arg(long)]
        domain: String,
        /// Also say what DNS has for each now (asks the running server's resolver).
        #[arg(long)]
        check: bool,
        /// Zone-file lines, a table (type, name, value), or JSON.
        #[arg(long, value_enum, default_value_t = DnsFormat::Zone)]
        format: DnsFormat,
    },
    /// Check this machine before serving: the data directory, the ports, the disk, the
    /// clock, mail out on port 25, the host name's addresses and reverse DNS. Each check
    /// says OK, WARN or FAIL and what to do; any FAIL makes the exit status 1.
    Preflight {
        /// The address others reach this server at (behind NAT, or when it listens on
        /// every address); repeat for several.
        #[arg(long = "public-ip", value_name = "IP")]
        public_ip: Vec<std::net::IpAddr>,
        /// A domain whose mail exchanger shows whether port 25 is open outbound.
        #[arg(long, default_value = "gmail.com")]
        probe: String,
    },
    /// Check the running server end to end: every listener answers, the certificate is
    /// trusted and not expiring, DNS has each domain's records, a test message to the
    /// first domain's postmaster is taken, the queue moves. OK, WARN or FAIL each.
    Doctor,
    /// Read the audit log: logins, bans and changes made with these commands.
    Audit {
        /// Entries of the last DURATION ("24h", "7d") or since a day (2026-12-01, UTC);
        /// default: the last day.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Only entries of this user (or actor: cli, server).
        #[arg(long)]
        user: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Copy everything (mail, accounts, keys, the queue, calendars) into DEST, a new or
    /// empty directory, while the server runs: a consistent snapshot, read back and checked.
    Backup { dest: PathBuf },
    /// Put a backup made by `postern backup` into this configuration's data directory,
    /// which must not hold a store yet; then start the server.
    Restore { src: PathBuf },
    /// Write a user's mail out as a Maildir++ tree.
    Export(MaildirArgs),
    /// Read a Maildir++ tree (e.g. from Dovecot) into a user's mailboxes.
    Import(MaildirArgs),
}

#[derive(Subcommand)]
enum DomainCommand {
    /// Add a domain this server receives mail for.
    Add { name: String },
    /// List local domains.
    List,
    /// Remove a domain (it must have no users or aliases left).
    Remove { name: String },
    /// Keep mail in NAME's accounts for KEEP (`24h`, `7d`), then remove it; `off` keeps it
    /// until users delete it (the default).
    Retention { name: String, keep: String },
    /// `on`: mail to NAME goes to its webhooks only (`postern webhook add`), never into
    /// mailboxes; only addresses with a webhook take mail.
    WebhookOnly {
        name: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user; asks for the password unless --password-stdin is given.
    Add {
        email: String,
        #[command(flatten)]
        password: PasswordInput,
        /// Storage quota in bytes (suffixes K, M, G accepted; 0 for unlimited).
        #[arg(long, value_parser = engine::units::parse_size)]
        quota: Option<u64>,
        /// The user may manage the server (admin panel).
        #[arg(long)]
        admin: bool,
    },
    /// List users, optionally of one domain.
    List {
        #[arg(long)]
        domain: Option<String>,
    },
    /// Change a user's password.
    Passwd {
        email: String,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// Set a user's quota in bytes (K, M, G suffixes; 0 for unlimited).
    Quota {
        email: String,
        #[arg(value_parser = engine::units::parse_size)]
        bytes: u64,
    },
    /// Let a user manage the server (admin panel), or no longer.
    Admin {
        email: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Turn off a user's one-time codes (a lost phone): the web pages ask for the
    /// password alone. Users turn them on from their own page.
    Totp {
        email: String,
        #[arg(value_parser = ["off"])]
        state: String,
    },
    /// Hold each message the user sends SECONDS (0–30) before it goes, so that it can be
    /// taken back (`postern outbox cancel`, their page, the API); 0: at once.
    UndoSend { email: String, seconds: u32 },
    /// Refuse logins and mail for a user, keeping the mail.
    Disable { email: String },
    /// Undo `disable`.
    Enable { email: String },
    /// Remove a user and all their mail.
    Remove { email: String },
}

#[derive(Args)]
pub struct PasswordInput {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Subcommand)]
enum AliasCommand {
    /// Deliver mail for SOURCE (an address or @domain) to TARGET.
    Add { source: String, target: String },
    /// List aliases, optionally of one domain.
    List {
        #[arg(long)]
        domain: Option<String>,
    },
    /// Remove an alias.
    Remove { source: String, target: String },
    /// Make a disposable alias for USER: a random address in their domain that delivers to
    /// them, counted as it is used, turned off with `alias disable` when it draws spam.
    New {
        user: String,
        /// What it is for ("the shoe shop"), shown in the list.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List USER's disposable aliases: address, on or off, uses, last use, note.
    Disposable { user: String },
    /// Turn off a disposable alias: mail to it is refused for good.
    Disable { address: String },
    /// Turn a disposable alias back on.
    Enable { address: String },
}

#[derive(Subcommand)]
enum ScreenerCommand {
    /// Hold mail from new senders in USER's `Screener` mailbox until they decide.
    On { user: String },
    /// Let all mail through again (what waits stays).
    Off { user: String },
    /// Who waits in USER's Screener, and who was approved or rejected.
    List { user: String },
    /// SENDER's mail to USER goes where USER's filters put it; what waits goes to INBOX.
    Approve { user: String, sender: String },
    /// SENDER's mail to USER goes to Junk; what waits goes there too.
    Reject { user: String, sender: String },
}

#[derive(Subcommand)]
enum VipCommand {
    /// Mark SENDER's mail to USER important.
    Add { user: String, sender: String },
    /// No longer.
    Remove { user: String, sender: String },
    /// List USER's important senders.
    List { user: String },
}

#[derive(Subcommand)]
enum SnoozeCommand {
    /// Snooze USER's message UID (of INBOX, or --mailbox) until UNTIL: a time
    /// (`2026-12-08T09:00Z`) or how long from now (`3h`, `2d`).
    Add {
        user: String,
        uid: u32,
        until: String,
        #[arg(long, default_value = "INBOX")]
        mailbox: String,
    },
    /// USER's snoozed messages, soonest first, by their UID in Snoozed.
    List { user: String },
    /// Wake USER's snoozed message UID now.
    Wake { user: String, uid: u32 },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// What waits to go, soonest first.
    List { user: String },
    /// Cancel message ID of USER's: it never goes.
    Cancel { user: String, id: u64 },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// POST each message to an address, or to anyone in a domain, to URL as JSON, signed
    /// with HMAC-SHA256 under the secret (one is made and shown when not given).
    Add {
        /// Every address of this local domain.
        #[arg(long, conflicts_with = "address", required_unless_present = "address")]
        domain: Option<String>,
        /// This address only (it takes mail even without an account).
        #[arg(long)]
        address: Option<String>,
        /// `https://…` (or `http://…`).
        #[arg(long)]
        url: String,
        #[arg(long)]
        secret: Option<String>,
    },
    /// The webhooks, with their calls waiting, and the webhook-only domains.
    List,
    /// Remove webhook ID, with its calls waiting and its log.
    Remove { id: u64 },
    /// Make webhook ID's waiting calls now, not at their next retry (its receiver is back).
    Retry { id: u64 },
    /// The latest attempts at webhook ID's calls, newest first.
    Log {
        id: u64,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum ShareCommand {
    /// Let SHAREE see OWNER's calendar COLLECTION (its name in the URL, e.g. `default`);
    /// it shows in the sharee's calendars as OWNER:COLLECTION.
    Add {
        owner: String,
        collection: String,
        sharee: String,
        /// An address book rather than a calendar.
        #[arg(long)]
        address_book: bool,
        /// The sharee may read but not change it.
        #[arg(long)]
        read_only: bool,
    },
    /// Stop sharing OWNER's COLLECTION with SHAREE.
    Remove {
        owner: String,
        collection: String,
        sharee: String,
        /// An address book rather than a calendar.
        #[arg(long)]
        address_book: bool,
    },
    /// List who OWNER's calendars and address books are shared with.
    List { owner: String },
}

#[derive(Subcommand)]
enum DkimCommand {
    /// Make signing keys for a local domain; its mail is signed with them at once.
    Generate {
        #[arg(long)]
        domain: String,
        /// The key's name in DNS (default: postern-YYYYMM-ALGORITHM); needs --algorithm
        /// ed25519 or rsa.
        #[arg(long)]
        selector: Option<String>,
        /// Both makes an Ed25519 and an RSA-2048 key: mail gets a signature of each.
        #[arg(long, value_enum, default_value_t = KeyAlgorithm::Both)]
        algorithm: KeyAlgorithm,
    },
    /// Add an existing private key (PEM: PKCS#8, or PKCS#1 as opendkim-genkey writes it).
    Import {
        #[arg(long)]
        domain: String,
        /// The name its public key is published under (SELECTOR._domainkey.DOMAIN).
        #[arg(long)]
        selector: String,
        #[arg(long, value_name = "FILE")]
        key_file: PathBuf,
    },
    /// List keys, optionally of one domain (never their private part).
    List {
        #[arg(long)]
        domain: Option<String>,
    },
    /// Remove a key; mail is no longer signed with it.
    Remove {
        #[arg(long)]
        domain: String,
        #[arg(long)]
        selector: String,
    },
    /// Print the DNS TXT records that publish a domain's keys.
    Dns {
        #[arg(long)]
        domain: String,
    },
}

#[derive(Subcommand)]
enum BanCommand {
    /// List the bans in force, with when they end and why.
    List,
    /// Ban an address or network (192.0.2.7, 2001:db8::/48).
    Add {
        network: String,
        /// For how long ("30m", "12h", "7d"); without it, until lifted.
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// Why, for the list.
        #[arg(long, default_value = "banned by hand")]
        reason: String,
    },
    /// Lift a ban.
    Remove { network: String },
}

#[derive(Subcommand)]
enum SieveCommand {
    /// Check a script (FILE, or - for standard input) and store it for USER; a script of
    /// the same name is replaced.
    Put {
        user: String,
        file: PathBuf,
        /// Its name (default: the file's name without its extension).
        #[arg(long)]
        name: Option<String>,
        /// Make it the script that filters USER's mail.
        #[arg(long)]
        activate: bool,
    },
    /// List USER's scripts, and which one is active.
    List { user: String },
    /// Print one of USER's scripts.
    Show { user: String, name: String },
    /// Make NAME the script that filters USER's mail.
    Activate { user: String, name: String },
    /// Let no script filter USER's mail (the scripts are kept).
    Deactivate { user: String },
    /// Remove one of USER's scripts.
    Remove { user: String, name: String },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token; its secret is printed once and not kept.
    Create {
        /// A token that manages the server (accepted only from [http] admin_networks).
        #[arg(long, conflicts_with = "user", required_unless_present = "user")]
        admin: bool,
        /// A token that reaches this user's own account only.
        #[arg(long, value_name = "EMAIL")]
        user: Option<String>,
        /// What it is for, for the list.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List tokens (their ids, never their secrets).
    List,
    /// Revoke a token by its id (at least its first 6 characters).
    Revoke { id: String },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// List queued messages and where each recipient stands.
    List,
    /// Count what waits: messages, recipients by state, the oldest, the busiest domains.
    Stats,
    /// Show one queued message.
    Show { id: String },
    /// Try a queued message's pending recipients again now.
    Retry { id: String },
    /// Try every pending recipient again now.
    RetryAll,
    /// Remove a message from the queue without sending it.
    Delete { id: String },
}

#[derive(Args)]
struct MaildirArgs {
    email: String,
    /// The Maildir++ root folder.
    #[arg(long, value_name = "DIR")]
    maildir: PathBuf,
}

pub fn run() -> Result<(), String> {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let searched = crate::config::SEARCHED.map(Path::new);
    let env = std::env::var_os("POSTERN_CONFIG");
    let file = Config::locate(cli.config.as_deref(), env.as_deref(), &searched);
    if let Command::Setup(args) = cli.command {
        return setup::run(&file.unwrap_or_else(setup::default_file), args);
    }
    let config = Config::load(file.as_deref(), std::env::vars()).map_err(|e| e.to_string())?;
    let request = match cli.command {
        Command::Serve => return serve::run(config, file),
        Command::Preflight { public_ip, probe } => {
            let options = checks::preflight::Options {
                file: file.as_deref(),
                public: &public_ip,
                probe: &probe,
            };
            return checked(&checks::preflight::run(&config, &options));
        }
        Command::Doctor => return checked(&checks::doctor::run(&config)),
        Command::Restore { src } => return restore(&config, &absolute(&src)?),
        Command::Backup { dest } => {
            let dest = absolute(&dest)?;
            say_data_dir(&config);
            let said = manage(&config, Request::Backup { dest: dest.clone() })?;
            copy_secret(&config.data_dir, &dest)?;
            println!("{said}");
            return Ok(());
        }
        Command::Setup(_) => unreachable!("handled above"),
        Command::Domain(command) => match command {
            DomainCommand::Add { name } => Request::DomainAdd { name },
            DomainCommand::List => Request::DomainList,
            DomainCommand::Remove { name } => Request::DomainRemove { name },
            DomainCommand::Retention { name, keep } => Request::DomainRetention { name, keep },
            DomainCommand::WebhookOnly { name, state } => Request::DomainWebhookOnly {
                name,
                on: state == "on",
            },
        },
        Command::User(command) => match command {
            UserCommand::Add {
                email,
                password,
                quota,
                admin,
            } => Request::UserAdd {
                password: read_password(&password, &email)?,
                email,
                quota: quota.filter(|&q| q > 0),
                admin,
            },
            UserCommand::Totp { email, .. } => Request::UserTotpOff { email },
            UserCommand::Admin { email, state } => Request::UserAdmin {
                email,
                admin: state == "on",
            },
            UserCommand::List { domain } => Request::UserList { domain },
            UserCommand::Passwd { email, password } => Request::UserPasswd {
                password: read_password(&password, &email)?,
                email,
            },
            UserCommand::Quota { email, bytes } => Request::UserQuota {
                email,
                quota: (bytes > 0).then_some(bytes),
            },
            UserCommand::UndoSend { email, seconds } => Request::UndoSend { email, seconds },
            UserCommand::Disable { email } => Request::UserDisable { email },
            UserCommand::Enable { email } => Request::UserEnable { email },
            UserCommand::Remove { email } => Request::UserRemove { email },
        },
        Command::Screener(command) => match command {
            ScreenerCommand::On { user } => Request::Screener { user, on: true },
            ScreenerCommand::Off { user } => Request::Screener { user, on: false },
            ScreenerCommand::List { user } => Request::ScreenerList { user },
            ScreenerCommand::Approve { user, sender } => Request::Judge {
                user,
                sender,
                approve: true,
            },
            ScreenerCommand::Reject { user, sender } => Request::Judge {
                user,
                sender,
                approve: false,
            },
        },
        Command::Vip(command) => match command {
            VipCommand::Add { user, sender } => Request::Vip {
                user,
                sender,
                vip: true,
            },
            VipCommand::Remove { user, sender } => Request::Vip {
                user,
                sender,
                vip: false,
            },
            VipCommand::List { user } => Request::VipList { user },
        },
        Command::Snooze(command) => match command {
            SnoozeCommand::Add {
                user,
                uid,
                until,
                mailbox,
            } => Request::Snooze {
                user,
                mailbox,
                uid,
                until,
            },
            SnoozeCommand::List { user } => Request::SnoozeList { user },
            SnoozeCommand::Wake { user, uid } => Request::SnoozeWake { user, uid },
        },
        Command::Outbox(command) => match command {
            OutboxCommand::List { user } => Request::Outbox { user },
            OutboxCommand::Cancel { user, id } => Request::OutboxCancel { user, id },
        },
        Command::Webhook(command) => match command {
            WebhookCommand::Add {
                domain,
                address,
                url,
                secret,
            } => Request::WebhookAdd {
                scope: match (domain, address) {
                    (Some(domain), _) => format!("@{domain}"),
                    (None, address) => address.unwrap_or_default(),
                },
                url,
                secret: Secret(secret.unwrap_or_default()),
            },
            WebhookCommand::List => Request::WebhookList,
            WebhookCommand::Remove { id } => Request::WebhookRemove { id },
            WebhookCommand::Retry { id } => Request::WebhookRetry { id },
            WebhookCommand::Log { id, limit } => Request::WebhookLog { id, limit },
        },
        Command::Alias(command) => match command {
            AliasCommand::Add { source, target } => Request::AliasAdd { source, target },
            AliasCommand::List { domain } => Request::AliasList { domain },
            AliasCommand::Remove { source, target } => Request::AliasRemove { source, target },
            AliasCommand::New { user, note } => Request::DisposableNew { user, note },
            AliasCommand::Disposable { user } => Request::DisposableList { user },
            AliasCommand::Disable { address } => Request::DisposableEnable {
                address,
                enabled: false,
            },
            AliasCommand::Enable { address } => Request::DisposableEnable {
                address,
                enabled: true,
            },
        },
        Command::Share(command) => match command {
            ShareCommand::Add {
                owner,
                collection,
                sharee,
                address_book,
                read_only,
            } => Request::Share {
                owner,
                collection,
                address_book,
                sharee,
                access: Some(if read_only {
                    ShareAccess::Read
                } else {
                    ShareAccess::ReadWrite
                }),
            },
            ShareCommand::Remove {
                owner,
                collection,
                sharee,
                address_book,
            } => Request::Share {
                owner,
                collection,
                address_book,
                sharee,
                access: None,
            },
            ShareCommand::List { owner } => Request::ShareList { owner },
        },
        Command::Dkim(command) => Request::Dkim(match command {
            DkimCommand::Generate {
                domain,
                selector,
                algorithm,
            } => DkimRequest::Generate {
                domain,
                selector,
                algorithm,
            },
            DkimCommand::Import {
                domain,
                selector,
                key_file,
            } => DkimRequest::Import {
                domain,
                selector,
                pem: Secret(
                    std::fs::read_to_string(&key_file)
                        .map_err(|e| format!("cannot read {}: {e}", key_file.display()))?,
                ),
            },
            DkimCommand::List { domain } => DkimRequest::List { domain },
            DkimCommand::Remove { domain, selector } => DkimRequest::Remove { domain, selector },
            DkimCommand::Dns { domain } => DkimRequest::Dns { domain },
        }),
        Command::Queue(command) => Request::Queue(match command {
            QueueCommand::List => QueueRequest::List,
            QueueCommand::Stats => QueueRequest::Stats,
            QueueCommand::Show { id } => QueueRequest::Show { id },
            QueueCommand::Retry { id } => QueueRequest::Retry { id: Some(id) },
            QueueCommand::RetryAll => QueueRequest::Retry { id: None },
            QueueCommand::Delete { id } => QueueRequest::Delete { id },
        }),
        Command::Ban(command) => Request::Ban(match command {
            BanCommand::List => BanRequest::List,
            BanCommand::Add {
                network,
                duration,
                reason,
            } => BanRequest::Add {
                network,
                seconds: duration
                    .map(|text| {
                        crate::config::Span::try_from(text)
                            .map(|span| i64::try_from(span.0.as_secs()).unwrap_or(i64::MAX))
                    })
                    .transpose()?,
                reason,
            },
            BanCommand::Remove { network } => BanRequest::Remove { network },
        }),
        Command::Token(command) => Request::Token(match command {
            TokenCommand::Create { user, note, .. } => TokenRequest::Create { user, note },
            TokenCommand::List => TokenRequest::List,
            TokenCommand::Revoke { id } => TokenRequest::Revoke { id },
        }),
        Command::Sieve(command) => Request::Sieve(match command {
            SieveCommand::Put {
                user,
                file,
                name,
                activate,
            } => SieveRequest::Put {
                name: match name {
                    Some(name) => name,
                    None if file.as_os_str() == "-" => "main".to_string(),
                    None => file
                        .file_stem()
                        .map_or("main".to_string(), |s| s.to_string_lossy().into_owned()),
                },
                source: read_script(&file)?,
                user,
                activate,
            },
            SieveCommand::List { user } => SieveRequest::List { user },
            SieveCommand::Show { user, name } => SieveRequest::Show { user, name },
            SieveCommand::Activate { user, name } => SieveRequest::Activate {
                user,
                name: Some(name),
            },
            SieveCommand::Deactivate { user } => SieveRequest::Activate { user, name: None },
            SieveCommand::Remove { user, name } => SieveRequest::Remove { user, name },
        }),
        Command::Dns {
            domain,
            check,
            format,
        } => Request::Dns {
            domain,
            check,
            format,
        },
        Command::Audit { since, user, json } => Request::Audit {
            since: since_time(&since)?,
            user,
            json,
        },
        Command::Export(args) => Request::Export {
            email: args.email,
            dir: absolute(&args.maildir)?,
        },
        Command::Import(args) => Request::Import {
            email: args.email,
            dir: absolute(&args.maildir)?,
        },
    };
    say_data_dir(&config);
    let text = manage(&config, request)?;
    print!("{text}");
    if !text.is_empty() && !text.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// The file beside the store a backup carries too: the key of the addresses SRS rewrote
/// senders to, so that bounces to them still find their way back after a restore.
const SRS_KEY: &str = "srs.key";

fn copy_secret(from: &Path, to: &Path) -> Result<(), String> {
    let (source, target) = (from.join(SRS_KEY), to.join(SRS_KEY));
    if !source.exists() {
        return Ok(());
    }
    std::fs::copy(&source, &target)
        .map(drop)
        .map_err(|e| format!("cannot copy {}: {e}", source.display()))
}

/// `postern restore`: the backup into the data directory, checked.
fn restore(config: &Config, src: &Path) -> Result<(), String> {
    let dir = &config.data_dir;
    let restored =
        store_redb::RedbStore::restore(src, dir).map_err(|e| format!("not restored: {e}"))?;
    copy_secret(src, dir)?;
    println!(
        "restored {} message bodies ({}) into {}, each read back and checked; start the server",
        restored.bodies,
        engine::units::size(restored.bytes),
        dir.display()
    );
    Ok(())
}

/// Says which data a management command acts on, so that one run with the wrong
/// configuration is noticed; on standard error, as the log is, so that standard output
/// stays the command's answer.
fn say_data_dir(config: &Config) {
    let dir = &config.data_dir;
    eprintln!(
        "data directory: {}",
        std::path::absolute(dir)
            .unwrap_or_else(|_| dir.clone())
            .display()
    );
}

/// Prints a report; its failures make the command fail.
fn checked(report: &checks::Report) -> Result<(), String> {
    print!("{}", report.text());
    match report.failures() {
        0 => Ok(()),
        1 => Err("1 check failed".into()),
        n => Err(format!("{n} checks failed")),
    }
}

/// Runs a management request on the running server, or on the data directory directly
/// when none runs there. Never makes a data directory: a command pointed at the wrong
/// place says so rather than working on an empty new one.
pub(crate) fn manage(config: &Config, request: Request) -> Result<String, String> {
    let dir = &config.data_dir;
    let mut progress = Progress::default();
    let mut show = |done, total| progress.show(done, total);
    if let Some(reply) = control::send(dir, &request, &mut show)? {
        return if reply.ok {
            Ok(reply.text)
        } else {
            Err(reply.text)
        };
    }
    if !store_redb::RedbStore::holds_data(dir) {
        return Err(format!(
            "no Postern data in {}: start the server there once (postern serve) or run \
             postern setup; or name the right configuration with --config or POSTERN_CONFIG",
            std::path::absolute(dir)
                .unwrap_or_else(|_| dir.clone())
                .display()
        ));
    }
    let store = crate::serve::open_store(config)?;
    let mut engine = Engine::new(store, config.hostname.clone());
    engine.set_password_rules(config.security.password_rules());
    engine.set_web(engine::web::WebConfig {
        endpoints: config.listen.endpoints(),
        ..config.http.engine_config()
    });
    if let Some(queue) = crate::serve::shared_queue(config)? {
        engine.set_shared_queue(Arc::new(queue));
    }
    admin::execute(&Arc::new(engine), None, request, &mut show)
}

/// How far a long command is, redrawn on one line of a terminal's standard error at most
/// ten times a second; nothing when standard error is not a terminal.
#[derive(Default)]
struct Progress {
    shown: Option<std::time::Instant>,
}

impl Progress {
    fn show(&mut self, done: u64, total: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let now = std::time::Instant::now();
        let due = self
            .shown
            .is_none_or(|at| now.duration_since(at).as_millis() >= 100);
        if due || done == total {
            self.shown = Some(now);
            eprint!("\r{done} of {total}");
            if done == total {
                eprintln!();
            }
        }
    }
}

pub(crate) fn read_password(input: &PasswordInput, email: &str) -> Result<String, String> {
    let stdin = std::io::stdin();
    if input.password_stdin {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if !stdin.is_terminal() {
        return Err("no terminal to ask for the password: use --password-stdin".into());
    }
    let first = prompt_hidden(&format!("Password for {email}: "))?;
    let second = prompt_hidden("Repeat it: ")?;
    if first != second {
        return Err("the two passwords differ".into());
    }
    Ok(first)
}

/// A Sieve script from `file`, or from standard input for `-`; a little past the largest
/// script taken is read, so that one too large is refused for its size, not cut.
fn read_script(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let limit = proto_sieve::MAX_SCRIPT as u64 + 1;
    let mut source = String::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().take(limit).read_to_string(&mut source)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(limit).read_to_string(&mut source))
    };
    read.map_err(|e| format!("cannot read the script {}: {e}", file.display()))?;
    Ok(source)
}

/// Asks on the terminal with echo off (via stty, restored afterwards).
fn prompt_hidden(prompt: &str) -> Result<String, String> {
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
    };
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let _ = stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    let _ = stty("echo");
    eprintln!();
    read.map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// The Unix time `--since` names: a length of time back from now, or a day (UTC).
fn since_time(text: &str) -> Result<i64, String> {
    if let Ok(span) = crate::config::Span::try_from(text.to_string()) {
        let back = i64::try_from(span.0.as_secs()).unwrap_or(i64::MAX);
        return Ok(engine::mail::date::unix_now().saturating_sub(back));
    }
    let day: Vec<i64> = text.split('-').filter_map(|n| n.parse().ok()).collect();
    match day.as_slice() {
        [year, month @ 1..=12, day @ 1..=31] if text.len() == 10 => {
            Ok(engine::mail::date::days_from_civil(*year, *month, *day) * 86_400)
        }
        _ => Err(format!(
            "--since {text:?}: give a length of time (\"24h\", \"7d\") or a day (2026-12-01)"
        )),
    }
}

fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// What is logged without `POSTERN_LOG`: everything at INFO and above, rustls's errors.
fn default_log_filter() -> tracing_subscriber::filter::Targets {
    use tracing::level_filters::LevelFilter;
    tracing_subscriber::filter::Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("rustls", LevelFilter::ERROR)
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    // `POSTERN_LOG=debug`, or per module: `info,engine::queue=debug`. (Targets, not
    // EnvFilter: the same syntax for levels and modules, without a regex engine.) By
    // default rustls says only its errors: its warnings are about what the other side sent
    // (an IP address as the SNI name, from every connection of some clients), a line per
    // connection that any client could make. `POSTERN_LOG=info,rustls=debug` shows them.
    let filter = std::env::var("POSTERN_LOG")
        .ok()
        .and_then(|text| text.parse::<tracing_subscriber::filter::Targets>().ok())
        .unwrap_or_else(default_log_filter);
    let registry = tracing_subscriber::registry().with(filter);
    // Colours only for a person at a terminal: a journal or a log file gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => registry.with(layer).init(),
        LogFormat::Json => registry.with(layer.json()).init(),
    }
    // A panic is a bug, and where it happened matters: one log line in the log's own
    // format, not a message on standard error between the log lines. The session it
    // happened in ends (engine::listener::serve); the server goes on.
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = engine::listener::panic_message(info.payload());
        tracing::error!(location, message, "internal error (panic)");
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn rustls_warnings_about_peers_are_not_logged_by_default() {
        use tracing::Level;
        let filter = default_log_filter();
        assert!(!filter.would_enable("rustls::msgs::handshake", &Level::WARN));
        assert!(filter.would_enable("rustls::conn", &Level::ERROR));
        assert!(filter.would_enable("engine::smtp", &Level::INFO));
        assert!(!filter.would_enable("engine::smtp", &Level::DEBUG));
    }
}
