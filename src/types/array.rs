//! Arrays both ways: a Rust list binds as one array parameter ([`EncodeArray`]) and an array
//! column reads into a `Vec` ([`ArrayCells`]), element by element through the scalar code.

use std::fmt;

use smallvec::SmallVec;

use super::decode::{mismatch, ColumnValue, Decode};
use super::{Encode, Param, Value};

/// A list of values that binds as one SQL array parameter: what [`Param::Array`] borrows.
/// Implemented for `Vec<T>`, `&[T]` and `[T; N]` of any [`Encode`] type; each element is bound
/// as the array's element type, with the same checks as a scalar parameter.
pub trait EncodeArray: Sync {
    /// How many elements. (Not `len`: a `Vec`'s own methods keep their names.)
    fn element_count(&self) -> usize;

    /// Element `index` as a parameter (NULL past the end).
    fn element(&self, index: usize) -> Param<'_>;

    /// The Rust type, for error messages.
    fn rust_type(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

impl<T: Encode> EncodeArray for Vec<T> {
    fn element_count(&self) -> usize {
        self.as_slice().len()
    }
    fn element(&self, index: usize) -> Param<'_> {
        self.as_slice()
            .get(index)
            .map_or(Param::Null, Encode::encode)
    }
}

impl<T: Encode> EncodeArray for &[T] {
    fn element_count(&self) -> usize {
        <[T]>::len(self)
    }
    fn element(&self, index: usize) -> Param<'_> {
        <[T]>::get(self, index).map_or(Param::Null, Encode::encode)
    }
}

impl<T: Encode, const N: usize> EncodeArray for [T; N] {
    fn element_count(&self) -> usize {
        N
    }
    fn element(&self, index: usize) -> Param<'_> {
        self.as_slice()
            .get(index)
            .map_or(Param::Null, Encode::encode)
    }
}

impl fmt::Debug for dyn EncodeArray + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries((0..self.element_count()).map(|i| self.element(i)))
            .finish()
    }
}

impl PartialEq for dyn EncodeArray + '_ {
    fn eq(&self, other: &Self) -> bool {
        let n = self.element_count();
        n == other.element_count() && (0..n).all(|i| self.element(i) == other.element(i))
    }
}

/// A type whose `Vec<T>`, `&[T]` and `[T; N]` bind as a SQL array, and whose `Vec<T>` reads
/// one (PostgreSQL; MySQL has no arrays): each scalar type weir supports, and `Option` of one
/// for an array with NULLs. Not `u8`: a `Vec<u8>` is binary data (`bytea`, `BLOB`).
pub trait ArrayElement {}

macro_rules! array_elements {
    ($($t:ty),* $(,)?) => {$( impl ArrayElement for $t {} )*};
}

array_elements!(
    bool,
    i8,
    i16,
    i32,
    i64,
    u16,
    u32,
    u64,
    f32,
    f64,
    str,
    String,
    [u8],
    Vec<u8>,
    std::net::IpAddr,
    std::time::Duration,
);
#[cfg(feature = "chrono")]
array_elements!(
    chrono::NaiveDate,
    chrono::NaiveTime,
    chrono::NaiveDateTime,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::FixedOffset>,
);
#[cfg(feature = "uuid")]
array_elements!(uuid::Uuid);
#[cfg(feature = "json")]
array_elements!(serde_json::Value);
#[cfg(feature = "decimal")]
array_elements!(rust_decimal::Decimal);

impl<T: ArrayElement> ArrayElement for Option<T> {}
impl<T: ArrayElement + ?Sized> ArrayElement for &T {}

impl<T: ArrayElement + Encode> Encode for Vec<T> {
    fn encode(&self) -> Param<'_> {
        Param::Array(self)
    }
}

impl<T: ArrayElement + Encode> Encode for &[T] {
    fn encode(&self) -> Param<'_> {
        Param::Array(self)
    }
}

impl<T: ArrayElement + Encode, const N: usize> Encode for [T; N] {
    fn encode(&self) -> Param<'_> {
        Param::Array(self)
    }
}

/// An array value as a backend hands it over: its shape, and its elements to decode one by
/// one (see [`ColumnValue::array`]).
#[derive(Debug, Clone)]
pub struct ArrayCells<I> {
    /// The length of each dimension, outermost first; none for an empty array.
    pub dims: SmallVec<[usize; 2]>,
    /// The elements in row-major order, each a value of the element type.
    pub elements: I,
}

/// Element `index` (0-based; shown 1-based, as PostgreSQL counts) failed: `reason`.
#[cold]
fn element_error(index: usize, reason: String) -> String {
    format!("element {}: {reason}", index + 1)
}

impl<T: ArrayElement + Decode> Decode for Vec<T> {
    fn decode(cell: Param<'_>) -> Result<Self, String> {
        match cell {
            Param::Array(a) => (0..a.element_count())
                .map(|i| T::decode(a.element(i)).map_err(|e| element_error(i, e)))
                .collect(),
            other => Err(mismatch(&other)),
        }
    }

    fn decode_value<'a>(value: impl ColumnValue<'a>) -> Result<Self, String> {
        let Some(array) = value.array() else {
            return Self::decode(value.classify()?);
        };
        let array = array?;
        if array.dims.len() > 1 {
            return Err(format!(
                "a {}-dimensional array does not fit a Vec (read it as Value, or unnest it in SQL)",
                array.dims.len()
            ));
        }
        array
            .elements
            .enumerate()
            .map(|(i, e)| {
                e.and_then(T::decode_value)
                    .map_err(|reason| element_error(i, reason))
            })
            .collect()
    }
}

/// An array column as a [`Value`]: nested as many levels deep as it has dimensions.
pub(super) fn array_value<'a, V: ColumnValue<'a>>(
    array: ArrayCells<impl Iterator<Item = Result<V, String>>>,
) -> Result<Value, String> {
    let mut flat = Vec::new();
    for (i, e) in array.elements.enumerate() {
        flat.push(
            e.and_then(Value::decode_value)
                .map_err(|reason| element_error(i, reason))?,
        );
    }
    let mut flat = flat.into_iter();
    let nested = nest(&mut flat, &array.dims);
    if flat.next().is_some() {
        return Err("the array has more elements than its dimensions say".into());
    }
    Ok(nested)
}

fn nest(flat: &mut impl Iterator<Item = Value>, dims: &[usize]) -> Value {
    match dims.split_first() {
        None => Value::Array(Vec::new()),
        Some((&n, [])) => Value::Array(flat.take(n).collect()),
        Some((&n, inner)) => Value::Array((0..n).map(|_| nest(flat, inner)).collect()),
    }
}

/// An array in PostgreSQL's text form, as psql shows it: `{1,2,NULL}`, `{"a b",c}`,
/// `{{1,2},{3,4}}`.
pub(super) fn write_array(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
    f.write_str("{")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        match item {
            Value::Array(inner) => write_array(f, inner)?,
            Value::Null => f.write_str("NULL")?,
            other => {
                let text = other.to_string();
                let quote = text.is_empty()
                    || text.eq_ignore_ascii_case("null")
                    || text
                        .chars()
                        .any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
                if quote {
                    f.write_str("\"")?;
                    for c in text.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"")?;
                } else {
                    f.write_str(&text)?;
                }
            }
        }
    }
    f.write_str("}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_bind_as_arrays_and_read_back() {
        let ids = vec![1i64, 2, 3];
        let p = ids.encode();
        assert!(
            matches!(p, Param::Array(a) if a.element_count() == 3 && a.element(1) == Param::Int(2))
        );
        let back: Vec<i64> = Vec::decode(p).unwrap();
        assert_eq!(back, ids);
        let slice: &[Option<i32>] = &[Some(1), None];
        assert_eq!(
            Vec::<Option<i32>>::decode(slice.encode()).unwrap(),
            [Some(1), None]
        );
        let err = Vec::<i32>::decode(slice.encode()).unwrap_err();
        assert!(err.starts_with("element 2: unexpected NULL"), "{err}");
        // Binary data stays binary data.
        assert_eq!(vec![1u8, 2].encode(), Param::Bytes(&[1, 2]));
    }

    #[test]
    fn arrays_show_as_psql_does() {
        let v = Value::Array(vec![
            Value::Int(1),
            Value::Null,
            Value::Text("a b".into()),
            Value::Text("q\"\\".into()),
            Value::Text(String::new()),
            Value::Text("NULL".into()),
            Value::Array(vec![Value::Bool(true)]),
        ]);
        assert_eq!(v.to_string(), r#"{1,NULL,"a b","q\"\\","","NULL",{true}}"#);
        assert_eq!(Value::Array(Vec::new()).to_string(), "{}");
    }
}
