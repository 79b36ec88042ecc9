//! [`Decode`] for the types past the scalars: dates and times (chrono), IP addresses,
//! lengths of time, UUIDs, JSON documents and exact decimals.

use super::decode::{mismatch, Decode};
use super::{pgtext, value, Param};

#[cfg(feature = "chrono")]
mod chrono_impls {
    use super::{mismatch, pgtext, value, Decode, Param};
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

    impl Decode for NaiveDate {
        fn decode(cell: Param<'_>) -> Result<Self, String> {
            match cell {
                Param::Date(d) => Ok(d),
                other => Err(mismatch(&other)),
            }
        }
    }
    impl Decode for NaiveTime {
        fn decode(cell: Param<'_>) -> Result<Self, String> {
            match cell {
                Param::Time(t) => Ok(t),
                Param::Duration { negative, micros } => Err(format!(
                    "{} is not a time of day (read it as Duration or Value)",
                    value::duration_text(negative, micros)
                )),
                Param::TimeTz { micros, offset } => Err(format!(
                    "{} has a UTC offset, which NaiveTime would drop (read it as Value, or \
                     convert it in SQL: (t AT TIME ZONE 'UTC')::time)",
                    pgtext::time_tz(micros, offset)
                )),
                other => Err(mismatch(&other)),
            }
        }
    }
    impl Decode for NaiveDateTime {
        fn decode(cell: Param<'_>) -> Result<Self, String> {
            match cell {
                Param::DateTime(t) => Ok(t),
                Param::DateTimeUtc(t) => Ok(t.naive_utc()),
                other => Err(mismatch(&other)),
            }
        }
    }
    impl Decode for DateTime<Utc> {
        fn decode(cell: Param<'_>) -> Result<Self, String> {
            match cell {
                Param::DateTimeUtc(t) => Ok(t),
                // MySQL DATETIME/TIMESTAMP carry no zone: weir reads them as UTC, which is what
                // it writes (set the session time zone to UTC for TIMESTAMP columns).
                Param::DateTime(t) => Ok(t.and_utc()),
                other => Err(mismatch(&other)),
            }
        }
    }
}

impl Decode for std::net::IpAddr {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        match cell {
            Param::Inet { addr, prefix } if prefix == if addr.is_ipv4() { 32 } else { 128 } => {
                Ok(addr)
            }
            Param::Inet { addr, prefix } => Err(format!(
                "{addr}/{prefix} is a network, not one address (read it as Value)"
            )),
            // MySQL keeps addresses as text (or MariaDB's INET6), or as INET6_ATON's bytes.
            Param::Text(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| "text is not an IP address".to_string()),
            Param::Bytes(b) => {
                if let Ok(v4) = <[u8; 4]>::try_from(b) {
                    Ok(IpAddr::V4(Ipv4Addr::from(v4)))
                } else if let Ok(v6) = <[u8; 16]>::try_from(b) {
                    Ok(IpAddr::V6(Ipv6Addr::from(v6)))
                } else {
                    Err(format!("{} bytes are not an IP address (4 or 16)", b.len()))
                }
            }
            other => Err(mismatch(&other)),
        }
    }
}

impl Decode for std::time::Duration {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        use std::time::Duration;
        match cell {
            Param::Duration {
                negative: false,
                micros,
            } => Ok(Duration::from_micros(micros)),
            Param::Interval {
                months: 0,
                days: 0,
                micros,
            } if micros >= 0 => Ok(Duration::from_micros(micros.unsigned_abs())),
            Param::Interval {
                months,
                days,
                micros,
            } => Err(format!(
                "interval '{}' {} (read it as Value, or in SQL: EXTRACT(EPOCH FROM ...))",
                pgtext::interval(months, days, micros),
                if micros < 0 || days < 0 || months < 0 {
                    "is negative or mixes signs"
                } else {
                    "counts months or days, whose length varies"
                }
            )),
            Param::Duration {
                negative: true,
                micros,
            } => Err(format!(
                "{} is negative",
                value::duration_text(true, micros)
            )),
            // A MySQL TIME under 24 hours arrives as a time of day.
            #[cfg(feature = "chrono")]
            Param::Time(t) => {
                use chrono::Timelike;
                Ok(Duration::new(
                    u64::from(t.num_seconds_from_midnight()),
                    t.nanosecond(),
                ))
            }
            other => Err(mismatch(&other)),
        }
    }
}

#[cfg(feature = "uuid")]
impl Decode for uuid::Uuid {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::Uuid(u) => Ok(u),
            Param::Bytes(b) if b.len() == 16 => {
                uuid::Uuid::from_slice(b).map_err(|e| e.to_string())
            }
            Param::Text(b) | Param::Bytes(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| "text is not a UUID".to_string()),
            other => Err(mismatch(&other)),
        }
    }
}

#[cfg(feature = "json")]
impl Decode for serde_json::Value {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::JsonText(b) | Param::Text(b) => {
                serde_json::from_slice(b).map_err(|e| format!("invalid JSON: {e}"))
            }
            other => Err(mismatch(&other)),
        }
    }
}

#[cfg(feature = "decimal")]
impl Decode for rust_decimal::Decimal {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        use std::str::FromStr;
        let parse = |s: &str| {
            rust_decimal::Decimal::from_str_exact(s)
                .or_else(|_| rust_decimal::Decimal::from_scientific(s))
                .map_err(|e| format!("decimal {s}: {e}"))
        };
        match cell {
            Param::DecimalText(s) => parse(s),
            Param::PgNumeric(raw) => parse(&super::pg_numeric_to_string(raw)?),
            Param::Int(v) => Ok(rust_decimal::Decimal::from(v)),
            Param::UInt(v) => Ok(rust_decimal::Decimal::from(v)),
            Param::F64(v) => {
                rust_decimal::Decimal::from_str(&v.to_string()).map_err(|e| e.to_string())
            }
            other => Err(mismatch(&other)),
        }
    }
}
