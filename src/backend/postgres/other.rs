//! The types past the common ones, both ways: `inet` and `cidr`, `interval`, `timetz`,
//! `"char"`, and `time` read by hand (postgres-types reads 24:00:00 as midnight). Nothing here
//! is on the common types' path.

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use postgres_types::{IsNull, Type};

use crate::types::Param;

/// The types past the common ones: read by hand where postgres-types has no reader or reads
/// one wrongly.
pub(super) fn decode<'a>(ty: &Type, raw: &'a [u8]) -> Result<Param<'a>, String> {
    Ok(match *ty {
        Type::INET | Type::CIDR => inet(raw)?,
        Type::INTERVAL => match raw {
            [t @ .., d0, d1, d2, d3, m0, m1, m2, m3] if t.len() == 8 => Param::Interval {
                micros: i64::from_be_bytes(t.try_into().map_err(|_| "bad interval")?),
                days: i32::from_be_bytes([*d0, *d1, *d2, *d3]),
                months: i32::from_be_bytes([*m0, *m1, *m2, *m3]),
            },
            _ => return Err("bad interval".into()),
        },
        Type::TIMETZ => match raw.split_first_chunk::<8>() {
            Some((t, zone)) => Param::TimeTz {
                micros: i64::from_be_bytes(*t),
                // PostgreSQL counts the zone's seconds west of UTC.
                offset: -i32::from_be_bytes(zone.try_into().map_err(|_| "bad timetz")?),
            },
            None => return Err("bad timetz".into()),
        },
        Type::CHAR => match raw {
            [b] => Param::Char(i8::from_be_bytes([*b])),
            _ => return Err("bad \"char\"".into()),
        },
        _ => Param::Other(raw),
    })
}

/// A `time`: a time of day, or 24:00:00 (which PostgreSQL allows and `NaiveTime` cannot hold,
/// and postgres-types would read as midnight) as a length of time.
#[cfg(feature = "chrono")]
pub(super) fn time<'a>(raw: &[u8]) -> Result<Param<'a>, String> {
    let micros = i64::from_be_bytes(raw.try_into().map_err(|_| "bad time")?);
    let secs = u32::try_from(micros / 1_000_000).map_err(|_| "bad time")?;
    let nanos = u32::try_from(micros % 1_000_000).map_err(|_| "bad time")? * 1000;
    Ok(
        match chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos) {
            Some(t) => Param::Time(t),
            None => Param::Duration {
                negative: false,
                micros: micros.unsigned_abs(),
            },
        },
    )
}

/// An `inet` or `cidr`: family, prefix length, a cidr flag, the address length, the address.
fn inet<'a>(raw: &[u8]) -> Result<Param<'a>, String> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let (addr, prefix) = match raw {
        [2, prefix, _, 4, a @ ..] => (
            <[u8; 4]>::try_from(a).map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            *prefix,
        ),
        [3, prefix, _, 16, a @ ..] => (
            <[u8; 16]>::try_from(a).map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            *prefix,
        ),
        _ => return Err("bad inet".into()),
    };
    Ok(Param::Inet {
        addr: addr.map_err(|_| "bad inet")?,
        prefix,
    })
}

/// An `inet` or `cidr` parameter; a `cidr` is a network, with no bits set right of its mask.
pub(super) fn encode_inet(
    addr: IpAddr,
    prefix: u8,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, String> {
    let (family, bits, host_bits) = match addr {
        IpAddr::V4(a) => (2u8, 32u8, u128::from(u32::from(a))),
        IpAddr::V6(a) => (3, 128, u128::from(a)),
    };
    if prefix > bits {
        return Err(format!("prefix /{prefix} is longer than {bits} bits"));
    }
    let cidr = *ty == Type::CIDR;
    let host_mask = u128::MAX
        .checked_shr(128 - u32::from(bits - prefix))
        .unwrap_or(0);
    if cidr && host_bits & host_mask != 0 {
        return Err(format!(
            "{addr}/{prefix} has bits set right of its mask (a cidr is a network)"
        ));
    }
    out.put_u8(family);
    out.put_u8(prefix);
    out.put_u8(u8::from(cidr));
    match addr {
        IpAddr::V4(a) => {
            out.put_u8(4);
            out.put_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            out.put_u8(16);
            out.put_slice(&a.octets());
        }
    }
    Ok(IsNull::No)
}

/// Text as an `inet` or `cidr`: an address, with `/prefix` or without (a host).
pub(super) fn parse_inet(s: &str) -> Option<Param<'static>> {
    let (addr, prefix) = match s.split_once('/') {
        Some((addr, prefix)) => (addr.parse().ok()?, Some(prefix.parse().ok()?)),
        None => (s.parse::<IpAddr>().ok()?, None),
    };
    let full = if addr.is_ipv4() { 32 } else { 128 };
    Some(Param::Inet {
        addr,
        prefix: prefix.unwrap_or(full),
    })
}

/// An `interval`: microseconds, days, months.
pub(super) fn encode_interval(months: i32, days: i32, micros: i64, out: &mut BytesMut) -> IsNull {
    out.put_i64(micros);
    out.put_i32(days);
    out.put_i32(months);
    IsNull::No
}

/// A length of time as an `interval` of microseconds only.
pub(super) fn encode_duration(
    negative: bool,
    micros: u64,
    out: &mut BytesMut,
) -> Result<IsNull, String> {
    let micros = i64::try_from(micros)
        .map_err(|_| "longer than PostgreSQL's interval range (about 292,000 years)".to_string())?;
    Ok(encode_interval(
        0,
        0,
        if negative { -micros } else { micros },
        out,
    ))
}

/// A `timetz`: microseconds since midnight, and the zone in seconds west of UTC.
pub(super) fn encode_time_tz(micros: i64, offset: i32, out: &mut BytesMut) -> IsNull {
    out.put_i64(micros);
    out.put_i32(-offset);
    IsNull::No
}
