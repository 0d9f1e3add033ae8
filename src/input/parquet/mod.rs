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
mod rows;

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
