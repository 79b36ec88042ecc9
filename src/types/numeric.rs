//! Exact decimals in PostgreSQL's binary `numeric` form, as text.

/// Formats PostgreSQL's binary `numeric` (base-10000 digits) as exact decimal text.
pub(crate) fn pg_numeric_to_string(raw: &[u8]) -> Result<String, String> {
    let word = |i: usize| -> Result<u16, String> {
        raw.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".to_string())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Result<_, _>>()?;
    let mut out = String::new();
    if sign == 0x4000 {
        out.push('-');
    }
    // Integer part: base-10000 groups with index 0..=weight.
    if weight < 0 {
        out.push('0');
    } else {
        for i in 0..=weight as usize {
            let d = digits.get(i).copied().unwrap_or(0);
            if i == 0 {
                out.push_str(&d.to_string());
            } else {
                out.push_str(&format!("{d:04}"));
            }
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut frac = String::new();
        let mut i = weight + 1;
        while frac.len() < dscale {
            let d = if i < 0 {
                0
            } else {
                digits.get(i as usize).copied().unwrap_or(0)
            };
            frac.push_str(&format!("{d:04}"));
            i += 1;
        }
        frac.truncate(dscale);
        out.push_str(&frac);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_to_text() {
        // 12345.678 : ndigits 3, weight 1, sign +, dscale 3, digits [1, 2345, 6780]
        let raw = [0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1A, 0x7C];
        assert_eq!(pg_numeric_to_string(&raw).unwrap(), "12345.678");
        // -0.05 : ndigits 1, weight -1, sign -, dscale 2, digits [500]
        let raw = [0, 1, 0xFF, 0xFF, 0x40, 0, 0, 2, 0x01, 0xF4];
        assert_eq!(pg_numeric_to_string(&raw).unwrap(), "-0.05");
        // 0 : no digits, dscale 0
        assert_eq!(
            pg_numeric_to_string(&[0, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            "0"
        );
    }
}
