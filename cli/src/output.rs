//! Result rows as an aligned table, JSON lines or RFC 4180 CSV.

use std::io::{self, Write};

use weir::{Column, Value};

/// How `weir query` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns for people (psql style); control characters escaped.
    Table,
    /// One JSON object per row, keys in column order.
    Json,
    /// RFC 4180: header line, CRLF line ends, quoted where needed; NULL is an empty unquoted
    /// field, the empty string `""`.
    Csv,
}

/// Writes rows in one format. JSON and CSV stream each row out at once; a table is held until
/// [`finish`](RowWriter::finish) because its widths depend on every row.
pub struct RowWriter<W: Write> {
    format: Format,
    out: W,
    columns: Option<Vec<Column>>,
    /// JSON keys, made unique (`id`, `id_2`) so that no column is lost to a duplicate key.
    json_keys: Vec<String>,
    table: Vec<Vec<String>>,
    /// Per column: every non-NULL value so far is a number (right-aligned in a table).
    numeric: Vec<bool>,
    rows: u64,
}

impl<W: Write> RowWriter<W> {
    /// A writer for `format` on `out`.
    pub fn new(format: Format, out: W) -> Self {
        RowWriter {
            format,
            out,
            columns: None,
            json_keys: Vec::new(),
            table: Vec::new(),
            numeric: Vec::new(),
            rows: 0,
        }
    }

    /// Starts the output with the result's columns (the CSV header), so that a result with
    /// no rows still shows them.
    pub fn columns(&mut self, cols: Vec<Column>) -> io::Result<()> {
        if self.columns.is_none() {
            self.start(&cols)?;
            self.columns = Some(cols);
        }
        Ok(())
    }

    /// Writes one row; `columns` is read from the first row only, if not given before.
    pub fn row(
        &mut self,
        columns: impl FnOnce() -> Vec<Column>,
        values: &[Value],
    ) -> io::Result<()> {
        if self.columns.is_none() {
            let cols = columns();
            self.start(&cols)?;
            self.columns = Some(cols);
        }
        self.rows += 1;
        match self.format {
            Format::Table => {
                for (i, v) in values.iter().enumerate() {
                    if let Some(n) = self.numeric.get_mut(i) {
                        *n &= is_number(v) || matches!(v, Value::Null);
                    }
                }
                self.table.push(
                    values
                        .iter()
                        .map(|v| escape_control(&v.to_string()))
                        .collect(),
                );
                Ok(())
            }
            Format::Json => {
                let mut line = String::from("{");
                for (i, (key, v)) in self.json_keys.iter().zip(values).enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    line.push_str(&serde_json::Value::String(key.clone()).to_string());
                    line.push(':');
                    line.push_str(&to_json(v).to_string());
                }
                line.push('}');
                writeln!(self.out, "{line}")
            }
            Format::Csv => {
                let fields: Vec<String> = values.iter().map(csv_field).collect();
                write!(self.out, "{}\r\n", fields.join(","))
            }
        }
    }

    fn start(&mut self, cols: &[Column]) -> io::Result<()> {
        match self.format {
            Format::Table => self.numeric = vec![true; cols.len()],
            Format::Json => self.json_keys = unique_keys(cols),
            Format::Csv => {
                let header: Vec<String> = cols.iter().map(|c| csv_quote(&c.name)).collect();
                write!(self.out, "{}\r\n", header.join(","))?;
            }
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes what is held (the table and its row count) and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        if self.format == Format::Table {
            let names: Vec<String> = self
                .columns
                .iter()
                .flatten()
                .map(|c| escape_control(&c.name))
                .collect();
            write_table(&mut self.out, &names, &self.table, &self.numeric)?;
            let n = self.rows;
            writeln!(self.out, "({n} row{})", if n == 1 { "" } else { "s" })?;
        }
        self.out.flush()
    }
}

fn is_number(v: &Value) -> bool {
    matches!(
        v,
        Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Decimal(_)
    )
}

fn unique_keys(cols: &[Column]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(cols.len());
    for c in cols {
        let mut key = c.name.clone();
        let mut n = 2;
        while keys.contains(&key) {
            key = format!("{}_{n}", c.name);
            n += 1;
        }
        keys.push(key);
    }
    keys
}

fn write_table(
    out: &mut impl Write,
    names: &[String],
    rows: &[Vec<String>],
    numeric: &[bool],
) -> io::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut widths: Vec<usize> = names.iter().map(|n| display_width(n)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    let line = |cells: &[String], right: &dyn Fn(usize) -> bool| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| {
                let pad = " ".repeat(w.saturating_sub(display_width(cell)));
                if right(i) {
                    format!(" {pad}{cell} ")
                } else {
                    format!(" {cell}{pad} ")
                }
            })
            .collect();
        // No trailing blanks at the end of a line.
        parts.join("|").trim_end().to_owned()
    };
    writeln!(out, "{}", line(names, &|_| false))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    writeln!(out, "{}", rule.join("+"))?;
    for row in rows {
        writeln!(
            out,
            "{}",
            line(row, &|i| numeric.get(i).copied().unwrap_or(false))
        )?;
    }
    Ok(())
}

/// Makes a value safe to show on one table line: newlines, tabs and other control characters
/// (a terminal escape sequence from the data, say) are shown escaped.
fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Terminal columns taken by `s`: 2 for East Asian wide characters and most emoji, 0 for
/// combining marks and zero-width characters. An approximation of Unicode's East Asian Width
/// that covers what a table of names and text meets.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            match u {
                0x0300..=0x036F | 0x200B..=0x200F | 0xFE00..=0xFE0F | 0x20D0..=0x20FF => 0,
                0x1100..=0x115F
                | 0x2E80..=0x303E
                | 0x3041..=0x33FF
                | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF
                | 0xA000..=0xA4CF
                | 0xAC00..=0xD7A3
                | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F
                | 0xFF00..=0xFF60
                | 0xFFE0..=0xFFE6
                | 0x1F300..=0x1F64F
                | 0x1F680..=0x1F6FF
                | 0x1F900..=0x1F9FF
                | 0x1FA70..=0x1FAFF
                | 0x20000..=0x3FFFD => 2,
                _ => 1,
            }
        })
        .sum()
}

fn csv_field(v: &Value) -> String {
    match v {
        // NULL and '' differ in CSV as in PostgreSQL's COPY: empty unquoted vs "".
        Value::Null => String::new(),
        v => {
            let s = v.to_string();
            if s.is_empty() {
                "\"\"".into()
            } else {
                csv_quote(&s)
            }
        }
    }
}

/// Quotes a field when RFC 4180 requires it (comma, quote, CR or LF), doubling quotes.
fn csv_quote(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// A column value as JSON: numbers as numbers, decimals as strings (no digit lost), bytes as
/// `\x` hex, dates and times ISO 8601, JSON documents and arrays nested.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) => J::from(*n),
        Value::UInt(n) => J::from(*n),
        // NaN and infinities have no JSON number: keep them as the server spells them.
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or_else(
            || {
                J::String(if f.is_nan() {
                    "NaN".into()
                } else if *f > 0.0 {
                    "Infinity".into()
                } else {
                    "-Infinity".into()
                })
            },
            J::Number,
        ),
        Value::Decimal(s) | Value::Text(s) => J::String(s.clone()),
        Value::Bytes(_) | Value::Unsupported(_) => J::String(v.to_string()),
        Value::Date(d) => J::String(d.to_string()),
        Value::Time(t) => J::String(t.to_string()),
        Value::DateTime(t) => J::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Value::DateTimeUtc(t) => J::String(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()),
        Value::Uuid(u) => J::String(u.to_string()),
        Value::Json(j) => j.clone(),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        // A kind added to weir later: its text form is the best guess.
        other => J::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Column {
        Column {
            name: name.into(),
            sql_type: "text".into(),
        }
    }

    fn render(format: Format, names: &[&str], rows: &[Vec<Value>]) -> String {
        let mut out = Vec::new();
        let mut w = RowWriter::new(format, &mut out);
        for r in rows {
            w.row(|| names.iter().map(|n| col(n)).collect(), r).unwrap();
        }
        w.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        let rows = vec![
            vec![Value::Int(1), Value::Text("a,b \"c\"\nd".into())],
            vec![Value::Null, Value::Text(String::new())],
        ];
        assert_eq!(
            render(Format::Csv, &["id", "note, x"], &rows),
            "id,\"note, x\"\r\n1,\"a,b \"\"c\"\"\nd\"\r\n,\"\"\r\n"
        );
    }

    #[test]
    fn json_keeps_column_order_and_duplicate_columns() {
        let rows = vec![vec![Value::Int(2), Value::Int(1), Value::Null]];
        assert_eq!(
            render(Format::Json, &["b", "a", "b"], &rows),
            "{\"b\":2,\"a\":1,\"b_2\":null}\n"
        );
    }

    #[test]
    fn json_values() {
        assert_eq!(to_json(&Value::Decimal("12.50".into())), "12.50");
        assert_eq!(to_json(&Value::Bytes(vec![0xde, 0xad])), "\\xdead");
        assert_eq!(to_json(&Value::Float(f64::NAN)), "NaN");
        assert_eq!(to_json(&Value::Float(1.5)), 1.5);
    }

    #[test]
    fn arrays_nest_in_json_and_read_as_postgresql_writes_them_elsewhere() {
        let array = Value::Array(vec![Value::Int(1), Value::Null, Value::Text("a b".into())]);
        assert_eq!(to_json(&array), serde_json::json!([1, null, "a b"]));
        let rows = vec![vec![array]];
        assert_eq!(
            render(Format::Csv, &["a"], &rows),
            "a\r\n\"{1,NULL,\"\"a b\"\"}\"\r\n"
        );
        assert_eq!(
            render(Format::Table, &["a"], &rows),
            " a\n----------------\n {1,NULL,\"a b\"}\n(1 row)\n"
        );
    }

    #[test]
    fn table_aligns_wide_characters_and_escapes_newlines() {
        let rows = vec![
            vec![Value::Int(1), Value::Text("日本".into())],
            vec![Value::Int(100), Value::Text("a\nb".into())],
        ];
        assert_eq!(
            render(Format::Table, &["id", "name"], &rows),
            " id  | name\n-----+------\n   1 | 日本\n 100 | a\\nb\n(2 rows)\n"
        );
    }

    #[test]
    fn empty_table_says_so() {
        assert_eq!(render(Format::Table, &[], &[]), "(0 rows)\n");
    }
}
