//! The service core: everything Strongroom does that does not depend on how a request arrived.
//! The SSH/SFTP front end (crate `server`), the admin command line (crate `strongroom`) and the
//! coming HTTP API call the same operations here, and are thin: they translate their protocol
//! into these operations and the results back.
//!
//! - [`gate`]: every login and permission decision, in one place; [`gate::access::authorize`]
//!   is the one permission check, over a domain [`gate::access::Operation`].
//! - [`files`]: the tenant-jailed namespace and uploads over the catalog and the sealed blobs.
//! - [`keys`]: key lifecycle (loading the master keyring, tenant and master rotation).
//! - [`retention`]: the sweep that deletes expired files.
//! - [`integrity`] and [`contents_check`]: whether what is stored opens as it was sealed.
//! - [`sessions`]: live connections, their limits, what each is doing, closing them.
//! - [`throttle`]: per-account rate limits of live sessions.
//! - [`audit`]: the ledger writer (every event, durable where it must be); [`ledger_read`]:
//!   the ledger read back as typed events; [`forward`]: SIEM forwarding; [`event_log`]: the log.
//! - [`detection`]: the detector fed with every record and live byte counts, and containment.
//! - [`clock`]: the one clock and source of identifiers.
//! - [`config`]: the validated configuration every part reads.
//!
//! Never here: protocol codecs, sockets, terminal output, argument parsing.

pub mod admin;
pub mod alert_delivery;
pub mod audit;
pub mod ca_file;
pub mod clock;
pub mod config;
pub mod contents_check;
pub mod detection;
pub mod event_log;
pub mod files;
pub mod forward;
pub mod gate;
pub mod incident;
pub mod integrity;
pub mod keys;
pub mod ledger_read;
pub mod path_history;
pub mod retention;
pub mod server_runs;
pub mod sessions;
pub mod throttle;

#[cfg(test)]
mod test_catalog;

/// This node's id: kept in `<data-dir>/node-id`, made (a UUID v7) the first time it is asked
/// for. Every event recorded on this node names it.
pub fn node_id(
    data_dir: &std::path::Path,
    clock: &dyn clock::Clock,
    entropy: &dyn clock::Entropy,
) -> std::io::Result<String> {
    let path = data_dir.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut random = [0u8; 10];
    entropy.fill(&mut random);
    let id = sessions::new_session_id(clock.now().as_millis() as u64, random);
    std::fs::write(&path, format!("{id}\n"))?;
    Ok(id)
}
