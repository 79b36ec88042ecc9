//! PostgreSQL arrays in their binary form: a header (dimensions, a NULL flag, the element
//! type) and each element as a length and the element type's own bytes. Elements are written
//! and read by the scalar code, one at a time; nothing here is on a scalar's path.

use bytes::{BufMut, BytesMut};
use postgres_types::{IsNull, Kind, Type};
use smallvec::SmallVec;

use super::decode::PgValue;
use super::encode::encode;
use crate::types::{ArrayCells, EncodeArray, Param};

/// Writes `array` as a one-dimensional array of the type `ty` (`int8[]`...), each element
/// encoded as `ty`'s element type with the checks of a scalar parameter.
pub(super) fn encode_array(
    array: &dyn EncodeArray,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, String> {
    let Kind::Array(elem) = ty.kind() else {
        return Err(format!(
            "an array binds only to an array type, and this parameter is {}",
            super::encode::type_name(ty)
        ));
    };
    let len = array.element_count();
    let count = i32::try_from(len).map_err(|_| format!("{len} elements are too many"))?;
    let start = out.len();
    out.put_i32(i32::from(len > 0)); // dimensions: an empty array has none
    out.put_i32(0); // whether any element is NULL, set below
    out.put_u32(elem.oid());
    if len > 0 {
        out.put_i32(count);
        out.put_i32(1); // the first index
    }
    let mut has_null = false;
    for i in 0..len {
        let element = array.element(i);
        if let Param::Array(_) = element {
            return Err(format!(
                "element {} is an array: multi-dimensional arrays are not supported",
                i + 1
            ));
        }
        let at = out.len();
        out.put_i32(0);
        let encoded =
            encode(&element, elem, out).map_err(|reason| format!("element {}: {reason}", i + 1))?;
        let size = match encoded {
            IsNull::Yes => {
                has_null = true;
                out.truncate(at + 4);
                -1
            }
            IsNull::No => i32::try_from(out.len() - at - 4)
                .map_err(|_| format!("element {} is too large", i + 1))?,
        };
        out[at..at + 4].copy_from_slice(&size.to_be_bytes());
    }
    out[start + 4..start + 8].copy_from_slice(&i32::from(has_null).to_be_bytes());
    Ok(IsNull::No)
}

/// Text typed at a prompt for an array parameter, as PostgreSQL reads an array literal:
/// `{1,2,3}`, `{"a b",NULL}`. Each element is then read as the element type.
pub(super) fn encode_untyped_array(
    s: &str,
    ty: &Type,
    out: &mut BytesMut,
) -> Result<IsNull, String> {
    let items =
        parse_literal(s).ok_or_else(|| format!("`{s}` is not an array literal like {{1,2,3}}"))?;
    let params: Vec<Param<'_>> = items
        .iter()
        .map(|item| item.as_deref().map_or(Param::Null, Param::Untyped))
        .collect();
    encode_array(&params, ty, out)
}

/// The elements of a one-dimensional array literal; `None` for an unquoted `NULL`.
fn parse_literal(s: &str) -> Option<Vec<Option<String>>> {
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let item = if chars.next_if_eq(&'"').is_some() {
            let mut text = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => text.push(chars.next()?),
                    c => text.push(c),
                }
            }
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            Some(text)
        } else {
            let mut text = String::new();
            while let Some(c) = chars.next_if(|&c| c != ',') {
                if matches!(c, '{' | '}' | '"') {
                    return None; // nested or malformed: not a one-dimensional literal
                }
                text.push(if c == '\\' { chars.next()? } else { c });
            }
            let text = text.trim_end();
            (!text.eq_ignore_ascii_case("null")).then(|| text.to_owned())
        };
        items.push(item);
        match chars.next() {
            None => return Some(items),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// The elements of an array value of element type `elem`, read from its binary form.
pub(super) fn cells<'a>(elem: &'a Type, raw: &'a [u8]) -> Result<ArrayCells<Elements<'a>>, String> {
    let mut rest = raw;
    let ndim = read_i32(&mut rest)?;
    let _has_null = read_i32(&mut rest)?;
    let _elem_oid = read_i32(&mut rest)?;
    let ndim = usize::try_from(ndim).map_err(|_| format!("bad array dimensions {ndim}"))?;
    let mut dims = SmallVec::new();
    let mut count: usize = if ndim == 0 { 0 } else { 1 };
    for _ in 0..ndim {
        let len = read_i32(&mut rest)?;
        let _lower_bound = read_i32(&mut rest)?;
        let len = usize::try_from(len).map_err(|_| format!("bad array length {len}"))?;
        count = count.checked_mul(len).ok_or("array dimensions overflow")?;
        dims.push(len);
    }
    Ok(ArrayCells {
        dims,
        elements: Elements {
            elem,
            rest,
            left: count,
        },
    })
}

fn read_i32(buf: &mut &[u8]) -> Result<i32, String> {
    let (head, tail) = buf.split_first_chunk::<4>().ok_or("truncated array")?;
    *buf = tail;
    Ok(i32::from_be_bytes(*head))
}

/// The elements of an array value, read one at a time.
pub(crate) struct Elements<'a> {
    elem: &'a Type,
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<PgValue<'a>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let element = read_i32(&mut self.rest).and_then(|len| {
            if len < 0 {
                return Ok(PgValue::new(self.elem, None));
            }
            let len = len.unsigned_abs() as usize;
            if self.rest.len() < len {
                return Err("truncated array element".to_string());
            }
            let (raw, tail) = self.rest.split_at(len);
            self.rest = tail;
            Ok(PgValue::new(self.elem, Some(raw)))
        });
        if element.is_err() {
            self.left = 0;
        }
        Some(element)
    }

    // Each element takes at least its 4-byte length: a count the bytes cannot hold does not
    // make a caller reserve memory for it.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left.min(self.rest.len() / 4), Some(self.left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals() {
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            parse_literal("{1, 2,3}"),
            Some(vec![some("1"), some("2"), some("3")])
        );
        assert_eq!(
            parse_literal(r#"{"a b",NULL,"NULL","q\"",x\,y}"#),
            Some(vec![
                some("a b"),
                None,
                some("NULL"),
                some("q\""),
                some("x,y")
            ])
        );
        assert_eq!(parse_literal("{}"), Some(vec![]));
        assert_eq!(parse_literal("{{1},{2}}"), None);
        assert_eq!(parse_literal("1,2"), None);
    }

    #[test]
    fn arrays_written_and_read_back() {
        let mut out = BytesMut::new();
        let values = vec![Some(1i64), None, Some(-3)];
        encode_array(&values, &Type::INT8_ARRAY, &mut out).unwrap();
        let cells = cells(&Type::INT8, &out).unwrap();
        assert_eq!(cells.dims.as_slice(), [3]);
        let read: Vec<Option<i64>> = cells
            .elements
            .map(|e| {
                use crate::types::ColumnValue;
                let e = e.unwrap();
                (!e.is_null()).then(|| e.int().unwrap())
            })
            .collect();
        assert_eq!(read, values);
        // An element out of the element type's range is refused, naming the element.
        let mut out = BytesMut::new();
        let Err(err) = encode_array(&vec![1i64, 1 << 40], &Type::INT4_ARRAY, &mut out) else {
            panic!("an int4 element out of range was written");
        };
        assert!(err.starts_with("element 2: "), "{err}");
    }
}
