//! PostgreSQL values that have no Rust type of their own, in the text form psql shows them:
//! what a [`Value`](super::Value) holds for them, and what error messages quote.

use std::fmt::Write;
use std::net::IpAddr;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

/// An `interval` as PostgreSQL writes it (`IntervalStyle` `postgres`, the default):
/// `1 year 2 mons 3 days 04:05:06.5`, `-1 days +02:00:00`, `00:00:00`.
pub(crate) fn interval(months: i32, days: i32, micros: i64) -> String {
    let mut out = String::new();
    // After a negative part, a positive one is written with its sign (`-1 days +02:00:00`).
    let mut after_negative = false;
    for (value, unit) in [
        (i64::from(months / 12), "year"),
        (i64::from(months % 12), "mon"),
        (i64::from(days), "day"),
    ] {
        if value == 0 {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        let plus = if after_negative && value > 0 { "+" } else { "" };
        let plural = if value == 1 { "" } else { "s" };
        let _ = write!(out, "{plus}{value} {unit}{plural}");
        after_negative = value < 0;
    }
    if out.is_empty() || micros != 0 {
        if !out.is_empty() {
            out.push(' ');
        }
        let sign = if micros < 0 {
            "-"
        } else if after_negative {
            "+"
        } else {
            ""
        };
        out.push_str(sign);
        clock(&mut out, micros.unsigned_abs());
    }
    out
}

/// `hh:mm:ss[.ffffff]` (hours past 24 kept), the fraction without trailing zeros.
fn clock(out: &mut String, micros: u64) {
    let hours = micros / MICROS_PER_HOUR.unsigned_abs();
    let secs = micros / 1_000_000;
    let _ = write!(out, "{hours:02}:{:02}:{:02}", secs / 60 % 60, secs % 60);
    let frac = micros % 1_000_000;
    if frac > 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// A `timetz` as PostgreSQL writes it: `12:34:56.5+02`, `01:00:00-03:30`.
pub(crate) fn time_tz(micros: i64, offset: i32) -> String {
    let mut out = String::new();
    clock(&mut out, micros.unsigned_abs());
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    let _ = write!(out, "{sign}{:02}", off / 3600);
    if off % 3600 != 0 {
        let _ = write!(out, ":{:02}", off / 60 % 60);
        if off % 60 != 0 {
            let _ = write!(out, ":{:02}", off % 60);
        }
    }
    out
}

/// An `inet` or `cidr` value: the address, and its prefix unless it is the full length.
pub(crate) fn inet(addr: IpAddr, prefix: u8) -> String {
    let full = if addr.is_ipv4() { 32 } else { 128 };
    if prefix == full {
        addr.to_string()
    } else {
        format!("{addr}/{prefix}")
    }
}

/// A `"char"` value: its character, or a backslash and three octal digits for a byte that is
/// not printable ASCII, as PostgreSQL writes it.
pub(crate) fn char_text(v: i8) -> String {
    let byte = v as u8;
    match byte {
        0 => String::new(),
        b' '..=b'~' => char::from(byte).to_string(),
        _ => format!("\\{byte:03o}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_as_psql_shows_them() {
        let h = MICROS_PER_HOUR;
        assert_eq!(interval(0, 0, 0), "00:00:00");
        assert_eq!(
            interval(14, 3, 4 * h + 5 * 60_000_000 + 6_500_000),
            "1 year 2 mons 3 days 04:05:06.5"
        );
        assert_eq!(interval(0, -1, 2 * h), "-1 days +02:00:00");
        assert_eq!(interval(1, 0, 0), "1 mon");
        assert_eq!(interval(-13, 0, 0), "-1 years -1 mons");
        assert_eq!(interval(0, 0, -25 * h - 1), "-25:00:00.000001");
        assert_eq!(interval(0, 1, 0), "1 day");
    }

    #[test]
    fn times_with_offsets_and_addresses() {
        assert_eq!(
            time_tz(12 * MICROS_PER_HOUR + 500_000, 7200),
            "12:00:00.5+02"
        );
        assert_eq!(
            time_tz(MICROS_PER_HOUR, -(3 * 3600 + 1800)),
            "01:00:00-03:30"
        );
        assert_eq!(inet("10.0.0.0".parse().unwrap(), 8), "10.0.0.0/8");
        assert_eq!(inet("::1".parse().unwrap(), 128), "::1");
        assert_eq!(char_text(b'r' as i8), "r");
        assert_eq!(char_text(-1), "\\377");
    }
}
