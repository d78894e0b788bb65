//! Network allow-lists: comma-separated CIDRs (`10.0.0.0/8, 192.0.2.7`), checked against the
//! source address. No list means no restriction.

use std::net::IpAddr;

use ipnet::IpNet;

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
}
