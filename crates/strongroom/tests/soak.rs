//! Load: many concurrent sessions from several 127.x addresses doing mixed uploads, downloads
//! (contents checked), listings, renames and removes; no errors, server memory and descriptors
//! flat, the ledger verifies. The short soak runs in the suite; `bench/soak` runs the long one
//! (`full_soak`, 500 sessions for 10 minutes) and `idle_sessions` (10,000 idle sessions).
//!
//! Sizes come from the environment: SOAK_SESSIONS, SOAK_SECS, SOAK_SAMPLE_SECS, IDLE_SESSIONS.

#[path = "support/load.rs"]
mod load;
mod support;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use load::{Session, Totals, load_key, mixed_work, server_footprint};
use support::Server;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Distinct loopback sources, as different clients.
const ADDRESSES: u8 = 16;

fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (i % ADDRESSES as usize) as u8)
}

fn soak_server() -> (Server, support::Client) {
    let server = Server::start_with_config(
        "[limits]\nmax_sessions_per_account = 100000\nmax_connections_per_address = 2000\n\
         max_unauthenticated = 1024\nauth_rejection_ms = 100\n",
    );
    let alice = server.account("acme", "alice", "full");
    alice.sftp_ok("mkdir /load\n");
    (server, alice)
}

fn soak(sessions: usize, secs: u64, sample_every: Duration) {
    let (mut server, alice) = soak_server();
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let key = load_key(alice.key());
    let pid = server.pid();
    let totals = Arc::new(Totals::default());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let mut samples: Vec<(u64, u64, usize, u64)> = Vec::new();
    let results = rt.block_on(async {
        let mut tasks = Vec::new();
        let opening = Arc::new(tokio::sync::Semaphore::new(64));
        for i in 0..sessions {
            let (key, totals, opening) = (key.clone(), totals.clone(), opening.clone());
            tasks.push(tokio::spawn(async move {
                let permit = opening.acquire_owned().await.unwrap();
                let s = Session::open(source(i), addr, "alice", key).await?;
                drop(permit);
                mixed_work(i, s, until, totals).await
            }));
        }
        let sampler = {
            let totals = totals.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while Instant::now() < until {
                    tokio::time::sleep(sample_every).await;
                    let (rss, fds) = server_footprint(pid);
                    let ops = totals.ops.load(Ordering::Relaxed);
                    let t = start.elapsed().as_secs();
                    println!(
                        "soak t={t:>4}s  server RSS {:>5} MiB  fds {fds:>5}  ops {ops:>8}  errors {}",
                        rss / 1024,
                        totals.errors.load(Ordering::Relaxed)
                    );
                    samples.push((t, rss, fds, ops));
                }
                samples
            })
        };
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        samples = sampler.await.unwrap();
        results
    });
    let failed: Vec<String> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("session {i}: {}", e.0)))
        .collect();
    let (ops, verified, bytes) = (
        totals.ops.load(Ordering::Relaxed),
        totals.verified.load(Ordering::Relaxed),
        totals.bytes.load(Ordering::Relaxed),
    );
    println!(
        "soak: {sessions} sessions, {secs} s: {ops} operations ({:.0}/s), {verified} downloads \
         verified, {} MiB moved, {} failed sessions",
        ops as f64 / secs as f64,
        bytes >> 20,
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "{} sessions failed: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(
        verified > sessions as u64,
        "only {verified} downloads verified"
    );
    // Flat: from the first sample with every session running to the last one.
    if samples.len() >= 3 {
        let (first, last) = (samples[1], samples[samples.len() - 1]);
        assert!(
            last.2 <= first.2 + 32,
            "descriptors grew from {} to {}",
            first.2,
            last.2
        );
        assert!(
            last.1 <= first.1 * 3 / 2 + 64 * 1024,
            "RSS grew from {} to {} KiB",
            first.1,
            last.1
        );
    }
    drop(rt);
    server.stop();
    server.assert_ledger_verifies();
}

#[test]
fn short_soak() {
    soak(
        env("SOAK_SESSIONS", 48) as usize,
        env("SOAK_SECS", 20),
        Duration::from_secs(env("SOAK_SAMPLE_SECS", 5)),
    );
}

/// `bench/soak`: 500 sessions for 10 minutes, a sample every minute.
#[test]
#[ignore]
fn full_soak() {
    soak(
        env("SOAK_SESSIONS", 500) as usize,
        env("SOAK_SECS", 600),
        Duration::from_secs(env("SOAK_SAMPLE_SECS", 60)),
    );
}

/// `bench/soak --idle`: 10,000 authenticated sessions held at once; the server's memory per
/// session, and how long a new login takes meanwhile.
#[test]
#[ignore]
fn idle_sessions() {
    let n = env("IDLE_SESSIONS", 10_000) as usize;
    let (server, alice) = soak_server();
    let addr: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let key = load_key(alice.key());
    let pid = server.pid();
    let (rss0, fds0) = server_footprint(pid);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let sessions = rt.block_on(async {
        let opening = Arc::new(tokio::sync::Semaphore::new(128));
        let mut tasks = Vec::new();
        for i in 0..n {
            let (key, opening) = (key.clone(), opening.clone());
            tasks.push(tokio::spawn(async move {
                let _p = opening.acquire_owned().await.unwrap();
                Session::open(source(i), addr, "alice", key).await
            }));
        }
        let mut sessions = Vec::new();
        for t in tasks {
            sessions.push(t.await.unwrap().map_err(|e| e.0).unwrap());
        }
        sessions
    });
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let (rss1, fds1) = server_footprint(pid);
    let per_session = (rss1.saturating_sub(rss0)) * 1024 / n as u64;
    let t = Instant::now();
    alice.sftp_ok("ls /\n");
    let login = t.elapsed();
    println!(
        "idle: {n} sessions opened in {opened:.1?}; server RSS {} -> {} MiB ({per_session} bytes \
         per session), fds {fds0} -> {fds1}; a new login and listing meanwhile: {login:.2?}",
        rss0 / 1024,
        rss1 / 1024
    );
    assert_eq!(sessions.len(), n);
    assert!(rss1 < 1024 * 1024, "RSS {} MiB", rss1 / 1024);
    assert!(login < Duration::from_secs(5), "a new login took {login:?}");
    drop(sessions);
    drop(rt);
}
