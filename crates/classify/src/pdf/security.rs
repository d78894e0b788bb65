//! A PDF's standard security handler asked one question: does the empty user password open
//! the document? A PDF protected only by an owner password (printing or copying restricted)
//! is encrypted, but anyone can open it: what it holds is exposed to whoever takes it, and it
//! must not be counted as exposed only with a key. The check is the one a reader makes
//! (ISO 32000-2, 7.6.4: algorithms 2, 4 and 5 for revisions 2 to 4, with MD5 and RC4; 2.A
//! and 2.B for revisions 5 and 6, with SHA-2 and AES), computed with the RustCrypto and `md5`
//! crates.
//!
//! Where it does, the document's streams are decrypted as a reader opening it would (RC4 or
//! AES-128 with each object's key, AES-256 with the file's), so that what anyone could read
//! is counted.
//!
//! Pure: the encryption dictionary's text and the file's first identifier in, a verdict and a
//! stream's bytes out. Never here: a password other than the empty one, keys of the product's
//! own (those are the vault's).

use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};

use super::syntax::literal_string;
use rc4::{KeyInit, StreamCipher};
use sha2::Digest;

/// The padding a password is completed with (algorithm 2, step a).
const PAD: [u8; 32] = [
    0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
    0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
];

/// What a standard security handler's dictionary says, read from its text.
pub(crate) struct Standard {
    version: u32,
    revision: u32,
    /// How streams are encrypted: `/V` 1 and 2 with RC4; 4 with its crypt filter's method
    /// (`/StmF` names it, `/CFM` says `V2`, `AESV2`, or none); 5 with AES-256.
    stream_method: Option<Vec<u8>>,
    user_key: Option<Vec<u8>>,
    /// The key's length in bytes (revisions 2 to 4).
    key_len: usize,
    owner: Vec<u8>,
    user: Vec<u8>,
    permissions: i32,
    encrypt_metadata: bool,
}

impl Standard {
    /// The standard handler's entries, from the encryption dictionary's text (`None` for
    /// another handler, such as public-key security, or entries missing).
    pub(crate) fn read(dict: &[u8]) -> Option<Standard> {
        use super::syntax::{key_at, name_value, string_value};
        // Its own entries, not its crypt filters' (`/CF << /StdCF << … /Length 16 >> >>`).
        let whole = dict;
        let dict = &top_level(dict);
        if name_value(dict, b"/Filter")? != b"Standard" {
            return None;
        }
        let integer = |key: &[u8]| -> Option<i64> {
            let rest = dict[key_at(dict, key)?..].trim_ascii_start();
            let (negative, digits) = match rest.strip_prefix(b"-") {
                Some(d) => (true, d),
                None => (false, rest),
            };
            let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
            let n: i64 = std::str::from_utf8(&digits[..len.min(12)])
                .ok()?
                .parse()
                .ok()?;
            Some(if negative { -n } else { n })
        };
        let revision = u32::try_from(integer(b"/R")?).ok()?;
        let bits = integer(b"/Length").unwrap_or(40).clamp(40, 128);
        let permissions = integer(b"/P")?;
        // (`/P` is a 32-bit field; some writers give it unsigned.)
        let permissions = i32::try_from(permissions).unwrap_or(permissions as u32 as i32);
        let encrypt_metadata = key_at(dict, b"/EncryptMetadata")
            .is_none_or(|at| !dict[at..].trim_ascii_start().starts_with(b"false"));
        let version = u32::try_from(integer(b"/V").unwrap_or(0)).ok()?;
        // The crypt filter's method (its dictionary is inside `/CF`, so read from the whole
        // text); `/StmF /Identity` leaves streams as they are.
        let stream_method = if name_value(dict, b"/StmF").is_some_and(|f| f == b"Identity") {
            Some(b"None".to_vec())
        } else {
            name_value(whole, b"/CFM")
        };
        Some(Standard {
            version,
            stream_method,
            user_key: string_value(dict, b"/UE"),
            revision,
            key_len: (bits / 8) as usize,
            owner: string_value(dict, b"/O")?,
            user: string_value(dict, b"/U")?,
            permissions,
            encrypt_metadata,
        })
    }

    /// Whether checking the password costs much (revision 6's hash: some 64 rounds of AES and
    /// SHA-2 over 2 to 4 KiB, about a millisecond).
    pub(crate) fn costly(&self) -> bool {
        self.revision == 6
    }

    /// The document opened with the empty user password: its key and how its streams are
    /// encrypted; `None` where that password does not open it (`id`: the first element of the
    /// trailer's `/ID`, used by revisions 2 to 4).
    pub(crate) fn open(&self, id: &[u8]) -> Option<Opened> {
        let key = match self.revision {
            2..=4 => self.legacy_key(id)?,
            5 | 6 => {
                if self.user.len() < 48 {
                    return None;
                }
                let (validation, key_salt) = (&self.user[32..40], &self.user[40..48]);
                let (check, intermediate) = if self.revision == 5 {
                    (
                        sha2::Sha256::digest(validation).to_vec(),
                        sha2::Sha256::digest(key_salt).to_vec(),
                    )
                } else {
                    (hash_2b(&[], validation, &[]), hash_2b(&[], key_salt, &[]))
                };
                if check[..] != self.user[..32] {
                    return None;
                }
                // The file's key: the user key entry decrypted with the intermediate key.
                let mut file_key = self.user_key.clone().filter(|k| k.len() == 32)?;
                let mut cbc =
                    cbc::Decryptor::<aes::Aes256>::new_from_slices(&intermediate, &[0; 16]).ok()?;
                for block in file_key.chunks_exact_mut(16) {
                    let mut b = aes::Block::try_from(&*block).ok()?;
                    cbc.decrypt_block(&mut b);
                    block.copy_from_slice(&b);
                }
                file_key
            }
            _ => return None,
        };
        let cipher = match (self.version, self.stream_method.as_deref()) {
            (1 | 2, _) | (4, Some(b"V2")) => Cipher::Rc4,
            (4, Some(b"AESV2")) => Cipher::Aes128,
            (5, _) => Cipher::Aes256,
            (4, Some(b"None")) => Cipher::Identity,
            _ => return None,
        };
        Some(Opened { key, cipher })
    }

    /// Algorithms 2, 4 and 5: the key from the empty password, where the user entry it gives
    /// is the document's.
    fn legacy_key(&self, id: &[u8]) -> Option<Vec<u8>> {
        let n = if self.revision == 2 {
            5
        } else {
            self.key_len.clamp(5, 16)
        };
        let mut md5 = md5::Context::new();
        md5.consume(PAD);
        md5.consume(&self.owner[..self.owner.len().min(32)]);
        md5.consume(self.permissions.to_le_bytes());
        md5.consume(id);
        if self.revision >= 4 && !self.encrypt_metadata {
            md5.consume([0xFF; 4]);
        }
        let mut hash: [u8; 16] = md5.finalize().into();
        if self.revision >= 3 {
            for _ in 0..50 {
                hash = md5::compute(&hash[..n]).into();
            }
        }
        let key = &hash[..n];
        let opens = if self.revision == 2 {
            let mut u = PAD;
            rc4(key, &mut u);
            self.user.len() >= 32 && u[..] == self.user[..32]
        } else {
            let mut md5 = md5::Context::new();
            md5.consume(PAD);
            md5.consume(id);
            let mut x: [u8; 16] = md5.finalize().into();
            rc4(key, &mut x);
            for i in 1..=19u8 {
                let key_i: Vec<u8> = key.iter().map(|b| b ^ i).collect();
                rc4(&key_i, &mut x);
            }
            self.user.len() >= 16 && x[..] == self.user[..16]
        };
        opens.then(|| key.to_vec())
    }
}

/// How a document's streams are encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cipher {
    Rc4,
    Aes128,
    Aes256,
    Identity,
}

/// A document opened with the empty user password.
pub(crate) struct Opened {
    key: Vec<u8>,
    cipher: Cipher,
}

impl Opened {
    /// The bytes of object `object`'s (generation `generation`) stream, decrypted; `None`
    /// where they cannot be (an AES stream shorter than its IV).
    pub(crate) fn decrypt(&self, object: u32, generation: u16, data: &[u8]) -> Option<Vec<u8>> {
        // Each object's key, but in AES-256: the file's key, the object's number and
        // generation, and for AES a salt, hashed (algorithm 1).
        let object_key = || {
            let mut md5 = md5::Context::new();
            md5.consume(&self.key);
            md5.consume(&object.to_le_bytes()[..3]);
            md5.consume(generation.to_le_bytes());
            if self.cipher == Cipher::Aes128 {
                md5.consume(b"sAlT");
            }
            let hash: [u8; 16] = md5.finalize().into();
            hash[..(self.key.len() + 5).min(16)].to_vec()
        };
        match self.cipher {
            Cipher::Identity => Some(data.to_vec()),
            Cipher::Rc4 => {
                let mut out = data.to_vec();
                rc4(&object_key(), &mut out);
                Some(out)
            }
            Cipher::Aes128 => aes_cbc::<aes::Aes128>(&object_key(), data),
            Cipher::Aes256 => aes_cbc::<aes::Aes256>(&self.key, data),
        }
    }
}

/// RC4 of `data` in place with `key`.
fn rc4(key: &[u8], data: &mut [u8]) {
    if let Ok(mut cipher) = rc4::Rc4::new_from_slice(key) {
        cipher.apply_keystream(data);
    }
}

/// AES-CBC decryption of a stream's bytes: its first 16 bytes the IV, the rest whole blocks
/// (a short last block is dropped), PKCS#7 padding removed where it is valid.
fn aes_cbc<C>(key: &[u8], data: &[u8]) -> Option<Vec<u8>>
where
    C: aes::cipher::BlockCipherDecrypt + aes::cipher::KeyInit,
    C: aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>,
{
    let (iv, rest) = data.split_at_checked(16)?;
    let mut out = rest[..rest.len() / 16 * 16].to_vec();
    let mut cbc = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    for block in out.chunks_exact_mut(16) {
        let mut b = aes::Block::try_from(&*block).ok()?;
        cbc.decrypt_block(&mut b);
        block.copy_from_slice(&b);
    }
    if let Some(&pad) = out.last()
        && (1..=16).contains(&pad)
        && out.len() >= usize::from(pad)
        && out[out.len() - usize::from(pad)..]
            .iter()
            .all(|&b| b == pad)
    {
        out.truncate(out.len() - usize::from(pad));
    }
    Some(out)
}

/// A dictionary's text with the dictionaries inside it blanked out; its strings (`/O` and
/// `/U` may hold any bytes, `<<` too) are passed over whole.
fn top_level(dict: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dict.len());
    let mut depth = 0usize;
    let mut i = 0;
    while i < dict.len() {
        let pair = dict.get(i..i + 2);
        let string_len = match dict[i] {
            b'(' => literal_string(&dict[i..]).map(|(_, n)| n),
            b'<' if pair != Some(b"<<") => memchr::memchr(b'>', &dict[i..]).map(|n| n + 1),
            _ => None,
        };
        if let Some(n) = string_len {
            let string = &dict[i..i + n];
            if depth <= 1 {
                out.extend_from_slice(string);
            } else {
                out.resize(out.len() + n, b' ');
            }
            i += n;
        } else if pair == Some(b"<<") {
            depth += 1;
            out.extend_from_slice(if depth <= 1 { b"<<" } else { b"  " });
            i += 2;
        } else if pair == Some(b">>") {
            out.extend_from_slice(if depth <= 1 { b">>" } else { b"  " });
            depth = depth.saturating_sub(1);
            i += 2;
        } else {
            out.push(if depth <= 1 { dict[i] } else { b' ' });
            i += 1;
        }
    }
    out
}

/// Algorithm 2.B (revision 6): the hash of `password` with `salt` and `user` (the user entry
/// for an owner's password; empty for the user's).
fn hash_2b(password: &[u8], salt: &[u8], user: &[u8]) -> Vec<u8> {
    let mut k: Vec<u8> = sha2::Sha256::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(user)
        .finalize()
        .to_vec();
    let mut round = 0u32;
    loop {
        let unit: Vec<u8> = [password, &k, user].concat();
        let mut e = unit.repeat(64);
        // (A SHA-2 hash is at least 32 bytes: the key and the IV are always there.)
        let Ok(mut cbc) = cbc::Encryptor::<aes::Aes128>::new_from_slices(&k[..16], &k[16..32])
        else {
            return Vec::new();
        };
        for block in e.chunks_exact_mut(16) {
            if let Ok(mut b) = aes::Block::try_from(&*block) {
                cbc.encrypt_block(&mut b);
                block.copy_from_slice(&b);
            }
        }
        // The first 16 bytes as a number, modulo 3: the sum of the bytes, modulo 3.
        let which = e[..16].iter().map(|&b| u32::from(b)).sum::<u32>() % 3;
        k = match which {
            0 => sha2::Sha256::digest(&e).to_vec(),
            1 => sha2::Sha384::digest(&e).to_vec(),
            _ => sha2::Sha512::digest(&e).to_vec(),
        };
        round += 1;
        if round >= 64 && u32::from(*e.last().unwrap_or(&0)) <= round - 32 {
            break;
        }
    }
    k.truncate(32);
    k
}
