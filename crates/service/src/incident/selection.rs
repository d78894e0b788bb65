//! What an incident report is about: sessions chosen by criteria (accounts, addresses and
//! networks, sessions, credentials), and whether a ledger record matches one. Never here:
//! reading the ledger or what the sessions did.

use events::Event;

/// What a report is about: sessions chosen by one or more criteria. Several values of one
/// kind select any of them (`--ip` twice: either network); criteria of different kinds must all
/// hold (`--user bob --ip 203.0.113.0/24`: bob's sessions from that network, not those of the
/// bob who works from the office with the same account).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub accounts: Vec<String>,
    /// Source addresses or networks (read as [`crate::ledger_read::address_filters`] says):
    /// every account that came from them (canonical: [`crate::gate::network::one`]).
    pub networks: Vec<crate::gate::network::IpNet>,
    pub sessions: Vec<String>,
    /// The sessions a key (its SHA256 fingerprint) or a certificate (its key id) opened.
    pub credentials: Vec<String>,
    /// The sessions an alert names.
    pub alerts: Vec<String>,
    /// Sources left out whatever else selects them (an account's owner's office network, to
    /// see what the account did from anywhere else).
    pub except_networks: Vec<crate::gate::network::IpNet>,
    /// Only what was done in these tenants (client institutions): the part of a report that
    /// can be given to one of them, without another's files, accounts or totals. Narrows the
    /// other criteria; not a selection on its own.
    pub tenants: Vec<String>,
}

impl Selection {
    /// Whether it selects nothing at all (no criterion given).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
            && self.networks.is_empty()
            && self.sessions.is_empty()
            && self.credentials.is_empty()
            && self.alerts.is_empty()
    }
}

impl std::fmt::Display for Selection {
    /// `account bob and network 203.0.113.0/24`; `session a or session b`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn any_of<T>(values: &[T], one: impl Fn(&T) -> String) -> Option<String> {
            (!values.is_empty()).then(|| values.iter().map(one).collect::<Vec<_>>().join(" or "))
        }
        let kinds = [
            any_of(&self.accounts, |a| format!("account {a}")),
            any_of(&self.networks, network_named),
            any_of(&self.sessions, |s| format!("session {s}")),
            any_of(&self.credentials, |k| format!("credential {k}")),
            any_of(&self.alerts, |a| format!("alert {a}")),
            any_of(&self.except_networks, |n| {
                format!("not {}", network_named(n))
            }),
            any_of(&self.tenants, |t| format!("tenant {t}")),
        ];
        let given: Vec<String> = kinds.into_iter().flatten().collect();
        if given.len() > 1 {
            // Each kind in parentheses when it has alternatives, so that the `and`s read right.
            let parts: Vec<String> = given
                .into_iter()
                .map(|k| {
                    if k.contains(" or ") {
                        format!("({k})")
                    } else {
                        k
                    }
                })
                .collect();
            write!(f, "{}", parts.join(" and "))
        } else {
            write!(f, "{}", given.concat())
        }
    }
}

/// `address 203.0.113.7` or `network 203.0.113.0/24`.
fn network_named(n: &crate::gate::network::IpNet) -> String {
    if n.prefix_len() == n.max_prefix_len() {
        format!("address {}", n.addr())
    } else {
        format!("network {n}")
    }
}

/// One kind of a selection's criteria, as the records show it: a record matches when its
/// session, its account, its source or its tenant is one of these (any of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criterion {
    pub sessions: std::collections::BTreeSet<String>,
    pub accounts: std::collections::BTreeSet<String>,
    pub networks: Vec<crate::gate::network::IpNet>,
    /// Records of these tenants; and records that name no tenant (a refused login for a name
    /// no account has, or recorded before refusals named the account's tenant) whose account
    /// is one of `tenant_accounts`.
    pub tenants: std::collections::BTreeSet<String>,
    pub tenant_accounts: std::collections::BTreeSet<String>,
}

impl Criterion {
    /// Whether record `e` matches it.
    pub fn matches(&self, e: &Event) -> bool {
        e.session
            .as_ref()
            .is_some_and(|s| self.sessions.contains(s))
            || e.account
                .as_ref()
                .is_some_and(|a| self.accounts.contains(a))
            || from_any(e, &self.networks)
            || match &e.tenant {
                Some(t) => self.tenants.contains(t),
                None => e
                    .account
                    .as_ref()
                    .is_some_and(|a| self.tenant_accounts.contains(a)),
            }
    }
}

/// Whether record `e` came from one of `networks`.
pub(super) fn from_any(e: &Event, networks: &[crate::gate::network::IpNet]) -> bool {
    e.source.is_some_and(|s| {
        let ip = crate::gate::network::canonical(s.ip());
        networks.iter().any(|n| n.contains(&ip))
    })
}
