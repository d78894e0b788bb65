//! The ledger's Ed25519 checkpoint key: `<data-dir>/ledger.key` (PKCS#8, 0600), created on first
//! start. Its public half lets anyone check a checkpoint printed by `strongroom audit head`.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::KeyError;

pub struct LedgerKey(Ed25519KeyPair);

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LedgerKey(<secret>)")
    }
}

impl LedgerKey {
    pub fn load_or_create(path: &Path, create: bool) -> Result<Self, KeyError> {
        let io = |source| KeyError::MasterFile {
            path: path.display().to_string(),
            source,
        };
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::MasterPermissions {
                        path: path.display().to_string(),
                        mode,
                    });
                }
                let der = Zeroizing::new(std::fs::read(path).map_err(io)?);
                Ed25519KeyPair::from_pkcs8(&der)
                    .map(Self)
                    .map_err(|_| KeyError::MasterMalformed(path.display().to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| KeyError::Derive)?;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                f.write_all(der.as_ref()).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ed25519KeyPair::from_pkcs8(der.as_ref())
                    .map(Self)
                    .map_err(|_| KeyError::Derive)
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).as_ref().to_vec()
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().as_ref().to_vec()
    }
}
