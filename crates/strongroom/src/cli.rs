//! Command-line syntax (clap). Only shapes and names here; meaning lives in `admin` and
//! `settings`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use service::gate::network::IpNet;

#[derive(Parser)]
#[command(
    name = "strongroom",
    version,
    about = "Strongroom secure managed file-transfer server"
)]
pub struct Cli {
    /// Data directory: catalog, blobs, host keys.
    #[arg(
        long,
        global = true,
        env = "STRONGROOM_DATA_DIR",
        default_value = "./strongroom-data"
    )]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (creates the catalog and host keys on first start).
    Serve(ServeArgs),
    /// Manage tenants (client institutions).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// The master key that wraps every tenant key.
    #[command(subcommand)]
    Master(MasterCommand),
    /// Retention: delete expired files.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The defender's bans of source addresses.
    #[command(subcommand)]
    Ban(BanCommand),
    /// The tamper-evident audit ledger.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Live sessions of the running server: list them, close them at once.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Alerts raised by detection.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Canary files: decoys whose opening, renaming or removal is critical.
    #[command(subcommand)]
    Canary(CanaryCommand),
    /// Detection rules: their thresholds, overrides, and replay over a history.
    #[command(subcommand)]
    Detect(DetectCommand),
    /// Stored files as administrators see them (with what classification found).
    #[command(subcommand)]
    File(FileCommand),
    /// Classification of stored files: card numbers, IBANs and other data classes; bank formats.
    #[command(subcommand)]
    Classify(ClassifyCommand),
    /// What a credential, an address or a session read and changed, per tenant and file.
    #[command(subcommand)]
    Incident(IncidentCommand),
}

#[derive(Subcommand)]
pub enum AlertCommand {
    /// Alerts, oldest first.
    List {
        /// RFC 3339, or a duration back from now (e.g. 24h).
        #[arg(long)]
        since: Option<String>,
        /// low, medium, high or critical (and everything above it).
        #[arg(long)]
        severity: Option<String>,
        /// Only the alerts about this account.
        #[arg(long)]
        user: Option<String>,
        /// Only the alerts a destination (webhook, e-mail) has not been sent: waiting, or
        /// given up.
        #[arg(long)]
        undelivered: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// One alert in full.
    Show {
        /// The alert's id, as `alert list` shows it.
        id: String,
        #[arg(long, value_enum, default_value = "table")]
        format: ShowFormat,
    },
    /// Acknowledge an alert (with a note, recorded).
    Ack {
        /// The alert's id, as `alert list` shows it.
        id: String,
        /// What was found and done (recorded in the audit ledger with the acknowledgement).
        #[arg(long)]
        note: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ShowFormat {
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum CanaryCommand {
    /// Place a decoy file in a tenant: a plausible customer extract, listed like any other
    /// file, never expired, not counted against quotas.
    Add {
        /// The tenant (client institution), by name.
        tenant: String,
        /// Where the decoy goes, e.g. /exports/customers_full.csv.
        path: String,
    },
    /// Every canary (of one tenant).
    List {
        /// Only this tenant's.
        tenant: Option<String>,
    },
    /// Remove a canary (the file with it).
    Remove {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The canary's path.
        path: String,
    },
}

#[derive(Subcommand)]
pub enum FileCommand {
    /// A directory's entries with each file's size and data classes.
    List {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The directory, from the tenant's root.
        #[arg(default_value = "/")]
        dir: String,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// A file's id, size, times and data classes.
    Show {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The file's path, from the tenant's root.
        path: String,
        #[arg(long, value_enum, default_value = "table")]
        format: ShowFormat,
    },
}

#[derive(Subcommand)]
pub enum ClassifyCommand {
    /// Classify stored files that have no classification yet (files stored before
    /// classification existed, or whose upload could not be scanned as it arrived) or were
    /// classified under earlier rules (a server upgrade that finds more: run it after one).
    Run {
        /// Only this tenant's files (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
        /// Classify every file again, classified or not.
        #[arg(long)]
        again: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// A tenant's own patterns (e.g. its customer reference format), counted like the
    /// built-in classes.
    #[command(subcommand)]
    Pattern(PatternCommand),
}

#[derive(Subcommand)]
pub enum PatternCommand {
    /// Add a pattern: a name (a-z, 0-9, _ and -) and a regular expression.
    Add {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The pattern's name, as reports show its counts.
        name: String,
        /// The regular expression (Rust `regex` syntax: no look-around or backreferences, so
        /// that matching stays linear), e.g. `CUST-[0-9]{8}`.
        regex: String,
    },
    /// A tenant's patterns.
    List {
        /// The tenant (client institution), by name.
        tenant: String,
    },
    /// Remove a pattern.
    Remove {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The pattern's name.
        name: String,
    },
}

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// The report of one selection: its sessions, every file it read (path then and now,
    /// bytes, whole or partial, data classes), what it changed, totals per tenant and class.
    ///
    /// Select by one criterion or several: each may be given more than once (any of its
    /// values), and criteria of different kinds must all hold: `--user bob --ip
    /// 203.0.113.0/24` is what bob's account did from that network, not what the real bob did
    /// from the office.
    #[command(group(clap::ArgGroup::new("selection").required(true).multiple(true)))]
    Report {
        /// An account's sessions (the name as logged in, or as tried at a refused login).
        #[arg(long, group = "selection")]
        user: Vec<String>,
        /// Sessions from a source address, or a network (203.0.113.0/24, 2001:db8:1:2::/64).
        #[arg(long, group = "selection", value_parser = address_or_network)]
        ip: Vec<IpNet>,
        /// A session by its id (as `session list`, alerts and the ledger give it).
        #[arg(long, group = "selection")]
        session: Vec<String>,
        /// A key's fingerprint (`SHA256:…`) or a certificate's key id: the sessions it opened.
        #[arg(long, group = "selection")]
        key: Vec<String>,
        /// An alert's id: the sessions it names (else its account's, else its address's).
        #[arg(long, group = "selection")]
        alert: Vec<String>,
        /// Leave out sessions from this address or network, whatever else selects them (the
        /// account owner's office: `--user ops --except-ip 198.51.100.0/24`).
        #[arg(long, value_parser = address_or_network)]
        except_ip: Vec<IpNet>,
        /// Only what the selection did in this tenant (client institution): its part of the
        /// report, to give to it without other tenants' files, accounts or totals
        /// (`--ip 203.0.113.7 --tenant acme`).
        #[arg(long)]
        tenant: Vec<String>,
        /// RFC 3339 time (inclusive).
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 time (exclusive).
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_enum, default_value = "json")]
        format: ReportFormat,
        /// Write the report here (owner-only) instead of to standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Also verify the ledger chain over the report's records, between the signed
        /// checkpoints around them, and say so in the evidence (`audit verify`: the whole chain).
        #[arg(long)]
        verify: bool,
        /// Also write an evidence file here (owner-only): the report with the ledger records it
        /// rests on, their keys and their proofs under the signed checkpoints, which `incident
        /// check` verifies without this server, and every record of the report's accounts
        /// within its window (the selection's, or those it found), sealed where not the
        /// report's, to show none was left out. It holds nothing of other accounts' records
        /// (for records under checkpoints signed before 2026-12-06: their intervals' indexed
        /// fields).
        #[arg(long)]
        evidence: Option<std::path::PathBuf>,
    },
    /// Check an evidence file (`incident report --evidence`) without the server or its data:
    /// its records against the ledger's signed checkpoints, and the report against its records.
    /// Exit 0 when it holds, 1 naming what does not.
    Check {
        /// The evidence file.
        file: std::path::PathBuf,
        /// The ledger's public key (hex), as `audit head` printed it and you kept it apart.
        #[arg(long)]
        public_key: String,
        /// `json`: one object (holds, the counts, what broke, what differs), for a script.
        #[arg(long, value_enum, default_value = "table")]
        format: ShowFormat,
        /// A report file written with the evidence (`--out`, in any `--format`): it holds only
        /// when the file is the evidence's report, byte for byte, in its JSON, CSV or HTML form.
        #[arg(long, value_name = "FILE")]
        report: Option<std::path::PathBuf>,
    },
    /// Every account and session that read a file (followed through renames), with bytes and
    /// times: the file at PATH now (where none is, the files the ledger shows there before), or
    /// the file with an id the incident report listed (--id), deleted or not.
    File {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The file's path now (or, where none is, the files the ledger shows there before).
        #[arg(required_unless_present = "id", conflicts_with = "id")]
        path: Option<String>,
        /// The file's id, as the incident report lists it (deleted files too).
        #[arg(long)]
        id: Option<i64>,
        /// Every file that has been at PATH, not only the one there now: those removed or
        /// renamed away since (a path a daily upload replaces), each with its readers.
        #[arg(long)]
        every_file: bool,
        /// RFC 3339 time (inclusive).
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 time (exclusive).
        #[arg(long)]
        until: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Json,
    Csv,
    /// One self-contained page with the tables and a timeline.
    Html,
}

#[derive(Subcommand)]
pub enum DetectCommand {
    /// The rules and the thresholds in force (for one account: with its overrides).
    Rules {
        /// With this account's overrides (and its tenant's).
        #[arg(long)]
        user: Option<String>,
        /// With this tenant's overrides.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Override thresholds for a tenant or an account (`--set name=value`, repeatable;
    /// `--clear` removes the override).
    Override {
        /// Override for every account of this tenant.
        #[arg(long, conflicts_with = "user", required_unless_present = "user")]
        tenant: Option<String>,
        /// Override for this account alone.
        #[arg(long)]
        user: Option<String>,
        /// A threshold and its value, as `detect rules` names them (e.g. hour_files=20000).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Remove the override: the defaults (or the tenant's) apply again.
        #[arg(long)]
        clear: bool,
    },
    /// Write synthetic traffic (ledger records in the export schema) for testing the rules over
    /// simulated weeks: batch uploads, partners collecting, people, onboarding, month ends.
    Simulate {
        /// Days of traffic.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Accounts simulated.
        #[arg(long, default_value_t = 200)]
        accounts: usize,
        /// Seed of the pseudo-random traffic (the same seed writes the same records).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Mix in an attack: `low-and-slow` (on day 20, or the last day of shorter runs).
        #[arg(long)]
        attack: Option<String>,
    },
    /// Run the rules over ledger records (the `audit export --format jsonl` schema) in their
    /// recorded order and print the alerts they would raise, as JSON lines; takes no action.
    Replay {
        /// A file of records, or `-` for standard input.
        file: Option<std::path::PathBuf>,
        /// Hunt this server's own ledger instead.
        #[arg(long, conflicts_with = "file")]
        ledger: bool,
        /// With --ledger: from this time (RFC 3339, or a duration back from now).
        #[arg(long, requires = "ledger")]
        since: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Jsonl,
}

#[derive(Subcommand)]
pub enum SessionCommand {
    /// Every live session: id, account, tenant, source, client, credential, start, bytes read
    /// and written so far, files open.
    List {
        /// Only this account's sessions.
        #[arg(long)]
        user: Option<String>,
        /// Only this tenant's sessions.
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Close sessions at once, mid-transfer included (an upload in progress is discarded):
    /// one by its id, or every session of an account, a source address or a credential.
    Kill {
        /// The session's id, as `session list` shows it.
        id: Option<String>,
        /// Every session of this account.
        #[arg(long)]
        user: Option<String>,
        /// A source address or network.
        #[arg(long, value_parser = address_or_network)]
        ip: Option<IpNet>,
        /// Every session a key (its `SHA256:` fingerprint) or a certificate (its key id)
        /// opened, as `session list` shows it.
        #[arg(long)]
        key: Option<String>,
    },
}

/// An address or a network, canonical (`service::gate::network::one`).
fn address_or_network(text: &str) -> Result<IpNet, String> {
    service::gate::network::one(text)
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the whole chain and its signed checkpoints; exit 1 naming the first bad record.
    Verify,
    /// Print the latest signed checkpoint (to anchor it outside this host).
    Head,
    /// Begin a new ledger after the data directory's was lost for good (the server refuses to
    /// start without it); refused while the ledger holds a signed checkpoint.
    NewLedger {
        /// Why (recorded as the new ledger's first record).
        #[arg(long)]
        reason: String,
    },
    /// Accept the ledger as it is where it is behind the catalog's record of it (an older copy
    /// restored on purpose; the server refuses to start on it otherwise); refused where it is
    /// not behind.
    AcceptRollback {
        /// Why (recorded in the ledger with the command).
        #[arg(long)]
        reason: String,
    },
    /// How far each SIEM destination (`[forward]`) has been sent the ledger: the last record
    /// handed to it and how many the ledger holds beyond.
    Forwarding {
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Export records, oldest first.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormat,
        /// RFC 3339 time (inclusive).
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 time (exclusive).
        #[arg(long)]
        until: Option<String>,
        /// Records of this account.
        #[arg(long)]
        user: Option<String>,
        /// Records of this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Source address, or a network (203.0.113.0/24, 2001:db8:1:2::/64).
        #[arg(long, value_parser = address_or_network)]
        ip: Option<IpNet>,
        /// Records of this session (its id, as reports and `session list` show it).
        #[arg(long)]
        session: Option<String>,
        /// Records of one kind only (session, file, auth, alert, admin, ...).
        #[arg(long)]
        kind: Option<String>,
        /// Records naming this path of the tenant (`--tenant`): every operation on it, refused
        /// ones too, and renames to it; whichever file was there.
        #[arg(long, requires = "tenant", conflicts_with = "ip")]
        path: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum BanCommand {
    /// List active bans.
    List,
    /// Ban an address or a network (203.0.113.0/24) now (new connections refused within 2
    /// seconds) and close its live sessions at once.
    Add {
        /// An address (203.0.113.7) or a network (203.0.113.0/24).
        #[arg(value_parser = address_or_network)]
        address: IpNet,
        /// How long (e.g. 1h, 7d); default 1 day.
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// Why (recorded with the ban and in the audit ledger).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift the ban of an address or network (takes effect within seconds).
    Remove {
        /// The address or network, as `ban list` shows it.
        #[arg(value_parser = address_or_network)]
        address: IpNet,
    },
}

#[derive(Subcommand)]
pub enum CaCommand {
    /// Trust an OpenSSH CA public key for the tenant's user certificates.
    Add {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The CA's public key file (e.g. ca.pub).
        file: PathBuf,
    },
    /// List the tenant's trusted CAs and revocations.
    List {
        /// The tenant (client institution), by name.
        tenant: String,
    },
    /// Stop trusting a CA (by its SHA256 fingerprint).
    Remove {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The CA key's fingerprint (SHA256:…, as `tenant ca list` shows it).
        fingerprint: String,
    },
    /// Revoke certificates by key id (-I of ssh-keygen) or by the certified key's fingerprint.
    Revoke {
        /// The tenant (client institution), by name.
        tenant: String,
        /// The certificates' key id (`ssh-keygen -I`).
        #[arg(
            long,
            conflicts_with = "fingerprint",
            required_unless_present = "fingerprint"
        )]
        key_id: Option<String>,
        /// The certified key's fingerprint (SHA256:…).
        #[arg(long)]
        fingerprint: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum MasterCommand {
    /// Re-wrap every tenant key under a new master key, then replace the key file.
    Rotate,
}

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Delete every file whose retention has run out (the server also does this on its own).
    Run {
        /// Judge expiry as of this time (RFC 3339) instead of now.
        #[arg(long)]
        now: Option<String>,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    /// SFTP listen address (default 127.0.0.1:2222, or `sftp.listen` in the config file).
    #[arg(long)]
    pub sftp_listen: Option<SocketAddr>,
    /// TOML config file (default: <data-dir>/strongroom.toml if it exists).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (with its own key; files expire after 30 days unless set otherwise).
    Add {
        /// The tenant's name: 1-64 of a-z, 0-9, '.', '_' and '-'.
        name: String,
    },
    /// List tenants.
    List,
    /// Show a tenant's settings, usage and key version.
    Show {
        /// The tenant's name.
        name: String,
    },
    /// Change retention or quotas, for the tenant or (with --folder) for a folder and below.
    Set {
        /// The tenant's name.
        name: String,
        /// A folder of the tenant (retention only), e.g. /inbox.
        #[arg(long)]
        folder: Option<String>,
        /// Files expire this long after upload: e.g. 30d, 12h, or off.
        #[arg(long)]
        retention: Option<String>,
        /// Files expire this long after their first complete download: e.g. 24h, 0h (a file
        /// goes with its first complete download), or off.
        #[arg(long)]
        retention_after_download: Option<String>,
        /// Storage quota in bytes: e.g. 10G, 500M, or off.
        #[arg(long)]
        quota_bytes: Option<String>,
        /// Quota on the number of files, or off.
        #[arg(long)]
        quota_files: Option<String>,
    },
    /// Open every sealed value of the tenant (names, data keys, data classes, TOTP secrets)
    /// and list those that do not open (damaged on disk or altered); exit 1 if any. Reads only.
    Check {
        /// The tenant's name (every tenant's when not given).
        name: Option<String>,
        /// Read every file's contents too, as a download would (every sealed chunk opened):
        /// as long as reading the tenant's bytes takes.
        #[arg(long)]
        contents: bool,
        /// With --contents: read at most this many MiB a second (each file counted as at least
        /// 16 KiB), to spare a disk the server's clients use; unpaced when not given.
        #[arg(long, value_name = "MIB_PER_S", requires = "contents",
              value_parser = clap::value_parser!(u64).range(1..=10_240))]
        pace: Option<u64>,
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Repair what `tenant check` finds where nothing that opens is lost: a name that does not
    /// open becomes damaged-ID (contents kept), data classes that do not open are cleared (to
    /// be classified again), a class history row that does not open is removed. Data keys and
    /// TOTP secrets that do not open are listed with what to do; exit 1 while any is left.
    Repair {
        /// The tenant's name.
        name: String,
        /// Why (recorded in the audit ledger with the command).
        #[arg(long)]
        reason: String,
    },
    /// Replace the tenant key (names and file keys re-wrapped; contents not rewritten).
    RotateKey {
        /// The tenant's name.
        name: String,
    },
    /// Certificate authorities the tenant trusts, and revocations.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Login policy of the whole tenant: second-factor minimum and allowed networks.
    Policy {
        /// The tenant's name.
        name: String,
        /// Every non-automation account must use a second factor: yes or no.
        #[arg(long)]
        require_mfa: Option<String>,
        /// Comma-separated networks logins may come from (e.g. 10.0.0.0/8,192.0.2.7), or any.
        #[arg(long)]
        networks: Option<String>,
    },
    /// Delete a tenant: its key, accounts, catalog rows and blobs (crypto-shredding).
    Remove {
        /// The tenant's name.
        name: String,
        /// Required: confirms that the tenant's files are destroyed.
        #[arg(long)]
        shred: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AccessArg {
    Full,
    ReadOnly,
    UploadOnly,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account in a tenant.
    Add {
        /// The account's name, its SSH login name (unique across tenants): 1-64 of a-z, 0-9,
        /// '.', '_' and '-'.
        name: String,
        /// The tenant it belongs to.
        #[arg(long)]
        tenant: String,
        /// OpenSSH public key file (e.g. id_ed25519.pub).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Read a password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// What the account may do in the tenant's space.
        #[arg(long, value_enum, default_value = "full")]
        access: AccessArg,
    },
    /// List accounts.
    List {
        /// Only this tenant's accounts.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show one account and its keys.
    Show {
        /// The account's name (its SSH login name).
        name: String,
    },
    /// Refuse all logins of an account until unlocked, and close its live sessions at once.
    Lock {
        /// The account's name (its SSH login name).
        name: String,
        /// Why (recorded in the audit ledger with the command).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Allow the account's logins again (an administrator's decision after an alert: the
    /// reason is required and recorded).
    Unlock {
        /// The account's name (its SSH login name).
        name: String,
        /// Why it is safe again (recorded in the audit ledger with the command).
        #[arg(long)]
        reason: String,
    },
    /// Cap the account's combined read and write rate (e.g. 1M = 1 MiB/s), on its live
    /// sessions at once and on new ones; `off` lifts it.
    Throttle {
        /// The account's name (its SSH login name).
        name: String,
        /// Bytes per second with an optional K, M or G suffix, or `off`.
        rate: String,
    },
    /// Delete an account and its keys (the tenant's files stay).
    Remove {
        /// The account's name (its SSH login name).
        name: String,
    },
    /// Manage an account's public keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Enrol TOTP (prints the otpauth URI, secret, QR code and recovery codes once) and
    /// require it from then on.
    Mfa {
        /// The account's name (its SSH login name).
        name: String,
    },
    /// Change an account's login policy.
    Set {
        /// The account's name (its SSH login name).
        name: String,
        /// First factors allowed, comma-separated: publickey, certificate, password.
        #[arg(long)]
        methods: Option<String>,
        /// A machine account (no password; exempt from the tenant's MFA minimum): yes or no.
        #[arg(long)]
        automation: Option<String>,
        /// Comma-separated networks this account may log in from, or any.
        #[arg(long)]
        networks: Option<String>,
        /// The password stops working at this date (YYYY-MM-DD or RFC 3339), or never.
        #[arg(long)]
        password_expires: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Add an OpenSSH public key file to an account.
    Add {
        /// The account's name (its SSH login name).
        name: String,
        /// The OpenSSH public key file (e.g. id_ed25519.pub).
        file: PathBuf,
        /// The key stops working at this date (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List an account's keys.
    List {
        /// The account's name (its SSH login name).
        name: String,
    },
    /// Remove a key by its SHA256 fingerprint (as `user key list` shows it).
    Remove {
        /// The account's name (its SSH login name).
        name: String,
        /// The key's fingerprint (SHA256:…).
        fingerprint: String,
    },
}

// Which commands change the data directory, said once here for every command: the others open
// it read-only (`service::admin::Admin::open_read_only`), so that one that only looks creates,
// migrates and changes nothing (an investigator's copy, a mistyped --data-dir, a directory
// another build serves). Every dispatcher opens by its command's `changes`.

impl Command {
    /// Whether it changes something: tenants, accounts, keys, files, bans, alerts, canaries,
    /// detection's overrides, data classes' patterns, the ledger, a live session, or (an
    /// incident's evidence file) signs a checkpoint. The others only read.
    pub fn changes(&self) -> bool {
        use Command as C;
        match self {
            C::Serve(_) | C::Master(_) | C::Retention(_) => true,
            C::Audit(a) => matches!(
                a,
                AuditCommand::NewLedger { .. } | AuditCommand::AcceptRollback { .. }
            ),
            C::Tenant(t) => t.changes(),
            C::User(u) => u.changes(),
            C::Ban(b) => b.changes(),
            C::Session(s) => s.changes(),
            C::Alert(a) => a.changes(),
            C::Canary(c) => c.changes(),
            C::Detect(d) => d.changes(),
            C::File(f) => f.changes(),
            C::Classify(c) => c.changes(),
            C::Incident(i) => i.changes(),
        }
    }

    /// Whether this tool puts its run on the ledger's record: every change, and who read a
    /// file's facts and classes, made an incident report or read a tenant's files to check
    /// them. Not the commands that show what the catalog or the running server holds of
    /// accounts, alerts and keys, nor the server (whose runs record themselves).
    pub fn recorded(&self) -> bool {
        use Command as C;
        match self {
            C::Serve(_) => false,
            C::File(_) | C::Classify(_) | C::Tenant(TenantCommand::Check { .. }) => true,
            C::Incident(i) => !matches!(i, IncidentCommand::Check { .. }),
            _ => self.changes(),
        }
    }

    /// Whether its record is written before it runs as well as when it ends (`begun`, then how
    /// it ended): every change but the ledger's own mending (`audit new-ledger`,
    /// `audit accept-rollback`: the ledger they mend takes no record before them) and an
    /// incident's evidence checkpoint (a report, not a change to what the server holds). A
    /// change cut short by kill -9 or a power loss, after its catalog's commit and before its
    /// record, is then on the record all the same.
    pub fn recorded_before(&self) -> bool {
        use Command as C;
        self.changes() && !matches!(self, C::Serve(_) | C::Audit(_) | C::Incident(_))
    }

    /// Whether it contains an account or an address (takes access away, and nothing else): a
    /// ban, a lock, a key removed, a certificate authority's key revoked, a session ended. Made
    /// even where the ledger cannot record its beginning and the configuration refuses other
    /// changes so (`[audit] unrecorded_changes = "refuse"`): containment comes first.
    pub fn contains(&self) -> bool {
        use Command as C;
        matches!(
            self,
            C::Ban(BanCommand::Add { .. })
                | C::User(UserCommand::Lock { .. })
                | C::User(UserCommand::Key(KeyCommand::Remove { .. }))
                | C::Tenant(TenantCommand::Ca(CaCommand::Revoke { .. }))
                | C::Session(SessionCommand::Kill { .. })
        )
    }
}

impl TenantCommand {
    /// Whether it changes the data directory (else it opens it read-only).
    pub fn changes(&self) -> bool {
        !matches!(
            self,
            TenantCommand::List
                | TenantCommand::Show { .. }
                | TenantCommand::Check { .. }
                | TenantCommand::Ca(CaCommand::List { .. })
        )
    }
}

impl UserCommand {
    /// Whether it changes the data directory (else it opens it read-only).
    pub fn changes(&self) -> bool {
        !matches!(
            self,
            UserCommand::List { .. }
                | UserCommand::Show { .. }
                | UserCommand::Key(KeyCommand::List { .. })
        )
    }
}

impl BanCommand {
    /// Whether it changes the data directory (else it opens it read-only).
    pub fn changes(&self) -> bool {
        !matches!(self, BanCommand::List)
    }
}

impl AlertCommand {
    /// Whether it changes the data directory (else it opens it read-only).
    pub fn changes(&self) -> bool {
        matches!(self, AlertCommand::Ack { .. })
    }
}

impl CanaryCommand {
    /// Whether it changes the data directory (else it opens it read-only).
    pub fn changes(&self) -> bool {
        !matches!(self, CanaryCommand::List { .. })
    }
}

impl PatternCommand {
    /// Whether it changes the data directory (else it opens it read-only).
    pub fn changes(&self) -> bool {
        !matches!(self, PatternCommand::List { .. })
    }
}

impl SessionCommand {
    /// Whether it changes something (a live session's end).
    pub fn changes(&self) -> bool {
        !matches!(self, SessionCommand::List { .. })
    }
}

impl DetectCommand {
    /// Whether it changes the data directory (else it opens it read-only, or not at all).
    pub fn changes(&self) -> bool {
        matches!(self, DetectCommand::Override { .. })
    }
}

impl FileCommand {
    /// Whether it changes the data directory: none does (`file` only shows).
    pub fn changes(&self) -> bool {
        false
    }
}

impl ClassifyCommand {
    /// Whether it changes the data directory (else it opens it read-only).
    pub fn changes(&self) -> bool {
        match self {
            ClassifyCommand::Run { .. } => true,
            ClassifyCommand::Pattern(p) => p.changes(),
        }
    }
}

impl IncidentCommand {
    /// Whether it changes the data directory: a report with an evidence file may sign a
    /// checkpoint; the rest only read.
    pub fn changes(&self) -> bool {
        matches!(
            self,
            IncidentCommand::Report {
                evidence: Some(_),
                ..
            }
        )
    }
}
