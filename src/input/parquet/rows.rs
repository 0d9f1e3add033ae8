//! A Parquet file's rows as JSON lines, OCSF's way (see the parent module): the metadata checked
//! first, then a row group at a time through the `parquet` crate's record reader.

use super::{Lines, MAX_ROW_GROUP};
use parquet::basic::{Compression, LogicalType, TimeUnit};
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::SchemaDescriptor;
use std::fs::File;
use std::io::Write;

/// Every row of `file` as a JSON line into `out`. `Ok(false)` when `out` stopped listening.
pub(super) fn read(file: File, out: &mut Lines<'_>) -> Result<bool> {
    let size = file.metadata()?.len();
    let reader = SerializedFileReader::new(file)?;
    for (n, group) in reader.metadata().row_groups().iter().enumerate() {
        check(n, group, size)?;
    }
    let mut json = Json {
        nanos: nanosecond_columns(reader.metadata().file_metadata().schema_descr()),
        path: String::new(),
    };
    for n in 0..reader.num_row_groups() {
        let group = reader.get_row_group(n)?;
        for row in group.get_row_iter(None)? {
            json.row(&row?, &mut out.buf);
            out.buf.push(b'\n');
            if !out.line_done() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// What the metadata says of row group `n` of a file of `size` bytes, checked before any of
/// it is read: its size, its codecs, and where its columns are (the crate asserts that).
fn check(n: usize, group: &RowGroupMetaData, size: u64) -> Result<()> {
    if group.total_byte_size() > MAX_ROW_GROUP {
        return Err(ParquetError::General(format!(
            "row group {n} is {} bytes uncompressed, more than the {MAX_ROW_GROUP} read at most",
            group.total_byte_size(),
        )));
    }
    for column in group.columns() {
        let codec = column.compression();
        if !matches!(
            codec,
            Compression::UNCOMPRESSED | Compression::GZIP(_) | Compression::SNAPPY
        ) {
            let codec = codec.to_string();
            let codec = codec.split('(').next().unwrap_or_default();
            return Err(ParquetError::General(format!(
                "column {} is compressed with {codec}, which ctail-filter does not read \
                 (it reads GZIP, as Security Lake writes, SNAPPY and uncompressed pages)",
                column.column_path()
            )));
        }
        let start = column
            .dictionary_page_offset()
            .unwrap_or(column.data_page_offset());
        let len = column.compressed_size();
        let inside = u64::try_from(start)
            .ok()
            .zip(u64::try_from(len).ok())
            .is_some_and(|(start, len)| start.checked_add(len).is_some_and(|end| end <= size));
        if !inside {
            return Err(ParquetError::General(format!(
                "row group {n}: column {} is said to be at {start}, {len} bytes long, \
                 outside the file's {size} bytes",
                column.column_path()
            )));
        }
    }
    Ok(())
}

/// The columns typed as nanosecond timestamps: the record reader hands their values on as
/// plain integers (it knows the other units), so they are found by their path.
fn nanosecond_columns(schema: &SchemaDescriptor) -> Vec<String> {
    schema
        .columns()
        .iter()
        .filter(
            |c| matches!(c.logical_type_ref(), Some(LogicalType::Timestamp(t)) if t.unit == TimeUnit::NANOS),
        )
        .map(|c| c.path().string())
        .collect()
}

/// Rows as JSON, OCSF's way.
struct Json {
    /// See [`nanosecond_columns`].
    nanos: Vec<String>,
    /// The dotted path of the field being written (a list's elements share the list's).
    path: String,
}

impl Json {
    /// A row or struct as a JSON object, its null fields left out.
    fn row(&mut self, row: &Row, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for (name, field) in row.get_column_iter() {
            if matches!(field, Field::Null) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            string(name, out);
            out.push(b':');
            let outer = self.path.len();
            if outer > 0 {
                self.path.push('.');
            }
            self.path.push_str(name);
            self.field(name, field, out);
            self.path.truncate(outer);
        }
        out.push(b'}');
    }

    /// One value of the field `name`.
    fn field(&mut self, name: &str, field: &Field, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _ = match field {
            Field::Null => out.write_all(b"null"),
            Field::Bool(b) => write!(out, "{b}"),
            Field::Byte(v) => write!(out, "{v}"),
            Field::Short(v) => write!(out, "{v}"),
            Field::Int(v) => write!(out, "{v}"),
            Field::Long(ns) if self.nanos.contains(&self.path) => {
                timestamp(name, ns.div_euclid(1_000_000), out)
            }
            Field::Long(v) => write!(out, "{v}"),
            Field::UByte(v) => write!(out, "{v}"),
            Field::UShort(v) => write!(out, "{v}"),
            Field::UInt(v) => write!(out, "{v}"),
            Field::ULong(v) => write!(out, "{v}"),
            Field::Float16(v) => float(f64::from(*v), out),
            Field::Float(v) => float(f64::from(*v), out),
            Field::Double(v) => float(*v, out),
            Field::TimeMillis(v) => write!(out, "{v}"),
            Field::TimeMicros(v) => write!(out, "{v}"),
            Field::TimestampMillis(ms) => timestamp(name, *ms, out),
            Field::TimestampMicros(us) => timestamp(name, us.div_euclid(1000), out),
            Field::Group(row) => {
                self.row(row, out);
                Ok(())
            }
            Field::ListInternal(list) => {
                out.push(b'[');
                for (i, element) in list.elements().iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.field(name, element, out);
                }
                out.push(b']');
                Ok(())
            }
            Field::MapInternal(map) => {
                out.push(b'{');
                let mut first = true;
                for (key, value) in map.entries() {
                    if matches!(key, Field::Null) {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match key {
                        Field::Str(k) => string(k, out),
                        other => string(&other.to_string(), out),
                    }
                    out.push(b':');
                    self.field(name, value, out);
                }
                out.push(b'}');
                Ok(())
            }
            Field::Str(s) => {
                string(s, out);
                Ok(())
            }
            Field::Bytes(b) => {
                string(&String::from_utf8_lossy(b.data()), out);
                Ok(())
            }
            // Dates and decimals as Parquet's own text of them (OCSF has neither).
            Field::Date(_) | Field::Decimal(_) => {
                string(&field.to_string().replace('"', ""), out);
                Ok(())
            }
        };
    }
}

/// OCSF's `datetime_t` (a name ending in `_dt`) as RFC 3339, its `timestamp_t` as epoch ms.
fn timestamp(name: &str, ms: i64, out: &mut Vec<u8>) -> std::io::Result<()> {
    if !name.ends_with("_dt") {
        return write!(out, "{ms}");
    }
    let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
        return write!(out, "null");
    };
    // Whole seconds as CloudTrail writes them; milliseconds only where there are some.
    let text = if ms.rem_euclid(1000) == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ")
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    };
    write!(out, "\"{text}\"")
}

fn float(v: f64, out: &mut Vec<u8>) -> std::io::Result<()> {
    // JSON has no NaN nor infinities.
    if v.is_finite() {
        write!(out, "{v}")
    } else {
        write!(out, "null")
    }
}

fn string(s: &str, out: &mut Vec<u8>) {
    let _ = serde_json::to_writer(&mut *out, s);
}
