//! The certificate authorities an operator names for one of the server's outgoing TLS
//! connections (to the SIEM, the webhook, the mail relay): a PEM file read at the start, whose
//! certificates are then trusted for that connection instead of the system's roots (an internal
//! authority, and no other, vouches for an internal receiver). Never here: the connections.

use std::path::Path;

use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;

/// A CA file's certificates, as its PEM text and parsed.
pub struct CaFile {
    pub pem: Vec<u8>,
    pub certificates: Vec<CertificateDer<'static>>,
}

/// Reads the PEM certificates at `path`: an error says why the file cannot be used (it cannot
/// be read, is not PEM, or holds no certificate).
pub fn read(path: &Path) -> Result<CaFile, String> {
    let pem = std::fs::read(path).map_err(|e| e.to_string())?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates ({e})"))?;
    if certificates.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    Ok(CaFile { pem, certificates })
}
