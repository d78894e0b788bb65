//! Command-line syntax (clap). Only shapes and names here; meaning lives in `admin` and
//! `settings`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    Add { name: String },
    /// List tenants.
    List,
    /// Show a tenant's settings, usage and key version.
    Show { name: String },
    /// Change retention or quotas, for the tenant or (with --folder) for a folder and below.
    Set {
        name: String,
        /// A folder of the tenant (retention only), e.g. /inbox.
        #[arg(long)]
        folder: Option<String>,
        /// Files expire this long after upload: e.g. 30d, 12h, or off.
        #[arg(long)]
        retention: Option<String>,
        /// Files expire this long after their first complete download: e.g. 24h, or off.
        #[arg(long)]
        retention_after_download: Option<String>,
        /// Storage quota in bytes: e.g. 10G, 500M, or off.
        #[arg(long)]
        quota_bytes: Option<String>,
        /// Quota on the number of files, or off.
        #[arg(long)]
        quota_files: Option<String>,
    },
    /// Replace the tenant key (names and file keys re-wrapped; contents not rewritten).
    RotateKey { name: String },
    /// Delete a tenant: its key, accounts, catalog rows and blobs (crypto-shredding).
    Remove {
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
        name: String,
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
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Show one account and its keys.
    Show {
        name: String,
    },
    /// Refuse all logins of an account until unlocked.
    Lock {
        name: String,
    },
    Unlock {
        name: String,
    },
    /// Delete an account and its keys (the tenant's files stay).
    Remove {
        name: String,
    },
    /// Manage an account's public keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Add an OpenSSH public key file to an account.
    Add { name: String, file: PathBuf },
    /// List an account's keys.
    List { name: String },
    /// Remove a key by its SHA256 fingerprint (as `user key list` shows it).
    Remove { name: String, fingerprint: String },
}
