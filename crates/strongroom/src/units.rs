//! Parsing the units admins type: durations (`30d`, `12h`), sizes (`10G`) and counts, with `off`;
//! and counts and sizes written for people to read.

use crate::UsageError;

pub const HOUR: i64 = 3600;
pub const DAY: i64 = 24 * HOUR;

/// `30d`, `12h`, `90m`, `45s` (or a bare number of `default_unit` seconds), or `off`.
/// Returns seconds; `None` for off.
pub fn duration(v: &str, default_unit: i64) -> Result<Option<i64>, UsageError> {
    if v == "off" {
        return Ok(None);
    }
    let bad = || UsageError(format!("'{v}' is not a duration like 30d, 12h or off"));
    let (num, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&v[..i], c),
        _ => (v, ' '),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    let unit = match unit {
        'd' => DAY,
        'h' => HOUR,
        'm' => 60,
        's' => 1,
        ' ' => default_unit,
        _ => return Err(bad()),
    };
    if n <= 0 {
        return Err(bad());
    }
    n.checked_mul(unit).map(Some).ok_or_else(bad)
}

/// `10G`, `500M`, `64K`, `1024` (bytes, binary multiples), or `off`.
pub fn size(v: &str) -> Result<Option<i64>, UsageError> {
    if v == "off" {
        return Ok(None);
    }
    let bad = || UsageError(format!("'{v}' is not a size like 10G, 500M or off"));
    let (num, mult) = match v.chars().last() {
        Some('K' | 'k') => (&v[..v.len() - 1], 1i64 << 10),
        Some('M' | 'm') => (&v[..v.len() - 1], 1 << 20),
        Some('G' | 'g') => (&v[..v.len() - 1], 1 << 30),
        Some('T' | 't') => (&v[..v.len() - 1], 1 << 40),
        _ => (v, 1),
    };
    let n: i64 = num.parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    n.checked_mul(mult).map(Some).ok_or_else(bad)
}

/// A duration in whole `unit`s (`DAY` or `HOUR`), as a count of them; `None` for off.
pub fn whole(v: &str, unit: i64, name: &str) -> Result<Option<i64>, UsageError> {
    match duration(v, unit)? {
        None => Ok(None),
        Some(s) if s % unit == 0 => Ok(Some(s / unit)),
        Some(_) => Err(UsageError(format!(
            "{name} '{v}' must be whole {}",
            if unit == DAY {
                "days (e.g. 30d)"
            } else {
                "hours (e.g. 24h or 2d)"
            }
        ))),
    }
}

/// `YYYY-MM-DD` (midnight UTC) or RFC 3339, as Unix seconds.
pub fn time(v: &str, flag: &str) -> Result<i64, UsageError> {
    let text = if v.len() == 10 {
        format!("{v}T00:00:00Z")
    } else {
        v.to_owned()
    };
    humantime::parse_rfc3339_weak(&text)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .ok_or_else(|| {
            UsageError(format!(
                "{flag} '{v}' is not a date like 2027-01-31 or a time like 2027-01-31T12:00:00Z"
            ))
        })
}

/// `--since` and `--until` ([`time`] each); when both are given, `--since` comes first.
pub fn time_range(
    since: Option<&str>,
    until: Option<&str>,
) -> Result<(Option<i64>, Option<i64>), UsageError> {
    let from = since.map(|v| time(v, "--since")).transpose()?;
    let to = until.map(|v| time(v, "--until")).transpose()?;
    if let (Some(s), Some(u), Some(a), Some(b)) = (since, until, from, to)
        && a >= b
    {
        return Err(UsageError(format!(
            "--since {s} is not before --until {u}: nothing could be selected"
        )));
    }
    Ok((from, to))
}

/// `1 tenant`, `209 files`.
pub fn counted(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `52310 iban (about 48900 distinct) in 38 files`: a data class's sum over the files read,
/// how many different values they are (estimated from the files' sketches; with the
/// occurrences no sketch holds, which may add at most that many) and how many files hold it
/// (the report's totals, `distinct` and `files_holding`).
pub fn class_spread(totals: &service::incident::Totals, class: &str, n: u64) -> String {
    let files = totals.files_holding.get(class).copied().unwrap_or(0);
    let distinct = match totals.distinct.get(class) {
        None => String::new(),
        Some(d) if d.not_sketched == n => " (distinct values not known)".to_owned(),
        Some(d) if d.not_sketched > 0 => format!(
            " (about {} distinct, and {} not told apart)",
            d.about, d.not_sketched
        ),
        Some(d) => format!(" (about {} distinct)", d.about),
    };
    format!("{n} {class}{distinct} in {}", counted(files, "file"))
}

/// `no changes`, `3 changes, 1 of them replacing a file`: what a selection changed, which a
/// summary says even when it read nothing (tampering is the other half of an incident).
pub fn changes_made(changes: usize, replacing: usize) -> String {
    match (changes, replacing) {
        (0, _) => "no changes".into(),
        (n, 0) => counted(n, "change"),
        (n, r) => format!("{}, {r} of them replacing a file", counted(n, "change")),
    }
}

/// `; 2 directories listed (14 names sent); 3 requests refused`, or nothing when the selection
/// listed nothing and was refused nothing: what it saw of names and what it tried.
pub fn listed_and_refused(directories: usize, names: u64, refused: u64) -> String {
    let mut out = String::new();
    if directories > 0 {
        let dirs = if directories == 1 {
            "1 directory".to_owned()
        } else {
            format!("{directories} directories")
        };
        let names = if names == 1 {
            "1 name".to_owned()
        } else {
            format!("{names} names")
        };
        out.push_str(&format!("; {dirs} listed ({names} sent)"));
    }
    if refused > 0 {
        let s = if refused == 1 { "" } else { "s" };
        out.push_str(&format!("; {refused} request{s} refused"));
    }
    out
}

/// `23,121 bytes (22.6 KiB)`: exact, and at a glance.
pub fn bytes_for_people(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let mut value = n as f64;
    let mut unit = None;
    for u in ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = Some(u);
    }
    match unit {
        Some(u) => format!("{grouped} bytes ({value:.1} {u})"),
        None => format!("{grouped} bytes"),
    }
}

/// A whole number, or `off`.
pub fn count(v: &str) -> Result<Option<i64>, UsageError> {
    if v == "off" {
        return Ok(None);
    }
    v.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| UsageError(format!("'{v}' is not a count or off")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(duration("30d", DAY).unwrap(), Some(30 * DAY));
        assert_eq!(duration("12h", DAY).unwrap(), Some(12 * HOUR));
        assert_eq!(duration("7", DAY).unwrap(), Some(7 * DAY));
        assert_eq!(duration("off", DAY).unwrap(), None);
        assert!(duration("0d", DAY).is_err());
        assert!(duration("3w", DAY).is_err());
        assert_eq!(size("10G").unwrap(), Some(10 << 30));
        assert_eq!(size("100").unwrap(), Some(100));
        assert!(size("lots").is_err());
        assert_eq!(whole("2d", HOUR, "x").unwrap(), Some(48));
        assert!(whole("36h", DAY, "x").is_err());
        assert_eq!(count("5").unwrap(), Some(5));
        assert!(count("-1").is_err());
    }

    #[test]
    fn changes_are_said_with_those_that_replaced_a_file() {
        assert_eq!(changes_made(0, 0), "no changes");
        assert_eq!(changes_made(1, 0), "1 change");
        assert_eq!(changes_made(3, 1), "3 changes, 1 of them replacing a file");
        assert_eq!(listed_and_refused(0, 0, 0), "");
        assert_eq!(
            listed_and_refused(1, 1, 1),
            "; 1 directory listed (1 name sent); 1 request refused"
        );
        assert_eq!(
            listed_and_refused(2, 14, 0),
            "; 2 directories listed (14 names sent)"
        );
    }

    #[test]
    fn a_time_range_starts_before_it_ends() {
        let day = 86_400;
        let jan31 = time("2027-01-31", "x").unwrap();
        assert_eq!(
            time_range(Some("2027-01-31"), Some("2027-02-01")).unwrap(),
            (Some(jan31), Some(jan31 + day))
        );
        assert_eq!(
            time_range(None, Some("2027-01-31")).unwrap(),
            (None, Some(jan31))
        );
        assert_eq!(time_range(None, None).unwrap(), (None, None));
        for (since, until) in [("2027-02-01", "2027-01-31"), ("2027-01-31", "2027-01-31")] {
            let e = time_range(Some(since), Some(until)).unwrap_err();
            assert_eq!(
                e.0,
                format!("--since {since} is not before --until {until}: nothing could be selected")
            );
        }
        assert!(
            time_range(Some("soon"), None)
                .unwrap_err()
                .0
                .contains("--since 'soon'")
        );
    }
}
