//! The `longname` field of READDIR entries: an `ls -l` line, which OpenSSH's client prints
//! verbatim for `ls -l`. Pure: the current time is an argument.

use crate::attrs::{Attrs, S_IFDIR, S_IFLNK, S_IFMT};

/// Six months: older (or future) times show the year instead of the time of day, like `ls`.
const RECENT_SECS: i64 = 182 * 24 * 3600;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats `name` with its attributes; `owner` stands for both user and group columns.
pub fn longname(name: &[u8], attrs: &Attrs, owner: &str, now_unix: i64) -> Vec<u8> {
    let mode = attrs.permissions.unwrap_or(0);
    let mut perms = String::with_capacity(10);
    perms.push(match mode & S_IFMT {
        S_IFDIR => 'd',
        S_IFLNK => 'l',
        _ => '-',
    });
    for shift in [6u32, 3, 0] {
        let bits = (mode >> shift) & 7;
        perms.push(if bits & 4 != 0 { 'r' } else { '-' });
        perms.push(if bits & 2 != 0 { 'w' } else { '-' });
        perms.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    let mtime = attrs.times.map(|t| t.1 as i64).unwrap_or(0);
    let (y, m, d, hh, mm) = civil(mtime);
    let month = MONTHS.get(m as usize - 1).copied().unwrap_or("???");
    let when = if (now_unix - mtime).abs() < RECENT_SECS {
        format!("{month} {d:>2} {hh:02}:{mm:02}")
    } else {
        format!("{month} {d:>2}  {y}")
    };
    let mut out = format!(
        "{perms}    1 {owner:<8} {owner:<8} {size:>8} {when} ",
        size = attrs.size.unwrap_or(0)
    )
    .into_bytes();
    out.extend_from_slice(name);
    out
}

/// (year, month 1-12, day, hour, minute) of a Unix time, UTC (Howard Hinnant's civil_from_days).
fn civil(t: i64) -> (i64, u32, u32, u32, u32) {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, (secs / 3600) as u32, ((secs % 3600) / 60) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::S_IFREG;

    #[test]
    fn formats_like_ls() {
        let a = Attrs {
            size: Some(1234),
            permissions: Some(S_IFREG | 0o640),
            times: Some((0, 1_763_700_000)), // 2025-11-21 04:40 UTC
            ..Attrs::default()
        };
        let line = longname(b"report.csv", &a, "alice", 1_763_700_100);
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "-rw-r-----    1 alice    alice        1234 Nov 21 04:40 report.csv"
        );
    }

    #[test]
    fn old_files_show_the_year() {
        let a = Attrs {
            permissions: Some(S_IFDIR | 0o755),
            times: Some((0, 0)),
            ..Attrs::default()
        };
        let line = String::from_utf8(longname(b"d", &a, "bob", 1_763_700_000)).unwrap();
        assert!(line.starts_with("drwxr-xr-x"));
        assert!(line.contains("Jan  1  1970 d"), "{line}");
    }
}
