//! Network allow-lists: comma-separated CIDRs (`10.0.0.0/8, 192.0.2.7`), checked against the
//! source address. No list means no restriction. Also what a ban or a kill names: one address
//! or a network ([`one`]), as the ledger and the bans table write it ([`written`]).

use std::net::IpAddr;

pub use ipnet::IpNet;

/// Parses a list; a bare address is a single-host network.
pub fn parse(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{s}' is not a network like 10.0.0.0/8 or an address"))
        })
        .collect()
}

/// Normalised text form of a list, for storage.
pub fn normalise(list: &str) -> Result<String, String> {
    let nets = parse(list)?;
    if nets.is_empty() {
        return Err("an empty list would refuse everyone; use 'any' to remove the list".into());
    }
    Ok(nets
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(","))
}

/// Whether `ip` is allowed by `list` (`None`: no list, everyone). A malformed stored list
/// allows nobody.
pub fn allows(list: Option<&str>, ip: IpAddr) -> bool {
    let ip = canonical(ip);
    match list {
        None => true,
        Some(l) => parse(l).is_ok_and(|nets| nets.iter().any(|n| n.contains(&ip))),
    }
}

/// One address or network (`203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`), canonical: an
/// IPv4-mapped IPv6 address or network is the IPv4 one, and a network's host bits are cleared.
pub fn one(text: &str) -> Result<IpNet, String> {
    let net = parse(text)
        .ok()
        .filter(|n| n.len() == 1)
        .and_then(|n| n.first().copied())
        .ok_or_else(|| format!("'{text}' is not an address or a network like 203.0.113.0/24"))?;
    Ok(match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => IpNet::from(
                ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_err(|e| e.to_string())?,
            ),
            _ => net,
        },
        v4 => v4,
    }
    .trunc())
}

/// How a ban or a selection of one network is written (bans table, ledger, listings): a single
/// address as the address (`203.0.113.7`), a network with its prefix (`203.0.113.0/24`).
pub fn written(net: IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.to_string()
    }
}

/// IPv4-mapped IPv6 addresses compare as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_allow_what_they_name() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(allows(None, ip("203.0.113.9")));
        assert!(allows(Some("10.0.0.0/8,127.0.0.1"), ip("127.0.0.1")));
        assert!(allows(Some("10.0.0.0/8"), ip("10.2.3.4")));
        assert!(!allows(Some("10.0.0.0/8"), ip("127.0.0.1")));
        assert!(allows(Some("127.0.0.0/8"), ip("::ffff:127.0.0.2")));
        assert!(!allows(Some("garbage"), ip("127.0.0.1")));
        assert_eq!(
            normalise(" 10.0.0.0/8 , 192.0.2.7").unwrap(),
            "10.0.0.0/8,192.0.2.7/32"
        );
        assert!(normalise("").is_err());
        assert!(normalise("10.0.0.0/33").is_err());
    }

    #[test]
    fn one_address_or_network_is_canonical() {
        let shown = |s: &str| one(s).map(written);
        assert_eq!(shown("203.0.113.7").unwrap(), "203.0.113.7");
        assert_eq!(shown("203.0.113.77/24").unwrap(), "203.0.113.0/24");
        assert_eq!(shown("::ffff:203.0.113.7").unwrap(), "203.0.113.7");
        assert_eq!(shown("::ffff:203.0.113.0/120").unwrap(), "203.0.113.0/24");
        assert_eq!(shown("2001:db8::1/32").unwrap(), "2001:db8::/32");
        assert_eq!(shown("::1").unwrap(), "::1");
        for bad in ["", "10.0.0.0/33", "10.0.0.0/8,10.1.0.0/16", "nope", "1.2.3"] {
            assert!(one(bad).is_err(), "{bad}");
        }
        let net = one("127.0.0.0/30").unwrap();
        assert!(net.contains(&canonical("::ffff:127.0.0.3".parse().unwrap())));
        assert!(!net.contains(&"127.0.0.4".parse::<IpAddr>().unwrap()));
    }
}
