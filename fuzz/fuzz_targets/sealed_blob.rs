//! The sealed-blob reader on hostile bytes. Two halves, chosen by the first byte:
//! - a valid sealed file (three chunks, a hole and a short tail) with bytes of its stored form
//!   overwritten as the input says: opening and reading it either fails or returns exactly the
//!   original plaintext, never other bytes (corrupted plaintext is never served);
//! - the input as a whole stored blob, with a declared size and root: never a panic.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use vault::{DataKey, LocalBlobStore, MasterKey, Sealing, Vault};

struct Fixture {
    _dir: tempfile::TempDir,
    vault: Vault,
    key: DataKey,
    plain: Vec<u8>,
    stored: Vec<u8>,
    root: [u8; 32],
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::new(Arc::new(LocalBlobStore::open(dir.path()).unwrap()));
    let key = MasterKey::generate()
        .new_tenant_key(1, 1)
        .0
        .new_data_key()
        .0;
    let mut plain: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let (id, w) = vault.create(Some(&key)).unwrap();
    w.write_at(&plain[..70_000], 0).unwrap();
    // A hole from 70,000 to 140,000 (chunk 1 never written past its start), then data.
    w.write_at(&plain[140_000..], 140_000).unwrap();
    plain[70_000..140_000].fill(0);
    let root = w.finish().unwrap().unwrap();
    w.sync().unwrap();
    let hex = id.to_hex();
    let stored = std::fs::read(dir.path().join(&hex[..2]).join(&hex[2..])).unwrap();
    Fixture {
        _dir: dir,
        vault,
        key,
        plain,
        stored,
        root,
    }
});

fn read_all(r: &dyn vault::BlobReader, size: usize) -> Result<Vec<u8>, vault::BlobError> {
    let mut out = vec![0u8; size];
    let mut done = 0;
    while done < size {
        let n = r.read_at(&mut out[done..(done + 100_000).min(size)], done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    out.truncate(done);
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let f = &*FIXTURE;
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let sealing = Some(Sealing {
        key: &f.key,
        root: &f.root,
    });
    if mode & 1 == 0 {
        // Overwrites: (offset u32, byte) pairs into the stored form.
        let mut stored = f.stored.clone();
        for pair in rest.chunks_exact(5) {
            let at = u32::from_be_bytes([pair[0], pair[1], pair[2], pair[3]]) as usize;
            let len = stored.len();
            if let Some(b) = stored.get_mut(at % (len + 1)) {
                *b = pair[4];
            }
        }
        let Ok(r) = f.vault.open_inline(
            vault::BlobId::random(),
            stored,
            f.plain.len() as u64,
            sealing,
        ) else {
            return;
        };
        if let Ok(got) = read_all(r.as_ref(), f.plain.len()) {
            assert!(got == f.plain[..got.len()], "altered plaintext served");
        }
    } else {
        let size = rest.len() as u64 * u64::from(mode);
        if let Ok(r) = f
            .vault
            .open_inline(vault::BlobId::random(), rest.to_vec(), size, sealing)
        {
            let _ = read_all(r.as_ref(), size.min(1 << 20) as usize);
        }
    }
});
