//! The defender: scores failed logins per source and per account, bans sources with
//! escalating durations, and recognises spraying (one source, many accounts) and stuffing (one
//! account, many sources). A source is an IPv4 address, or an IPv6 address's network of
//! [`DefenderConfig::ipv6_prefix`] bits (a /64 by default: what one host or site is given, as
//! it is given one IPv4 address; scored per /128, an attacker rotating addresses within it had
//! fresh attempts and earned a ban per address). Bans live in the catalog so that `strongroom
//! ban list/remove` see and change them; the server keeps an in-memory copy, refreshed every
//! few seconds, so that a banned source is refused at accept, before any key exchange.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use catalog::{Ban, Catalog};

use ipnet::IpNet;

use super::network::canonical;

/// Tunables, with the defaults in [`Default`].
#[derive(Debug, Clone)]
pub struct DefenderConfig {
    /// Failures are counted over this many seconds.
    pub window_secs: i64,
    /// Failures from one address within the window that earn a ban.
    pub max_failures_per_address: usize,
    /// Distinct accounts failed from one address within the window that count as spraying.
    pub spray_accounts: usize,
    /// Distinct addresses failing on one account within the window that count as stuffing.
    pub stuffing_addresses: usize,
    /// Ban durations by level (the last one repeats).
    pub ban_secs: Vec<i64>,
    /// How long an account under stuffing requires its second factor (or is soft-locked).
    pub attack_secs: i64,
    /// The bits of an IPv6 address that make its source (64: its network; 128: each address).
    pub ipv6_prefix: u8,
}

impl Default for DefenderConfig {
    fn default() -> Self {
        Self {
            window_secs: 600,
            max_failures_per_address: 10,
            spray_accounts: 5,
            stuffing_addresses: 5,
            ban_secs: vec![15 * 60, 60 * 60, 24 * 60 * 60],
            attack_secs: 30 * 60,
            ipv6_prefix: 64,
        }
    }
}

/// What a failure led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Banned {
        level: i64,
        until: i64,
        reason: &'static str,
    },
    AccountUnderAttack {
        until: i64,
    },
}

/// Per source (an address, or the first address of an IPv6 source's network).
#[derive(Default)]
struct State {
    by_address: HashMap<IpAddr, VecDeque<(i64, String)>>,
    by_account: HashMap<String, VecDeque<(i64, IpAddr)>>,
    /// source → (until, level), expired ones kept for escalation.
    bans: HashMap<IpAddr, (i64, i64)>,
    /// Other networks (and IPv6 addresses narrower than a source) an administrator banned,
    /// with their ends.
    banned_networks: Vec<(IpNet, i64)>,
    /// When every ban was last read, the latest made among those read (what the next reading
    /// starts from), and when those past [`FORGET_BANS_AFTER_SECS`] or [`MAX_ENDED_BANS`] were
    /// last deleted.
    loaded_at: Option<i64>,
    made_since: i64,
    forgotten_at: i64,
}

pub struct Defender {
    config: DefenderConfig,
    state: Mutex<State>,
}

/// Most failure records kept per address or account (the window is short anyway).
const MAX_RECORDS: usize = 256;

/// How long a ban is remembered after its end, for escalation (an address banned again within
/// it gets the next, longer ban); then it is forgotten. Without an end to them, every address
/// ever banned stayed in the catalog and in memory, all of them re-read every few seconds:
/// 300,000 (a year of an internet-facing port's background of brute force, or a day of an
/// attacker rotating IPv6 addresses) kept an idle server's core 85% busy and 200 MB resident.
pub const FORGET_BANS_AFTER_SECS: i64 = 7 * 86_400;
/// Most ended bans remembered (those that ended last): an attacker rotating addresses cannot
/// grow them past it within the week (as OpenSSH bounds the sources its penalties track).
pub const MAX_ENDED_BANS: u32 = 100_000;
/// How often the bans past either bound are deleted (seconds).
const FORGET_EVERY_SECS: i64 = 60;
/// How often every ban is read again though none was said to change (seconds): one removed
/// by a command that could not tell the server. Between, only those made since are read.
const RELOAD_EVERY_SECS: i64 = 600;

/// Whether [`Defender::refresh`] reads every ban again, or those made since it last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    Always,
    Since,
}

impl Defender {
    pub fn new(config: DefenderConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The source `ip` counts for: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), or the
    /// first address of its IPv6 network.
    fn source(&self, ip: IpAddr) -> IpAddr {
        match canonical(ip) {
            IpAddr::V6(v6) if self.config.ipv6_prefix < 128 => {
                let host_bits = 128 - u32::from(self.config.ipv6_prefix);
                let bits = u128::from(v6) & u128::MAX.checked_shl(host_bits).unwrap_or(0);
                IpAddr::V6(bits.into())
            }
            other => other,
        }
    }

    /// The source `ip` counts for as its ban names it: the address, or the IPv6 network
    /// (`2001:db8:1:2::/64`).
    pub fn source_of(&self, ip: IpAddr) -> String {
        match self.source(ip) {
            IpAddr::V6(v6) if self.config.ipv6_prefix < 128 => {
                format!("{v6}/{}", self.config.ipv6_prefix)
            }
            other => other.to_string(),
        }
    }

    pub fn is_banned(&self, ip: IpAddr, now: i64) -> bool {
        let ip = canonical(ip);
        let st = self.lock();
        st.bans
            .get(&self.source(ip))
            .is_some_and(|(until, _)| *until > now)
            || st
                .banned_networks
                .iter()
                .any(|(net, until)| *until > now && net.contains(&ip))
    }

    /// Counts a failed login of `account` from `ip` (its source) and decides.
    pub fn record_failure(&self, ip: IpAddr, account: &str, now: i64) -> Vec<Verdict> {
        let ip = self.source(ip);
        let cutoff = now - self.config.window_secs;
        let mut st = self.lock();
        let mut verdicts = Vec::new();

        let per_ip = st.by_address.entry(ip).or_default();
        per_ip.push_back((now, account.to_owned()));
        while per_ip.front().is_some_and(|(t, _)| *t < cutoff) || per_ip.len() > MAX_RECORDS {
            per_ip.pop_front();
        }
        let failures = per_ip.len();
        let mut accounts: Vec<&str> = per_ip.iter().map(|(_, a)| a.as_str()).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let reason = if accounts.len() >= self.config.spray_accounts {
            Some("password spraying: one address tried many accounts")
        } else if failures >= self.config.max_failures_per_address {
            Some("too many failed logins")
        } else {
            None
        };
        if let Some(reason) = reason {
            let level = st.bans.get(&ip).map_or(1, |(_, l)| l + 1);
            let idx = ((level - 1) as usize).min(self.config.ban_secs.len().saturating_sub(1));
            let until = now + self.config.ban_secs.get(idx).copied().unwrap_or(3600);
            st.bans.insert(ip, (until, level));
            st.by_address.remove(&ip);
            verdicts.push(Verdict::Banned {
                level,
                until,
                reason,
            });
        }

        let per_account = st.by_account.entry(account.to_owned()).or_default();
        per_account.push_back((now, ip));
        while per_account.front().is_some_and(|(t, _)| *t < cutoff)
            || per_account.len() > MAX_RECORDS
        {
            per_account.pop_front();
        }
        let mut addresses: Vec<IpAddr> = per_account.iter().map(|(_, a)| *a).collect();
        addresses.sort_unstable();
        addresses.dedup();
        if addresses.len() >= self.config.stuffing_addresses {
            st.by_account.remove(account);
            verdicts.push(Verdict::AccountUnderAttack {
                until: now + self.config.attack_secs,
            });
        }
        // Keep the maps bounded: drop idle entries.
        if st.by_address.len() > 100_000 {
            st.by_address
                .retain(|_, v| v.back().is_some_and(|(t, _)| *t >= cutoff));
        }
        if st.by_account.len() > 100_000 {
            st.by_account
                .retain(|_, v| v.back().is_some_and(|(t, _)| *t >= cutoff));
        }
        verdicts
    }

    /// A successful login forgives that account's failures from that address (a client that
    /// offers a plain key before its certificate fails once on every login).
    pub fn record_success(&self, ip: IpAddr, account: &str) {
        let ip = self.source(ip);
        let mut st = self.lock();
        if let Some(q) = st.by_address.get_mut(&ip) {
            q.retain(|(_, a)| a != account);
        }
        if let Some(q) = st.by_account.get_mut(account) {
            q.retain(|(_, a)| *a != ip);
        }
    }

    /// Replaces the in-memory bans with the catalog's (so `ban remove` takes effect).
    pub fn load(&self, bans: &[Ban]) {
        let (mut map, mut networks) = (HashMap::new(), Vec::new());
        take_up(bans, self.config.ipv6_prefix, &mut map, &mut networks);
        let mut st = self.lock();
        st.bans = map;
        st.banned_networks = networks;
    }

    /// Re-reads the bans from the catalog: every one with [`Reload::Always`] (and every
    /// 10 minutes, or after old ones were deleted), else those made or renewed
    /// since the last reading; first, once a minute, deletes those that ended over
    /// [`FORGET_BANS_AFTER_SECS`] before `now` or beyond the [`MAX_ENDED_BANS`] that ended last.
    pub async fn refresh(&self, catalog: &Catalog, now: i64, reload: Reload) {
        let (forget, mut whole, since) = {
            let mut st = self.lock();
            let forget = now - st.forgotten_at >= FORGET_EVERY_SECS;
            if forget {
                st.forgotten_at = now;
            }
            let stale = st.loaded_at.is_none_or(|t| now - t >= RELOAD_EVERY_SECS);
            (forget, reload == Reload::Always || stale, st.made_since)
        };
        if forget {
            let before = now - FORGET_BANS_AFTER_SECS;
            match catalog.forget_bans(before, now, MAX_ENDED_BANS).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(
                        forgotten = n,
                        "bans ended over a week ago, or beyond the most kept, forgotten"
                    );
                    whole = true;
                }
                Err(e) => tracing::warn!(error = %e, "could not forget old bans"),
            }
        }
        let read = if whole {
            catalog.bans().await
        } else {
            catalog.bans_made_since(since).await
        };
        let bans = match read {
            Ok(bans) => bans,
            Err(e) => return tracing::warn!(error = %e, "could not refresh bans"),
        };
        // Not past now: a ban dated ahead (another clock) must not hide those made until then.
        let latest = bans.iter().map(|b| b.created_at.min(now)).max();
        if whole {
            self.load(&bans);
        } else {
            self.merge(&bans);
        }
        let mut st = self.lock();
        if whole {
            st.loaded_at = Some(now);
            st.made_since = latest.unwrap_or(0);
        } else if let Some(latest) = latest {
            st.made_since = st.made_since.max(latest);
        }
    }

    /// Takes up bans made or renewed since the last reading, keeping the rest.
    fn merge(&self, bans: &[Ban]) {
        let st = &mut *self.lock();
        take_up(
            bans,
            self.config.ipv6_prefix,
            &mut st.bans,
            &mut st.banned_networks,
        );
    }
}

/// Adds `bans` to the sources' bans (an IPv4 address; an IPv6 network of `ipv6_prefix` bits,
/// or an address where that is 128) and to the other networks banned (an IPv6 address or
/// network narrower or wider than a source); a ban of one already there replaces it.
fn take_up(
    bans: &[Ban],
    ipv6_prefix: u8,
    map: &mut HashMap<IpAddr, (i64, i64)>,
    networks: &mut Vec<(IpNet, i64)>,
) {
    for b in bans {
        let net = match b.address.parse::<IpAddr>().map(canonical) {
            Ok(IpAddr::V6(v6)) if ipv6_prefix < 128 => IpNet::from(IpAddr::V6(v6)),
            Ok(ip) => {
                map.insert(ip, (b.until, b.level));
                continue;
            }
            Err(_) => match super::network::one(&b.address) {
                Ok(IpNet::V6(v6)) if v6.prefix_len() == ipv6_prefix => {
                    map.insert(IpAddr::V6(v6.network()), (b.until, b.level));
                    continue;
                }
                Ok(net) => net,
                Err(_) => continue,
            },
        };
        networks.retain(|(n, _)| *n != net);
        networks.push((net, b.until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A ban of `address` for failed logins, at `level`, until `until`, made at 0.
    fn failures_ban(address: &str, level: i64, until: i64) -> Ban {
        Ban {
            address: address.into(),
            level,
            until,
            reason: "too many failed logins".into(),
            created_at: 0,
        }
    }

    /// Bans are forgotten a week after their end (the catalog's and the defender's copy), not
    /// kept forever and re-read every few seconds; until then one escalates the next; a ban
    /// made by another process is read at the next refresh.
    #[tokio::test]
    async fn bans_are_forgotten_a_week_after_their_end() {
        let dir = tempfile::tempdir().unwrap();
        let (catalog, _) = crate::test_catalog::with_tenant(dir.path()).await;
        let now = 10_000_000;
        let ban = |address: &str, level, until: i64| Ban {
            created_at: until - 900,
            ..failures_ban(address, level, until)
        };
        for b in [
            ban("10.0.0.1", 3, now - FORGET_BANS_AFTER_SECS - 1),
            ban("10.0.0.2", 2, now - 3600),
            ban("10.0.0.3", 1, now + 600),
        ] {
            catalog.upsert_ban(&b).await.unwrap();
        }
        let d = Defender::new(DefenderConfig::default());
        d.refresh(&catalog, now, Reload::Since).await;
        let kept = async || -> Vec<String> {
            let mut a: Vec<String> = catalog
                .bans()
                .await
                .unwrap()
                .into_iter()
                .map(|b| b.address)
                .collect();
            a.sort();
            a
        };
        assert_eq!(kept().await, ["10.0.0.2", "10.0.0.3"]);
        assert!(d.is_banned(ip("10.0.0.3"), now) && !d.is_banned(ip("10.0.0.2"), now));
        let banned_again = |address: &str| {
            for _ in 0..9 {
                assert_eq!(d.record_failure(ip(address), "alice", now), vec![]);
            }
            match d.record_failure(ip(address), "alice", now).first() {
                Some(Verdict::Banned { level, .. }) => *level,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            banned_again("10.0.0.2"),
            3,
            "remembered: the next ban is longer"
        );
        assert_eq!(banned_again("10.0.0.1"), 1, "forgotten: a first ban");

        catalog
            .upsert_ban(&ban("10.0.0.4", 1, now + 600))
            .await
            .unwrap();
        d.refresh(&catalog, now + 2, Reload::Since).await;
        assert!(d.is_banned(ip("10.0.0.4"), now + 2));

        // Of the ended bans, only the most recent are kept beyond the bound.
        for (i, a) in ["10.0.1.1", "10.0.1.2", "10.0.1.3"].into_iter().enumerate() {
            catalog
                .upsert_ban(&ban(a, 1, now - 100 + i as i64))
                .await
                .unwrap();
        }
        let before = now - FORGET_BANS_AFTER_SECS;
        assert_eq!(catalog.forget_bans(before, now, 2).await.unwrap(), 2);
        assert_eq!(
            kept().await,
            ["10.0.0.3", "10.0.0.4", "10.0.1.2", "10.0.1.3"]
        );
    }

    #[test]
    fn bans_escalate_and_expire() {
        let d = Defender::new(DefenderConfig::default());
        let mut now = 1000;
        for _ in 0..9 {
            assert_eq!(d.record_failure(ip("10.0.0.1"), "alice", now), vec![]);
            now += 1;
        }
        let v = d.record_failure(ip("10.0.0.1"), "alice", now);
        assert!(matches!(v[0], Verdict::Banned { level: 1, until, .. } if until == now + 900));
        assert!(d.is_banned(ip("10.0.0.1"), now + 899));
        assert!(!d.is_banned(ip("10.0.0.2"), now));
        assert!(!d.is_banned(ip("10.0.0.1"), now + 900));
        now += 1000;
        for _ in 0..9 {
            d.record_failure(ip("10.0.0.1"), "alice", now);
        }
        let v = d.record_failure(ip("10.0.0.1"), "alice", now);
        assert!(matches!(v[0], Verdict::Banned { level: 2, until, .. } if until == now + 3600));
    }

    /// A banned network refuses every address in it (IPv4-mapped ones too) until its end.
    #[test]
    fn a_banned_network_refuses_its_addresses() {
        let d = Defender::new(DefenderConfig::default());
        let ban = |address: &str, until| Ban {
            address: address.into(),
            level: 1,
            until,
            reason: "by an administrator".into(),
            created_at: 0,
        };
        d.load(&[
            ban("203.0.113.0/24", 2000),
            ban("2001:db8::/32", 2000),
            ban("198.51.100.7", 2000),
        ]);
        assert!(d.is_banned(ip("203.0.113.200"), 1999));
        assert!(d.is_banned(ip("::ffff:203.0.113.1"), 1999));
        assert!(d.is_banned(ip("2001:db8:1::5"), 1999));
        assert!(d.is_banned(ip("198.51.100.7"), 1999));
        assert!(!d.is_banned(ip("203.0.114.1"), 1999));
        assert!(!d.is_banned(ip("198.51.100.8"), 1999));
        assert!(!d.is_banned(ip("203.0.113.200"), 2000), "ended");
        // A reload without it (ban remove) lifts it.
        d.load(&[]);
        assert!(!d.is_banned(ip("203.0.113.200"), 1999));
    }

    /// A ban lifted in the catalog (`ban remove`, on this node or another, told or not) is lifted
    /// at the next reading of the bans made since the last, as a renewal is; the address's
    /// next ban starts its escalation afresh, and a ban not in force cannot be lifted.
    #[tokio::test]
    async fn a_ban_lifted_in_the_catalog_is_lifted_at_the_next_reading() {
        let dir = tempfile::tempdir().unwrap();
        let (catalog, _) = crate::test_catalog::with_tenant(dir.path()).await;
        let now = 10_000_000;
        let ban = |address: &str, level, until: i64| Ban {
            created_at: now - 10,
            ..failures_ban(address, level, until)
        };
        for b in [
            ban("10.0.0.1", 3, now + 3600),
            ban("2001:db8:1:2::/64", 2, now + 3600),
            ban("10.0.0.2", 1, now - 5),
        ] {
            catalog.upsert_ban(&b).await.unwrap();
        }
        let d = Defender::new(DefenderConfig::default());
        d.refresh(&catalog, now, Reload::Since).await;
        assert!(d.is_banned(ip("10.0.0.1"), now + 1));
        assert!(d.is_banned(ip("2001:db8:1:2::9"), now + 1));
        for address in ["10.0.0.1", "2001:db8:1:2::/64"] {
            (catalog.lift_ban(address, now + 1, "lifted by an administrator"))
                .await
                .unwrap();
        }
        let not_in_force = catalog.lift_ban("10.0.0.2", now + 1, "lifted").await;
        assert!(matches!(
            not_in_force,
            Err(catalog::CatalogError::NotFound { .. })
        ));
        let never = catalog.lift_ban("10.0.0.3", now + 1, "lifted").await;
        assert!(matches!(never, Err(catalog::CatalogError::NotFound { .. })));
        d.refresh(&catalog, now + 2, Reload::Since).await;
        assert!(!d.is_banned(ip("10.0.0.1"), now + 2));
        assert!(!d.is_banned(ip("2001:db8:1:2::9"), now + 2));
        for _ in 0..9 {
            assert_eq!(d.record_failure(ip("10.0.0.1"), "alice", now + 3), vec![]);
        }
        let v = d.record_failure(ip("10.0.0.1"), "alice", now + 3);
        assert!(matches!(v[0], Verdict::Banned { level: 1, .. }), "{v:?}");
    }

    /// An IPv6 source is its /64: addresses rotated within it share one score and one ban
    /// (before, each of 2^64 addresses had ten attempts of its own); another /64 is apart. Its
    /// ban is stored under the network, read back with its level (escalation), and an
    /// administrator's ban of one IPv6 address refuses that address alone.
    #[test]
    fn ipv6_addresses_are_scored_and_banned_by_their_network() {
        let d = Defender::new(DefenderConfig::default());
        let now = 1000;
        for i in 1..10 {
            let v = d.record_failure(ip(&format!("2001:db8:1:2::{i:x}")), "alice", now);
            assert_eq!(v, vec![], "attempt {i}");
        }
        let v = d.record_failure(ip("2001:db8:1:2:aaaa::1"), "alice", now);
        assert!(matches!(v[0], Verdict::Banned { level: 1, .. }), "{v:?}");
        assert_eq!(d.source_of(ip("2001:db8:1:2::77")), "2001:db8:1:2::/64");
        assert!(d.is_banned(ip("2001:db8:1:2:ffff::9"), now + 1));
        assert!(!d.is_banned(ip("2001:db8:1:3::1"), now + 1));
        assert_eq!(d.source_of(ip("::ffff:192.0.2.1")), "192.0.2.1");

        let ban = failures_ban;
        let reloaded = Defender::new(DefenderConfig::default());
        reloaded.load(&[
            ban("2001:db8:1:2::/64", 2, now + 60),
            ban("2001:db8:9::5", 1, now + 60),
        ]);
        assert!(reloaded.is_banned(ip("2001:db8:1:2::1234"), now + 1));
        assert!(reloaded.is_banned(ip("2001:db8:9::5"), now + 1));
        assert!(!reloaded.is_banned(ip("2001:db8:9::6"), now + 1));
        // Banned again after its end: the next level.
        for i in 0..9 {
            reloaded.record_failure(ip(&format!("2001:db8:1:2::{i}")), "bob", now + 100);
        }
        let v = reloaded.record_failure(ip("2001:db8:1:2::1"), "bob", now + 100);
        assert!(matches!(v[0], Verdict::Banned { level: 3, .. }), "{v:?}");

        // Per address where so configured (128), as before.
        let each = Defender::new(DefenderConfig {
            ipv6_prefix: 128,
            ..DefenderConfig::default()
        });
        for i in 1..=20 {
            let v = each.record_failure(ip(&format!("2001:db8:1:2::{i:x}")), "carol", now);
            assert!(
                !v.iter().any(|v| matches!(v, Verdict::Banned { .. })),
                "attempt {i}: {v:?}"
            );
        }
        assert_eq!(each.source_of(ip("2001:db8:1:2::77")), "2001:db8:1:2::77");
    }

    #[test]
    fn success_forgives_the_accounts_failures_from_that_address() {
        let d = Defender::new(DefenderConfig::default());
        for i in 0..30 {
            assert!(
                d.record_failure(ip("10.0.0.1"), "carol", i).is_empty(),
                "login {i}"
            );
            d.record_success(ip("10.0.0.1"), "carol");
        }
    }

    #[test]
    fn spraying_and_stuffing_are_recognised() {
        let d = Defender::new(DefenderConfig::default());
        for (i, user) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(
                d.record_failure(ip("10.0.0.9"), user, 100 + i as i64)
                    .is_empty()
            );
        }
        let v = d.record_failure(ip("10.0.0.9"), "e", 110);
        assert!(matches!(v[0], Verdict::Banned { reason, .. } if reason.contains("spraying")));

        for i in 1..5 {
            assert!(
                d.record_failure(ip(&format!("192.0.2.{i}")), "bob", 200)
                    .is_empty()
            );
        }
        let v = d.record_failure(ip("192.0.2.99"), "bob", 201);
        assert_eq!(v, vec![Verdict::AccountUnderAttack { until: 201 + 1800 }]);
    }
}
