//! Files only their owner may read: the secrets and private keys an operator gives the server
//! in its configuration (the webhook's shared secret, the SIEM connection's client key). Each
//! is read whole into memory that is wiped when dropped, and refused while its group or others
//! may read it, as OpenSSH refuses a private key file that others can read. What a file holds
//! is never logged or shown.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use zeroize::Zeroizing;

/// Why an owner-only file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum OwnerOnlyError {
    #[error("{what} {path}: {source}")]
    Read {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} {path} is readable by others (mode {mode:o}); run: chmod 600 {path}")]
    Permissions {
        what: &'static str,
        path: String,
        mode: u32,
    },
}

/// Reads the file at `path` (`what` names it in errors: "webhook secret file"): it must be
/// owner-only (0600 or stricter).
pub fn read(path: &Path, what: &'static str) -> Result<Zeroizing<Vec<u8>>, OwnerOnlyError> {
    let shown = || path.display().to_string();
    let io = |source| OwnerOnlyError::Read {
        what,
        path: shown(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(OwnerOnlyError::Permissions {
            what,
            path: shown(),
            mode,
        });
    }
    Ok(Zeroizing::new(std::fs::read(path).map_err(io)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_file_its_owner_alone_may_read_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.key");
        std::fs::write(&path, b"-----BEGIN PRIVATE KEY-----\n").unwrap();
        for mode in [0o644, 0o640, 0o604] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = read(&path, "client key").unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "client key {0} is readable by others (mode {mode:o}); run: chmod 600 {0}",
                    path.display()
                )
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            read(&path, "client key").unwrap().as_slice(),
            b"-----BEGIN PRIVATE KEY-----\n"
        );
        let gone = dir.path().join("gone.key");
        let e = read(&gone, "client key").unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("client key {}: ", gone.display())),
            "{e}"
        );
    }
}
