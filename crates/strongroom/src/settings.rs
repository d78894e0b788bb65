//! `strongroom serve`: configuration in two phases (raw TOML and flags, then a validated
//! [`ServerConfig`]), logging, signals, and the printed start-up summary.

use std::path::{Path, PathBuf};

use anyhow::Context;
use server::{Server, ServerConfig};
use service::config::MasterKeySource;

use crate::UsageError;
use crate::cli::ServeArgs;
use strongroom::config_file;

/// Where the master key is: `STRONGROOM_MASTER_KEY` (the key itself), else the file named by
/// `STRONGROOM_MASTER_KEY_FILE`, else `<data-dir>/master.key`. The same for every command.
pub fn master_key_source(data_dir: &Path) -> MasterKeySource {
    if let Ok(text) = std::env::var("STRONGROOM_MASTER_KEY") {
        MasterKeySource::Inline(text)
    } else if let Ok(path) = std::env::var("STRONGROOM_MASTER_KEY_FILE") {
        MasterKeySource::File(PathBuf::from(path))
    } else {
        MasterKeySource::File(data_dir.join("master.key"))
    }
}

/// The configuration `serve` would use without flags (`<data-dir>/strongroom.toml` if it
/// exists), for commands that need it (`detect rules`, `detect replay`).
pub fn load_default(data_dir: &Path) -> anyhow::Result<ServerConfig> {
    load(
        data_dir,
        &ServeArgs {
            sftp_listen: None,
            config: None,
        },
    )
}

fn load(data_dir: &Path, args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let (path, required): (PathBuf, bool) = match &args.config {
        Some(p) => (p.clone(), true),
        None => (data_dir.join("strongroom.toml"), false),
    };
    let master_key = master_key_source(data_dir);
    let parsed = match std::fs::read_to_string(&path) {
        Ok(text) => config_file::parse(&text, data_dir, args.sftp_listen, master_key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
            config_file::defaults(data_dir, args.sftp_listen, master_key)
        }
        Err(e) => return Err(e).with_context(|| format!("config file {}", path.display())),
    };
    Ok(parsed.map_err(|e| UsageError(format!("config file {}: {e}", path.display())))?)
}

pub async fn serve(data_dir: &Path, args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STRONGROOM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Listened for before anything is announced: a SIGTERM from then on is a clean stop (one
    // before the handlers exist would end the process with no stop recorded).
    let shutdown = shutdown_signal();
    let config = load(data_dir, &args)?;
    let listen = config.sftp_listen;
    let server = Server::prepare(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    println!("strongroom: data directory {}", data_dir.display());
    for (alg, fp) in &server.host_keys {
        println!("host key {alg} {fp}");
    }
    println!("listening for SFTP on {}", listener.local_addr()?);
    server.serve(listener, shutdown).await?;
    println!("strongroom: stopped");
    Ok(())
}

/// SIGTERM, SIGINT or SIGHUP (its terminal closed: by default it would kill the server with no
/// clean stop, its sessions unrecorded), listened for from this call on (not from the future's
/// first poll): the signals that interrupt an administrator's command (`crate::interruption`).
fn shutdown_signal() -> impl Future<Output = ()> {
    let signal = crate::interruption();
    async move {
        signal.await;
    }
}
