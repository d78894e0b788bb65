//! The ledger's Ed25519 checkpoint key: `<data-dir>/ledger.key` (PKCS#8, 0600), created on first
//! start. Its public half lets anyone check a checkpoint printed by `strongroom audit head`.

use std::path::Path;

use crate::KeyError;
use crate::keys::{read_private_file, write_private_file};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};

pub struct LedgerKey(Ed25519KeyPair);

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LedgerKey(<secret>)")
    }
}

impl LedgerKey {
    pub fn load_or_create(path: &Path, create: bool) -> Result<Self, KeyError> {
        let malformed = || KeyError::MasterMalformed(path.display().to_string());
        match read_private_file(path)? {
            Some(der) => Ed25519KeyPair::from_pkcs8(&der)
                .map(Self)
                .map_err(|_| malformed()),
            None if create => {
                let der = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                    .map_err(|_| KeyError::Derive)?;
                write_private_file(path, der.as_ref())?;
                Ed25519KeyPair::from_pkcs8(der.as_ref())
                    .map(Self)
                    .map_err(|_| KeyError::Derive)
            }
            None => Err(KeyError::MasterFile {
                path: path.display().to_string(),
                source: std::io::ErrorKind::NotFound.into(),
            }),
        }
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).as_ref().to_vec()
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.0.public_key().as_ref().to_vec()
    }
}
