//! The server's SSH host keys: Ed25519 and ECDSA P-256, generated on first start into
//! `<data-dir>/host-keys/` as OpenSSH private key files created 0600 in a 0700 directory.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PrivateKey};

#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    #[error("host key {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("host key {path}: {why}")]
    Key { path: PathBuf, why: String },
    #[error("host key {path} is readable by others (mode {mode:o}); run: chmod 600 {path}")]
    Permissions { path: PathBuf, mode: u32 },
}

const KEYS: [(&str, Algorithm); 2] = [
    ("ssh_host_ed25519_key", Algorithm::Ed25519),
    (
        "ssh_host_ecdsa_key",
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        },
    ),
];

/// Loads the host keys from `dir`, generating any that are missing.
pub fn load_or_generate(dir: &Path) -> Result<Vec<PrivateKey>, HostKeyError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| HostKeyError::Io { path, source }
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))?;
    let mut keys = Vec::new();
    for (file, alg) in KEYS {
        let path = dir.join(file);
        let key_err = |why: String| HostKeyError::Key {
            path: path.clone(),
            why,
        };
        if path.exists() {
            let mode = fs::metadata(&path).map_err(io(&path))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(HostKeyError::Permissions {
                    path,
                    mode: mode & 0o777,
                });
            }
            let text = fs::read_to_string(&path).map_err(io(&path))?;
            keys.push(PrivateKey::from_openssh(text).map_err(|e| key_err(e.to_string()))?);
        } else {
            let key =
                PrivateKey::random(&mut rand::rng(), alg).map_err(|e| key_err(e.to_string()))?;
            let text = key
                .to_openssh(LineEnding::LF)
                .map_err(|e| key_err(e.to_string()))?;
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io(&path))?;
            f.write_all(text.as_bytes()).map_err(io(&path))?;
            f.sync_all().map_err(io(&path))?;
            keys.push(key);
        }
    }
    Ok(keys)
}

/// `SHA256:...` fingerprint and algorithm name of a host key, as ssh-keygen -l prints them.
pub fn describe(key: &PrivateKey) -> (String, String) {
    (
        key.algorithm().to_string(),
        key.public_key().fingerprint(HashAlg::Sha256).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let kd = dir.path().join("hk");
        let a = load_or_generate(&kd).unwrap();
        let b = load_or_generate(&kd).unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(describe(&a[0]), describe(&b[0]));
        for (f, _) in KEYS {
            let mode = fs::metadata(kd.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::set_permissions(kd.join(KEYS[0].0), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            load_or_generate(&kd),
            Err(HostKeyError::Permissions { .. })
        ));
    }
}
