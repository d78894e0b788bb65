//! The key hierarchy. All key handling in Strongroom happens here.
//!
//! ```text
//! master key (file 0600 in the data dir, or a file/env var kept off the data volume)
//!   └─ wraps one tenant key per tenant (AES-256-GCM, AAD binds tenant id and key version)
//!        ├─ HKDF → name keys: HMAC-SHA256 for lookups, AES-256-GCM for sealed names
//!        └─ wraps one data key per file (AES-256-GCM, AAD binds tenant, version, key id)
//!             └─ seals the file's chunks (see `seal`)
//! ```
//!
//! Secrets live in [`Secret`] buffers that print as `<secret>` and are zeroed on drop. Wrapped
//! forms are what the catalog stores; nothing here touches the catalog or the disk, except
//! [`MasterKey::load_or_create`] for the master key file itself.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{constant_time, hkdf, hmac};
use zeroize::Zeroizing;

/// Length of every symmetric key (AES-256, HMAC-SHA256).
pub const KEY_LEN: usize = 32;
/// Length of key ids (random; they name a key without revealing it).
pub const KEY_ID_LEN: usize = 16;

const GCM_TAG_LEN: usize = 16;
const MASTER_FILE_TAG: &str = "strongroom-master-key-v1";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("master key file {path}: {source}")]
    MasterFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("master key file {path} is readable by others (mode {mode:o}); run: chmod 600 {path}")]
    MasterPermissions { path: String, mode: u32 },
    #[error("master key {0} is malformed: expected '{MASTER_FILE_TAG} <16 hex id> <64 hex key>'")]
    MasterMalformed(String),
    #[error("a key does not unwrap with the master key in use (wrong or rotated master key?)")]
    WrongMasterKey,
    #[error("wrapped key is damaged or belongs to another tenant or file")]
    Unwrap,
    #[error("sealed name is damaged")]
    Name,
    #[error("key derivation failed")]
    Derive,
}

/// The contents of a key file, or `None` if it does not exist. Refuses a file others can read.
pub(crate) fn read_private_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, KeyError> {
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
            Ok(Some(Zeroizing::new(std::fs::read(path).map_err(io)?)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

/// Creates a key file (0600, fsynced); never overwrites one. It appears whole or not at all:
/// written under a name of its own beside it, then linked to `path` (which fails where a file
/// is there), so that a process reading keys meanwhile (an admin command, the server beside a
/// `master rotate`) never reads it half written.
pub(crate) fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let io = |source| KeyError::MasterFile {
        path: path.display().to_string(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| io(std::io::ErrorKind::InvalidInput.into()))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    // Drafts a process killed before its link left (keys never in use: a draft linked is
    // there under `path` too, a link of its own): removed, as nothing else would.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        use std::os::unix::ffi::OsStrExt;
        for e in entries.flatten() {
            let n = e.file_name();
            // `.NAME.<16 hex>.draft` exactly (not another file's, `.NAME.new.<hex>.draft`).
            let ours = (n.as_bytes().strip_prefix(prefix.as_bytes()))
                .and_then(|rest| rest.strip_suffix(b".draft"))
                .is_some_and(|id| id.len() == 16 && id.iter().all(u8::is_ascii_hexdigit));
            if ours {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let mut draft_name = prefix;
    draft_name.push(format!("{:016x}.draft", rand::random::<u64>()));
    let draft = path.with_file_name(draft_name);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&draft)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::hard_link(&draft, path)
    })();
    let _ = std::fs::remove_file(&draft);
    written.map_err(io)?;
    // The link itself durable.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
    }
    Ok(())
}

/// Secret bytes: zeroed on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct Secret(Zeroizing<[u8; KEY_LEN]>);

impl Secret {
    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        rand::fill(&mut k[..]);
        Self(k)
    }

    fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

fn gcm(key: &Secret) -> LessSafeKey {
    // A 32-byte key is always valid for AES-256-GCM.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.bytes()).unwrap_or_else(|_| unreachable!()))
}

/// nonce ‖ ciphertext ‖ tag of `plain` under `key`, bound to `aad`.
fn seal(key: &Secret, aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let mut out = Vec::with_capacity(NONCE_LEN + plain.len() + GCM_TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plain);
    let tag = gcm(key)
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .unwrap_or_else(|_| unreachable!("AES-GCM sealing of a bounded buffer cannot fail"));
    out.extend_from_slice(tag.as_ref());
    out
}

fn open(key: &Secret, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + GCM_TAG_LEN {
        return None;
    }
    let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN]).ok()?;
    let mut buf = Zeroizing::new(sealed[NONCE_LEN..].to_vec());
    let n = gcm(key)
        .open_in_place(nonce, Aad::from(aad), &mut buf[..])
        .ok()?
        .len();
    buf.truncate(n);
    Some(buf)
}

fn secret_from(bytes: &[u8]) -> Option<Secret> {
    let arr: [u8; KEY_LEN] = bytes.try_into().ok()?;
    Some(Secret(Zeroizing::new(arr)))
}

/// The root of the hierarchy. Its id names it in the catalog (so a rotation can be resumed).
#[derive(Clone, Debug)]
pub struct MasterKey {
    pub id: [u8; 8],
    key: Secret,
}

impl MasterKey {
    pub fn generate() -> Self {
        Self {
            id: rand::random(),
            key: Secret::random(),
        }
    }

    /// Parses the one-line text form (`strongroom-master-key-v1 <id hex> <key hex>`).
    pub fn parse(text: &str, source: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::MasterMalformed(source.to_owned());
        let mut parts = text.split_whitespace();
        if parts.next() != Some(MASTER_FILE_TAG) {
            return Err(bad());
        }
        let mut id = [0u8; 8];
        hex::decode_to_slice(parts.next().ok_or_else(bad)?, &mut id).map_err(|_| bad())?;
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(parts.next().ok_or_else(bad)?, &mut key[..]).map_err(|_| bad())?;
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Self {
            id,
            key: Secret(key),
        })
    }

    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{MASTER_FILE_TAG} {} {}\n",
            hex::encode(self.id),
            hex::encode(self.key.bytes())
        ))
    }

    /// Reads the key file; creates it (0600, never overwriting) when `create` and it is missing.
    pub fn load_or_create(path: &Path, create: bool) -> Result<Self, KeyError> {
        match read_private_file(path)? {
            Some(bytes) => Self::parse(
                &String::from_utf8_lossy(&bytes),
                &path.display().to_string(),
            ),
            None if create => {
                let key = Self::generate();
                key.write_new(path)?;
                Ok(key)
            }
            None => Err(KeyError::MasterFile {
                path: path.display().to_string(),
                source: std::io::ErrorKind::NotFound.into(),
            }),
        }
    }

    /// Writes the key to a new file (0600, fsynced); fails if the file exists.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        write_private_file(path, self.to_text().as_bytes())
    }

    fn tenant_aad(tenant_id: i64, version: i64) -> Vec<u8> {
        let mut aad = b"strongroom tenant key v1".to_vec();
        aad.extend_from_slice(&tenant_id.to_be_bytes());
        aad.extend_from_slice(&version.to_be_bytes());
        aad
    }

    /// A new tenant key and its wrapped form for the catalog.
    pub fn new_tenant_key(&self, tenant_id: i64, version: i64) -> (TenantKey, Vec<u8>) {
        let secret = Secret::random();
        let wrapped = seal(
            &self.key,
            &Self::tenant_aad(tenant_id, version),
            secret.bytes(),
        );
        (TenantKey::derive(secret, tenant_id, version), wrapped)
    }

    pub fn unwrap_tenant_key(
        &self,
        tenant_id: i64,
        version: i64,
        wrapped: &[u8],
    ) -> Result<TenantKey, KeyError> {
        let plain = open(&self.key, &Self::tenant_aad(tenant_id, version), wrapped)
            .ok_or(KeyError::WrongMasterKey)?;
        let secret = secret_from(&plain).ok_or(KeyError::Unwrap)?;
        Ok(TenantKey::derive(secret, tenant_id, version))
    }

    /// A new key for the ledger's record bodies, and its wrapped form.
    pub fn new_ledger_body_key(&self) -> (LedgerBodyKey, Vec<u8>) {
        let k = Secret::random();
        let wrapped = seal(&self.key, LEDGER_KEY_AAD, k.bytes());
        (LedgerBodyKey::new(k), wrapped)
    }

    pub fn unwrap_ledger_body_key(&self, wrapped: &[u8]) -> Result<LedgerBodyKey, KeyError> {
        let plain = open(&self.key, LEDGER_KEY_AAD, wrapped).ok_or(KeyError::WrongMasterKey)?;
        Ok(LedgerBodyKey::new(
            secret_from(&plain).ok_or(KeyError::Unwrap)?,
        ))
    }

    pub fn rewrap_ledger_body_key(
        &self,
        new: &MasterKey,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let plain = open(&self.key, LEDGER_KEY_AAD, wrapped).ok_or(KeyError::WrongMasterKey)?;
        Ok(seal(&new.key, LEDGER_KEY_AAD, &plain))
    }

    /// Re-wraps a tenant key under `new` (master rotation); the tenant key itself is unchanged.
    pub fn rewrap_tenant_key(
        &self,
        new: &MasterKey,
        tenant_id: i64,
        version: i64,
        wrapped: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let aad = Self::tenant_aad(tenant_id, version);
        let plain = open(&self.key, &aad, wrapped).ok_or(KeyError::WrongMasterKey)?;
        Ok(seal(&new.key, &aad, &plain))
    }
}

const LEDGER_KEY_AAD: &[u8] = b"strongroom ledger body key v1";
const LEDGER_BODY_AAD: &[u8] = b"strongroom ledger body v1";

/// Seals the bodies of ledger records (they name files), so that the ledger file reveals no
/// file name either. The chain hashes the sealed bytes: verifying needs no key. A key derived
/// from it tags the paths records name ([`LedgerBodyKey::path_tag`]), so that the records about
/// a path are found through an index without the path in clear.
pub struct LedgerBodyKey {
    key: Secret,
    path_tag: hmac::Key,
    /// Derives each record's own key from the salt its sealed body carries
    /// ([`LedgerBodyKey::seal`]).
    record_keys: hmac::Key,
}

impl fmt::Debug for LedgerBodyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LedgerBodyKey(<secret>)")
    }
}

/// Bytes of a path tag ([`LedgerBodyKey::path_tag`]): 128 bits, printed as 32 hex digits.
pub const PATH_TAG_LEN: usize = 16;

impl LedgerBodyKey {
    fn new(key: Secret) -> Self {
        let tag_key = hkdf_derive(&key, b"strongroom ledger key derivation v1", b"path tag");
        let record_key = hkdf_derive(&key, b"strongroom ledger key derivation v1", b"record key");
        Self {
            path_tag: hmac::Key::new(hmac::HMAC_SHA256, tag_key.bytes()),
            record_keys: hmac::Key::new(hmac::HMAC_SHA256, record_key.bytes()),
            key,
        }
    }

    /// A record's body sealed under a key of its own: [`RECORD_SEAL`] ‖ salt (16 random bytes)
    /// ‖ the key's commitment (SHA-256, `RecordKey::commitment`) ‖ ciphertext ‖ tag
    /// (AES-256-GCM, the record key's one message). The record key is HMAC-SHA256 of the salt
    /// under a key derived from this one: it can be handed over for one record
    /// ([`LedgerBodyKey::record_key`]) without opening any other, and the commitment, hashed
    /// into the chain with the rest, binds the body to that one key.
    pub fn seal(&self, body: &[u8]) -> Vec<u8> {
        let salt: [u8; RECORD_SALT_LEN] = rand::random();
        let key = self.derive_record_key(&salt);
        let mut out = Vec::with_capacity(RECORD_HEADER_LEN + body.len() + GCM_TAG_LEN);
        out.extend_from_slice(RECORD_SEAL);
        out.extend_from_slice(&salt);
        out.extend_from_slice(&key.commitment());
        out.extend_from_slice(body);
        let tag = gcm(&key.0)
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([0; NONCE_LEN]),
                Aad::from(LEDGER_RECORD_AAD),
                &mut out[RECORD_HEADER_LEN..],
            )
            .unwrap_or_else(|_| unreachable!("AES-GCM sealing of a bounded buffer cannot fail"));
        out.extend_from_slice(tag.as_ref());
        out
    }

    fn derive_record_key(&self, salt: &[u8]) -> RecordKey {
        let tag = hmac::sign(&self.record_keys, salt);
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        k.copy_from_slice(&tag.as_ref()[..KEY_LEN]);
        RecordKey(Secret(k))
    }

    /// The key of one record's body, to hand over with the record so that whoever holds it can
    /// open that body and no other ([`open_disclosed`]). `None` for a body sealed before
    /// records had keys of their own (2026-12-06), under the ledger's one key.
    pub fn record_key(&self, sealed: &[u8]) -> Option<RecordKey> {
        let salt = record_salt(sealed)?;
        Some(self.derive_record_key(salt))
    }

    /// The lookup form of a path in a tenant, as the ledger indexes it: HMAC-SHA256 under a key
    /// derived from this one, over the tenant's name and the path, its first
    /// [`PATH_TAG_LEN`] bytes in hex. Equal paths of one tenant have equal tags; the tag says
    /// nothing else of the path to whoever reads the ledger file without the key.
    pub fn path_tag(&self, tenant: &str, path: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.path_tag);
        ctx.update(&(tenant.len() as u64).to_be_bytes());
        ctx.update(tenant.as_bytes());
        ctx.update(path.as_bytes());
        hex::encode(&ctx.sign().as_ref()[..PATH_TAG_LEN])
    }

    /// A body sealed by [`LedgerBodyKey::seal`], or under the ledger's one key before records
    /// had keys of their own (a body of that form that happens to begin as the new one does
    /// is still opened).
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        if let Some(key) = self.record_key(sealed)
            && let Some(plain) = key.open(sealed)
        {
            return Ok(plain.to_vec());
        }
        open(&self.key, LEDGER_BODY_AAD, sealed)
            .map(|p| p.to_vec())
            .ok_or(KeyError::Unwrap)
    }
}

/// How a ledger record's body sealed under its own key begins ([`LedgerBodyKey::seal`]).
pub const RECORD_SEAL: &[u8; 4] = b"LR2\0";
const RECORD_SALT_LEN: usize = 16;
/// Bytes of a record key's commitment.
pub const COMMITMENT_LEN: usize = 32;
const RECORD_HEADER_LEN: usize = RECORD_SEAL.len() + RECORD_SALT_LEN + COMMITMENT_LEN;
const LEDGER_RECORD_AAD: &[u8] = b"strongroom ledger record body v2";
const COMMITMENT_DOMAIN: &[u8] = b"strongroom ledger record key commitment v2";

fn record_salt(sealed: &[u8]) -> Option<&[u8]> {
    (sealed.len() >= RECORD_HEADER_LEN + GCM_TAG_LEN && sealed.starts_with(RECORD_SEAL))
        .then(|| &sealed[RECORD_SEAL.len()..RECORD_SEAL.len() + RECORD_SALT_LEN])
}

/// The key of one ledger record's body: it opens that body and no other.
pub struct RecordKey(Secret);

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecordKey(<secret>)")
    }
}

impl RecordKey {
    /// The key as handed over (hex), beside its record.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.bytes())
    }

    pub fn from_hex(hex_key: &str) -> Option<Self> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(hex_key, &mut k[..]).ok()?;
        Some(Self(Secret(k)))
    }

    /// SHA-256 over a domain and the key: what a sealed body carries of its key.
    fn commitment(&self) -> [u8; COMMITMENT_LEN] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(COMMITMENT_DOMAIN);
        ctx.update(self.0.bytes());
        let mut out = [0u8; COMMITMENT_LEN];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn open(&self, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        record_salt(sealed)?;
        let mut buf = Zeroizing::new(sealed[RECORD_HEADER_LEN..].to_vec());
        let n = gcm(&self.0)
            .open_in_place(
                Nonce::assume_unique_for_key([0; NONCE_LEN]),
                Aad::from(LEDGER_RECORD_AAD),
                &mut buf[..],
            )
            .ok()?
            .len();
        buf.truncate(n);
        Some(buf)
    }
}

/// Why a handed-over record key did not open its record's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DisclosedError {
    #[error("the body is not sealed under a key of its own (sealed before 2026-12-06)")]
    NotPerRecord,
    #[error("the key is not the one the body was sealed under (its commitment differs)")]
    NotCommitted,
    #[error("the body does not open with its key (modified)")]
    Damaged,
}

/// Opens a ledger record's body with the key handed over beside it
/// ([`LedgerBodyKey::record_key`]), after checking that the body committed to that key when it
/// was sealed: no master key, no ledger key; what a third party checking evidence runs.
pub fn open_disclosed(key: &RecordKey, sealed: &[u8]) -> Result<Vec<u8>, DisclosedError> {
    let salt_end = RECORD_SEAL.len() + RECORD_SALT_LEN;
    if record_salt(sealed).is_none() {
        return Err(DisclosedError::NotPerRecord);
    }
    let committed = &sealed[salt_end..salt_end + COMMITMENT_LEN];
    if constant_time::verify_slices_are_equal(committed, &key.commitment()).is_err() {
        return Err(DisclosedError::NotCommitted);
    }
    key.open(sealed)
        .map(|p| p.to_vec())
        .ok_or(DisclosedError::Damaged)
}

/// The master keys in use: the current one, and during a rotation also the one being
/// rotated to (`master.key.new`), so that a rotation cut short can still be read and finished.
#[derive(Clone, Debug)]
pub struct Keyring {
    current: MasterKey,
    pending: Option<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, pending: Option<MasterKey>) -> Self {
        Self { current, pending }
    }

    /// The key new tenant keys are wrapped with.
    pub fn current(&self) -> &MasterKey {
        &self.current
    }

    pub fn pending(&self) -> Option<&MasterKey> {
        self.pending.as_ref()
    }

    /// The master key with this id.
    pub fn by_id(&self, id: &[u8]) -> Result<&MasterKey, KeyError> {
        std::iter::once(&self.current)
            .chain(self.pending.as_ref())
            .find(|k| k.id.as_slice() == id)
            .ok_or(KeyError::WrongMasterKey)
    }

    /// Unwraps a stored tenant key with whichever master key wrapped it.
    pub fn tenant_key(
        &self,
        tenant_id: i64,
        version: i64,
        master_key_id: &[u8],
        wrapped: &[u8],
    ) -> Result<TenantKey, KeyError> {
        self.by_id(master_key_id)?
            .unwrap_tenant_key(tenant_id, version, wrapped)
    }
}

/// A tenant's key and the keys derived from it; while a rotation re-keys the tenant's rows in
/// steps, also the key it replaces (`retiring`), which the rows not yet re-keyed are under:
/// names are looked up under both ([`TenantKey::lookup_macs`]) and opened under either; new
/// names and values are made under this one only.
pub struct TenantKey {
    pub tenant_id: i64,
    pub version: i64,
    wrap: Secret,
    name_mac: hmac::Key,
    name_seal: Secret,
    retiring: Option<Box<TenantKey>>,
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TenantKey(tenant {}, v{}, <secret>)",
            self.tenant_id, self.version
        )
    }
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive(root: &Secret, label: &[u8]) -> Secret {
    hkdf_derive(root, b"strongroom tenant key derivation v1", label)
}

/// A key derived from `root` for one purpose (`label`), HKDF-SHA256 with `salt`.
fn hkdf_derive(root: &Secret, salt: &[u8], label: &[u8]) -> Secret {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(root.bytes());
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    let info = [label];
    prk.expand(&info, Len(KEY_LEN))
        .and_then(|okm| okm.fill(&mut out[..]))
        .unwrap_or_else(|_| unreachable!("HKDF-SHA256 can always produce 32 bytes"));
    Secret(out)
}

impl TenantKey {
    fn derive(root: Secret, tenant_id: i64, version: i64) -> Self {
        let mac = derive(&root, b"name mac");
        Self {
            tenant_id,
            version,
            wrap: derive(&root, b"data key wrap"),
            name_mac: hmac::Key::new(hmac::HMAC_SHA256, mac.bytes()),
            name_seal: derive(&root, b"name seal"),
            retiring: None,
        }
    }

    /// This key with the one it replaces, while a rotation goes on (see [`TenantKey`]).
    pub fn with_retiring(mut self, mut retiring: TenantKey) -> Self {
        retiring.retiring = None;
        self.retiring = Some(Box::new(retiring));
        self
    }

    /// The version of the key being replaced, while a rotation goes on.
    pub fn retiring_version(&self) -> Option<i64> {
        self.retiring.as_ref().map(|k| k.version)
    }

    /// The key of `version`: this one or the one it replaces.
    pub fn at_version(&self, version: i64) -> Option<&TenantKey> {
        std::iter::once(self)
            .chain(self.retiring.as_deref())
            .find(|k| k.version == version)
    }

    /// The lookup forms a stored name may have: under this key, and under the key it replaces
    /// while a rotation goes on (rows it has not reached yet).
    pub fn lookup_macs(&self, name: &[u8]) -> Vec<Vec<u8>> {
        std::iter::once(self)
            .chain(self.retiring.as_deref())
            .map(|k| k.name_mac(name))
            .collect()
    }

    fn data_aad(&self, key_id: &[u8; KEY_ID_LEN]) -> Vec<u8> {
        let mut aad = b"strongroom data key v1".to_vec();
        aad.extend_from_slice(&self.tenant_id.to_be_bytes());
        aad.extend_from_slice(&self.version.to_be_bytes());
        aad.extend_from_slice(key_id);
        aad
    }

    /// A fresh data key for a new file: (key, its id, its wrapped form).
    pub fn new_data_key(&self) -> (DataKey, Vec<u8>) {
        let key = DataKey {
            id: rand::random(),
            key: Secret::random(),
        };
        let wrapped = self.wrap_data_key(&key);
        (key, wrapped)
    }

    pub fn wrap_data_key(&self, key: &DataKey) -> Vec<u8> {
        seal(&self.wrap, &self.data_aad(&key.id), key.key.bytes())
    }

    pub fn unwrap_data_key(&self, key_id: &[u8], wrapped: &[u8]) -> Result<DataKey, KeyError> {
        let id: [u8; KEY_ID_LEN] = key_id.try_into().map_err(|_| KeyError::Unwrap)?;
        let plain = open(&self.wrap, &self.data_aad(&id), wrapped).ok_or(KeyError::Unwrap)?;
        Ok(DataKey {
            id,
            key: secret_from(&plain).ok_or(KeyError::Unwrap)?,
        })
    }

    fn secret_aad(&self, account_id: i64) -> Vec<u8> {
        let mut aad = b"strongroom account secret v1".to_vec();
        aad.extend_from_slice(&self.tenant_id.to_be_bytes());
        aad.extend_from_slice(&self.version.to_be_bytes());
        aad.extend_from_slice(&account_id.to_be_bytes());
        aad
    }

    /// Seals an account's secret (its TOTP secret) for storage in the catalog.
    pub fn seal_account_secret(&self, account_id: i64, secret: &[u8]) -> Vec<u8> {
        seal(&self.wrap, &self.secret_aad(account_id), secret)
    }

    pub fn open_account_secret(
        &self,
        account_id: i64,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        open(&self.wrap, &self.secret_aad(account_id), sealed).ok_or(KeyError::Unwrap)
    }

    /// The lookup form of a file name: HMAC-SHA256, so that equal names find each other
    /// without the name being stored in clear.
    pub fn name_mac(&self, name: &[u8]) -> Vec<u8> {
        hmac::sign(&self.name_mac, name).as_ref().to_vec()
    }

    /// The stored form of a file name, bound to its lookup form.
    pub fn seal_name(&self, name: &[u8], mac: &[u8]) -> Vec<u8> {
        seal(&self.name_seal, mac, name)
    }

    /// Opens a stored name, under this key or, while a rotation goes on, the one it replaces.
    pub fn open_name(&self, sealed: &[u8], mac: &[u8]) -> Result<Vec<u8>, KeyError> {
        match (self.open_own_name(sealed, mac), &self.retiring) {
            (Err(_), Some(old)) => old.open_own_name(sealed, mac),
            (opened, _) => opened,
        }
    }

    fn open_own_name(&self, sealed: &[u8], mac: &[u8]) -> Result<Vec<u8>, KeyError> {
        let name = open(&self.name_seal, mac, sealed).ok_or(KeyError::Name)?;
        if constant_time::verify_slices_are_equal(&self.name_mac(&name), mac).is_err() {
            return Err(KeyError::Name);
        }
        Ok(name.to_vec())
    }
}

impl TenantKey {
    fn classes_aad(content: &[u8]) -> Vec<u8> {
        let mut aad = b"strongroom file classes\0".to_vec();
        aad.extend_from_slice(content);
        aad
    }

    /// Seals what classification found in a file (its stored form), bound to the file's
    /// contents (`content`: the sealed contents' root, or empty for unsealed contents), so that
    /// it cannot be moved to another file. Sealed like names.
    pub fn seal_classes(&self, content: &[u8], classes: &[u8]) -> Vec<u8> {
        seal(&self.name_seal, &Self::classes_aad(content), classes)
    }

    /// Opens sealed classes, under this key or, while a rotation goes on, the one it replaces.
    pub fn open_classes(&self, content: &[u8], sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        std::iter::once(self)
            .chain(self.retiring.as_deref())
            .find_map(|k| open(&k.name_seal, &Self::classes_aad(content), sealed))
            .map(|c| c.to_vec())
            .ok_or(KeyError::Name)
    }
}

/// A file's data key. Its id goes into every chunk's AAD.
#[derive(Clone)]
pub struct DataKey {
    pub id: [u8; KEY_ID_LEN],
    key: Secret,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataKey({}, <secret>)", hex::encode(self.id))
    }
}

impl DataKey {
    pub(crate) fn aead(&self) -> LessSafeKey {
        gcm(&self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key file appears whole or not at all: a reader polling for it meanwhile never reads
    /// it half written (it did, written in place, and a `master rotate` beside another command
    /// failed it with a malformed key); one already there is never overwritten; nothing else is
    /// left in the directory.
    #[test]
    fn a_key_file_appears_whole_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..200 {
            let path = dir.path().join(format!("master.key.{i}"));
            let key = MasterKey::generate();
            let reader = std::thread::spawn({
                let path = path.clone();
                move || loop {
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        return text;
                    }
                    std::thread::yield_now();
                }
            });
            key.write_new(&path).unwrap();
            let seen = reader.join().unwrap();
            assert_eq!(seen, *key.to_text(), "read while it was written");
        }
        let path = dir.path().join("master.key.0");
        let before = std::fs::read(&path).unwrap();
        assert!(MasterKey::generate().write_new(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 200, "drafts left behind");
        // A draft a killed process left is removed by the next write of that file.
        let left = dir.path().join(".ledger.key.00000000deadbeef.draft");
        std::fs::write(&left, b"a key never linked").unwrap();
        let other = dir.path().join(".ledger.key.new.00000000deadbeef.draft");
        std::fs::write(&other, b"another file's").unwrap();
        MasterKey::generate()
            .write_new(&dir.path().join("ledger.key"))
            .unwrap();
        assert!(!left.exists() && other.exists());
    }

    #[test]
    fn a_record_key_opens_its_record_and_no_other() {
        let master = MasterKey::generate();
        let (ledger, _) = master.new_ledger_body_key();
        let a = ledger.seal(b"{\"kind\":\"session\"}");
        let b = ledger.seal(b"{\"kind\":\"file\"}");
        assert!(a.starts_with(RECORD_SEAL));
        assert_eq!(ledger.open(&a).unwrap(), b"{\"kind\":\"session\"}");
        let key_a = ledger.record_key(&a).unwrap();
        assert_eq!(
            open_disclosed(&RecordKey::from_hex(&key_a.to_hex()).unwrap(), &a).unwrap(),
            b"{\"kind\":\"session\"}"
        );
        // Another record's key: not the one this body committed to.
        assert_eq!(
            open_disclosed(&key_a, &b),
            Err(DisclosedError::NotCommitted)
        );
        // A body changed after sealing.
        let mut changed = a.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert_eq!(
            open_disclosed(&key_a, &changed),
            Err(DisclosedError::Damaged)
        );
        assert!(ledger.open(&changed).is_err());
        // Another ledger's key for the same salt opens nothing.
        let (other, _) = master.new_ledger_body_key();
        assert!(other.open(&a).is_err());
        assert_eq!(
            open_disclosed(&other.record_key(&a).unwrap(), &a),
            Err(DisclosedError::NotCommitted)
        );
        // A body sealed under the ledger's one key, before records had keys of their own.
        let old = seal(&ledger.key, LEDGER_BODY_AAD, b"older");
        assert_eq!(ledger.open(&old).unwrap(), b"older");
        assert_eq!(
            open_disclosed(&key_a, &old),
            Err(DisclosedError::NotPerRecord)
        );
    }

    #[test]
    fn hierarchy_round_trips_and_binds_context() {
        let master = MasterKey::generate();
        let (tk, wrapped) = master.new_tenant_key(7, 1);
        let again = master.unwrap_tenant_key(7, 1, &wrapped).unwrap();
        assert!(
            master.unwrap_tenant_key(8, 1, &wrapped).is_err(),
            "another tenant"
        );
        assert!(
            master.unwrap_tenant_key(7, 2, &wrapped).is_err(),
            "another version"
        );
        assert!(
            MasterKey::generate()
                .unwrap_tenant_key(7, 1, &wrapped)
                .is_err()
        );

        let (dk, wdk) = tk.new_data_key();
        let back = again.unwrap_data_key(&dk.id, &wdk).unwrap();
        assert_eq!(back.id, dk.id);
        let (other, _) = tk.new_data_key();
        assert!(
            tk.unwrap_data_key(&other.id, &wdk).is_err(),
            "another file's key id"
        );

        let mac = tk.name_mac(b"payroll.csv");
        assert_eq!(mac, again.name_mac(b"payroll.csv"));
        let sealed = tk.seal_name(b"payroll.csv", &mac);
        assert!(!sealed.windows(7).any(|w| w == b"payroll"));
        assert_eq!(again.open_name(&sealed, &mac).unwrap(), b"payroll.csv");
        assert!(tk.open_name(&sealed, &tk.name_mac(b"other")).is_err());
        let (tk2, _) = master.new_tenant_key(7, 2);
        assert_ne!(tk2.name_mac(b"payroll.csv"), mac);
    }

    /// While a rotation goes on, names and classes sealed under either key open, both lookup
    /// forms are offered (the new key's first), and new ones are made under the new key only.
    #[test]
    fn a_key_with_the_one_it_replaces_opens_what_either_sealed() {
        let master = MasterKey::generate();
        let (old, _) = master.new_tenant_key(7, 1);
        let (new, _) = master.new_tenant_key(7, 2);
        let old_mac = old.name_mac(b"a.csv");
        let old_sealed = old.seal_name(b"a.csv", &old_mac);
        let old_classes = old.seal_classes(b"root", b"classes");
        let (old_data, old_wrapped) = old.new_data_key();
        // Another key of the same version is not the one replaced.
        let wrong = master.new_tenant_key(7, 2).0;
        let wrong = wrong.with_retiring(master.new_tenant_key(7, 1).0);
        assert!(wrong.open_name(&old_sealed, &old_mac).is_err());
        let both = new.with_retiring(old);
        assert_eq!(both.open_name(&old_sealed, &old_mac).unwrap(), b"a.csv");
        let mac = both.name_mac(b"b.csv");
        let sealed = both.seal_name(b"b.csv", &mac);
        assert_eq!(both.open_name(&sealed, &mac).unwrap(), b"b.csv");
        assert_eq!(both.at_version(2).map(|k| k.version), Some(2));
        let forms = both.lookup_macs(b"a.csv");
        assert_eq!(forms.len(), 2);
        assert_eq!(forms[1], old_mac);
        assert_eq!(forms[0], both.name_mac(b"a.csv"));
        assert_eq!(
            both.open_classes(b"root", &old_classes).unwrap(),
            b"classes"
        );
        assert!(both.open_classes(b"other", &old_classes).is_err());
        assert_eq!(both.retiring_version(), Some(1));
        let by_old = both.at_version(1).unwrap();
        assert_eq!(
            by_old
                .unwrap_data_key(&old_data.id, &old_wrapped)
                .unwrap()
                .id,
            old_data.id
        );
        assert!(both.unwrap_data_key(&old_data.id, &old_wrapped).is_err());
        assert!(both.at_version(3).is_none());
    }

    #[test]
    fn path_tags_are_stable_per_tenant_and_path_and_survive_a_rewrap() {
        let master = MasterKey::generate();
        let (key, wrapped) = master.new_ledger_body_key();
        let tag = key.path_tag("acme", "/out/a.csv");
        assert_eq!(tag.len(), 2 * PATH_TAG_LEN);
        assert!(tag.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(tag, key.path_tag("acme", "/out/a.csv"));
        assert_ne!(tag, key.path_tag("acme", "/out/b.csv"));
        // Another tenant's same path, and a name that moves a byte between tenant and path.
        assert_ne!(tag, key.path_tag("acme2", "/out/a.csv"));
        assert_ne!(key.path_tag("ab", "c"), key.path_tag("a", "bc"));
        // The tag is the key's, not the path's: the same key unwrapped again gives it, another
        // ledger's key does not.
        let again = master.unwrap_ledger_body_key(&wrapped).unwrap();
        assert_eq!(again.path_tag("acme", "/out/a.csv"), tag);
        let (other, _) = master.new_ledger_body_key();
        assert_ne!(other.path_tag("acme", "/out/a.csv"), tag);
    }

    #[test]
    fn master_rotation_keeps_tenant_keys() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let (tk, wrapped) = old.new_tenant_key(1, 3);
        let rewrapped = old.rewrap_tenant_key(&new, 1, 3, &wrapped).unwrap();
        let tk2 = new.unwrap_tenant_key(1, 3, &rewrapped).unwrap();
        assert_eq!(tk.name_mac(b"x"), tk2.name_mac(b"x"));
        assert!(old.unwrap_tenant_key(1, 3, &rewrapped).is_err());
    }

    #[test]
    fn master_key_file_is_private_and_parsed_strictly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let k = MasterKey::load_or_create(&path, true).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(MasterKey::load_or_create(&path, false).unwrap().id, k.id);
        assert!(format!("{k:?}").contains("<secret>"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            MasterKey::load_or_create(&path, false),
            Err(KeyError::MasterPermissions { .. })
        ));
        assert!(MasterKey::parse("strongroom-master-key-v1 00 11", "x").is_err());
        assert!(MasterKey::load_or_create(&dir.path().join("none"), false).is_err());
    }
}
