//! Amazon Security Lake's Parquet objects, recognised by their magic bytes: each row is written
//! as the JSON line it stands for, and that line is framed and unwrapped like any other (the OCSF
//! envelope reads it; a row of another schema is rejected as a JSON line would be).
//!
//! Reading Parquet needs the cargo feature `parquet` (it adds the `parquet` crate, with the GZIP
//! codec Security Lake's own objects use and SNAPPY, what pyarrow, Spark and DuckDB write by
//! default). Built without it, a Parquet FILE fails with a message that says how to build it.
//!
//! Memory: a file is read a row group at a time, and within one, a page of each column and 1,024
//! rows at a time (the `parquet` crate's record reader); what is handed on is chunks of JSON lines
//! of [`CHUNK`] bytes, as for any input. A row group larger than [`MAX_ROW_GROUP`] uncompressed,
//! as its metadata says, is refused before anything of it is read.
//!
//! The JSON follows OCSF's own encoding, not a generic one: a map is an object (`unmapped`), a
//! list an array, null fields are left out, and a timestamp is epoch milliseconds (OCSF's
//! `timestamp_t`, as `time` is in JSON) unless its field's name ends in `_dt` (OCSF's
//! `datetime_t`, an RFC 3339 string), whichever way the writer typed it.

use super::Chunk;
#[cfg(feature = "parquet")]
use super::{CHUNK, HEADROOM};
use std::fs::File;
use std::io;
use std::sync::mpsc::SyncSender;

/// The first (and last) four bytes of a Parquet file.
pub const MAGIC: [u8; 4] = *b"PAR1";

/// The largest row group read, uncompressed, as its metadata gives it: Security Lake writes
/// objects of at most a few hundred MB, and its writers row groups of 128 MiB or less.
#[cfg(feature = "parquet")]
pub const MAX_ROW_GROUP: i64 = 512 << 20;

/// A message from the `parquet` crate is cut after this many characters.
#[cfg(feature = "parquet")]
const MESSAGE_CHARS: usize = 200;

/// What a Parquet FILE gets from a build without the feature.
#[cfg(not(feature = "parquet"))]
pub fn pump(_file: File, _tx: &SyncSender<Chunk>, _spare: &dyn Fn() -> Option<Vec<u8>>) -> io::Result<bool> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "a Parquet file: this ctail-filter was built without the `parquet` feature \
         (build it with `cargo build --release --features parquet`)",
    ))
}

/// Reads the Parquet `file` and sends its rows on as JSON lines, in chunks as [`super::pump`]
/// does. Rows read before an error are sent on before it. `Ok(false)` when the receiver is gone
/// or shutdown asked to stop.
#[cfg(feature = "parquet")]
pub fn pump(file: File, tx: &SyncSender<Chunk>, spare: &dyn Fn() -> Option<Vec<u8>>) -> io::Result<bool> {
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut out = Lines {
        tx,
        spare,
        buf: Vec::new(),
    };
    out.fresh();
    let result = guard::without_panics(|| rows::read(file, &mut out));
    // What was read before an error still goes on.
    let sent = out.send();
    // The progress line counts the file's bytes as read once it is (a row group at a time would
    // need its own reader: a file is a few hundred MB at most).
    super::FILE_BYTES_READ.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
    match result {
        Ok(Ok(going)) => Ok(going && sent),
        Err(panicked) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Parquet: not read to its end, the reader failed on it ({panicked})"),
        )),
        Ok(Err(e)) => {
            let e = e.to_string();
            let what = e.strip_prefix("Parquet error: ").unwrap_or(&e);
            // Some of the crate's messages quote the bytes they failed on, a whole column value.
            let what = match what.char_indices().nth(MESSAGE_CHARS) {
                Some((cut, _)) => format!("{}…", &what[..cut]),
                None => what.to_owned(),
            };
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("Parquet: {what}"),
            ))
        }
    }
}

/// JSON lines on their way to the pipeline, a chunk at a time.
#[cfg(feature = "parquet")]
struct Lines<'a> {
    tx: &'a SyncSender<Chunk>,
    spare: &'a dyn Fn() -> Option<Vec<u8>>,
    buf: Vec<u8>,
}

#[cfg(feature = "parquet")]
impl Lines<'_> {
    /// A buffer with the framer's headroom and nothing else.
    fn fresh(&mut self) {
        let mut buf = (self.spare)().unwrap_or_else(|| Vec::with_capacity(HEADROOM + CHUNK));
        buf.clear();
        buf.resize(HEADROOM, 0);
        self.buf = buf;
    }

    /// After each line: sends a full chunk on. `false` when nobody listens or shutdown asked.
    fn line_done(&mut self) -> bool {
        if super::STOP_READING.load(std::sync::atomic::Ordering::Relaxed) {
            return false;
        }
        if self.buf.len() - HEADROOM < CHUNK {
            return true;
        }
        let going = self.send();
        self.fresh();
        going
    }

    /// Sends what the buffer holds, if anything.
    fn send(&mut self) -> bool {
        if self.buf.len() <= HEADROOM {
            return true;
        }
        let buf = std::mem::take(&mut self.buf);
        self.tx.send(Chunk::Data(buf)).is_ok()
    }
}

#[cfg(feature = "parquet")]
mod rows {
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
            .filter(|c| {
                matches!(c.logical_type_ref(), Some(LogicalType::Timestamp(t)) if t.unit == TimeUnit::NANOS)
            })
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
}

/// The `parquet` crate asserts things of the files it reads (a corrupt file has made it panic):
/// a panic there is the file's error, not the run's end, and not a message on stderr.
#[cfg(feature = "parquet")]
mod guard {
    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Once;

    thread_local! {
        /// Set while this thread reads a Parquet file: its panics are caught and reported.
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `read`; a panic in it comes back as `Err` with its message.
    pub(super) fn without_panics<T>(read: impl FnOnce() -> T) -> Result<T, String> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            // Every other thread's panics are reported as before.
            let before = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    before(info);
                }
            }));
        });
        QUIET.with(|q| q.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(read));
        QUIET.with(|q| q.set(false));
        result.map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into())
        })
    }
}

#[cfg(all(test, feature = "parquet"))]
mod tests {
    #[test]
    fn a_panic_reading_is_an_error() {
        assert_eq!(super::guard::without_panics(|| 7), Ok(7));
        let caught = super::guard::without_panics(|| -> u8 { panic!("corrupt {}", 1) });
        assert_eq!(caught, Err("corrupt 1".to_owned()));
        // The thread goes on reading the next file as before.
        assert_eq!(super::guard::without_panics(|| 8), Ok(8));
    }
}
