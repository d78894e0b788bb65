//! An account's login policy applied: to a first factor as a login presents it, and to a live
//! session after the policy changed. One judgement for both, so that a session lives on only
//! while a login like its own would be let in. Pure: the policy, the session's methods, its
//! source and the time in; never reads the catalog or ends a session itself (the gate does).

use std::fmt;
use std::net::IpAddr;

use catalog::LoginPolicy;

use super::{Method, Refusal, network};

impl Method {
    /// The first factor a session's methods (`publickey+totp`) name, if one of ours.
    pub fn first_of(methods: &str) -> Option<Method> {
        match methods.split('+').next().unwrap_or(methods) {
            "publickey" => Some(Method::PublicKey),
            "certificate" => Some(Method::Certificate),
            "password" => Some(Method::Password),
            _ => None,
        }
    }
}

/// What `p` says of a first factor by `method` from `peer` (a lock, and an attack on the account
/// that asks every login for a second factor, judged beside it): whether a second factor is
/// required, or why the login is refused.
pub(super) fn first_factor(p: &LoginPolicy, method: Method, peer: IpAddr) -> Result<bool, Refusal> {
    if !network::allows(p.tenant_allowed_networks.as_deref(), peer)
        || !network::allows(p.allowed_networks.as_deref(), peer)
    {
        return Err(Refusal::NetworkNotAllowed);
    }
    if !p.methods.iter().any(|m| m == method.as_str())
        || (p.automation && method == Method::Password)
    {
        return Err(Refusal::MethodNotAllowed(method));
    }
    Ok(p.second_factor_enrolled || (p.tenant_require_mfa && !p.automation))
}

/// Why a live session ends that its account's policy, as it stands now, would not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgrown {
    /// From outside the account's or its tenant's allowed networks.
    Networks,
    /// By a first factor the account may no longer use (a password, once the account is an
    /// automation account).
    Method,
    /// By a password that has expired.
    PasswordExpired,
    /// With one factor where a second is now required (enrolled, or the tenant's minimum).
    OneFactor,
    /// Its account's stored policy does not read (a value written behind the catalog's back):
    /// a login would be refused too.
    Unreadable,
}

impl Outgrown {
    /// As a session's end records it, before who or what found it so.
    pub fn as_str(self) -> &'static str {
        match self {
            Outgrown::Networks => "networks changed",
            Outgrown::Method => "login policy changed",
            Outgrown::PasswordExpired => "password expired",
            Outgrown::OneFactor => "second factor required",
            Outgrown::Unreadable => "login policy unreadable",
        }
    }
}

impl fmt::Display for Outgrown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why `p` as it stands would not let in a live session that logged in by `methods`
/// (`publickey+totp`) from `source`, at `now` (Unix seconds: a password expired by then);
/// `None` where the session stands. An attack on the account since (the defender's soft lock)
/// binds logins, not the session of the account's own user, and a lock is judged apart (every
/// session of a locked account ends); a session by a method not ours is left alone.
pub fn outgrown(p: &LoginPolicy, methods: &str, source: IpAddr, now: i64) -> Option<Outgrown> {
    let method = Method::first_of(methods)?;
    let needs_second = match first_factor(p, method, source) {
        Ok(needs_second) => needs_second,
        Err(Refusal::NetworkNotAllowed) => return Some(Outgrown::Networks),
        Err(_) => return Some(Outgrown::Method),
    };
    if method == Method::Password && p.password_expires_at.is_some_and(|t| t <= now) {
        return Some(Outgrown::PasswordExpired);
    }
    (needs_second && !methods.contains('+')).then_some(Outgrown::OneFactor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> LoginPolicy {
        LoginPolicy {
            account_id: 1,
            methods: ["publickey", "certificate", "password"]
                .map(String::from)
                .to_vec(),
            automation: false,
            second_factor_enrolled: false,
            allowed_networks: None,
            password_expires_at: None,
            tenant_require_mfa: false,
            tenant_allowed_networks: None,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_session_a_login_like_its_own_would_let_in_stands() {
        let p = open();
        for methods in ["publickey", "certificate", "password", "publickey+totp"] {
            assert_eq!(
                outgrown(&p, methods, ip("10.0.0.1"), 100),
                None,
                "{methods}"
            );
        }
        // A method not ours (none such today) is not judged.
        assert_eq!(outgrown(&p, "gssapi", ip("10.0.0.1"), 100), None);
    }

    #[test]
    fn each_narrowing_ends_the_sessions_it_would_refuse_and_only_those() {
        let from =
            |p: &LoginPolicy, methods: &str, source: &str| outgrown(p, methods, ip(source), 100);
        // Networks, the account's or the tenant's; an IPv4-mapped source as its IPv4 address.
        let p = LoginPolicy {
            allowed_networks: Some("10.0.0.0/8".into()),
            ..open()
        };
        assert_eq!(from(&p, "publickey", "10.1.2.3"), None);
        assert_eq!(from(&p, "publickey", "::ffff:10.1.2.3"), None);
        assert_eq!(from(&p, "publickey", "192.0.2.1"), Some(Outgrown::Networks));
        let p = LoginPolicy {
            tenant_allowed_networks: Some("192.0.2.0/24".into()),
            ..open()
        };
        assert_eq!(from(&p, "password", "10.1.2.3"), Some(Outgrown::Networks));
        assert_eq!(from(&p, "password", "192.0.2.9"), None);
        // Methods; a password once the account is an automation account's.
        let p = LoginPolicy {
            methods: vec!["publickey".into()],
            ..open()
        };
        assert_eq!(from(&p, "password", "10.0.0.1"), Some(Outgrown::Method));
        assert_eq!(from(&p, "certificate", "10.0.0.1"), Some(Outgrown::Method));
        assert_eq!(from(&p, "publickey", "10.0.0.1"), None);
        let p = LoginPolicy {
            automation: true,
            ..open()
        };
        assert_eq!(from(&p, "password", "10.0.0.1"), Some(Outgrown::Method));
        assert_eq!(from(&p, "publickey", "10.0.0.1"), None);
        // A password expired by now (at `now` itself too); not yet, or a key's session.
        for (expires, ends) in [(99, true), (100, true), (101, false)] {
            let p = LoginPolicy {
                password_expires_at: Some(expires),
                ..open()
            };
            let want = ends.then_some(Outgrown::PasswordExpired);
            assert_eq!(from(&p, "password", "10.0.0.1"), want, "{expires}");
            assert_eq!(from(&p, "publickey", "10.0.0.1"), None);
        }
        // A second factor enrolled, or the tenant's minimum (which binds no automation account).
        let enrolled = LoginPolicy {
            second_factor_enrolled: true,
            ..open()
        };
        let minimum = LoginPolicy {
            tenant_require_mfa: true,
            ..open()
        };
        for p in [&enrolled, &minimum] {
            assert_eq!(from(p, "publickey", "10.0.0.1"), Some(Outgrown::OneFactor));
            assert_eq!(from(p, "publickey+totp", "10.0.0.1"), None);
            assert_eq!(from(p, "password+recovery", "10.0.0.1"), None);
        }
        let robot = LoginPolicy {
            automation: true,
            ..minimum.clone()
        };
        assert_eq!(from(&robot, "publickey", "10.0.0.1"), None);
        let robot_enrolled = LoginPolicy {
            automation: true,
            ..enrolled
        };
        assert_eq!(
            from(&robot_enrolled, "publickey", "10.0.0.1"),
            Some(Outgrown::OneFactor)
        );
        // The first refusal a login would meet is the reason given: networks before methods.
        let p = LoginPolicy {
            allowed_networks: Some("10.0.0.0/8".into()),
            methods: vec!["publickey".into()],
            ..minimum
        };
        assert_eq!(from(&p, "password", "192.0.2.1"), Some(Outgrown::Networks));
        assert_eq!(from(&p, "password", "10.0.0.1"), Some(Outgrown::Method));
        assert_eq!(from(&p, "publickey", "10.0.0.1"), Some(Outgrown::OneFactor));
    }
}
