//! Input: reading files and stdin on a thread of its own, framing, and unwrapping envelopes; S3
//! trail files are read in delivery order ([`order`]).
//!
//! The reader thread hands over chunks as they arrive (a pipe's `read` returns what is there), so
//! the pipeline sees when input goes idle and can flush, and gzip is inflated on the other core.

pub mod ahead;
pub mod batch;
pub mod envelope;
pub mod framer;
mod gzip;
pub mod order;
pub mod parallel;
pub mod parquet;
pub mod producer;
pub mod scan;

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

/// Bytes read per chunk, at most.
pub const CHUNK: usize = 256 * 1024;
/// Room left free before each chunk's data: the framer moves the unfinished line of the chunk
/// before into it instead of copying every chunk into a buffer of its own.
pub const HEADROOM: usize = 64 * 1024;
/// Chunks in flight between the reader and the pipeline: bounds the memory the reader can use.
const IN_FLIGHT: usize = 8;

/// Bytes read from FILEs so far, as they are on disk (gzip or not): the progress line's count
/// towards their total size.
pub static FILE_BYTES_READ: AtomicU64 = AtomicU64::new(0);

/// A FILE, its bytes counted in [`FILE_BYTES_READ`] as they are read.
struct Counted(File);

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        FILE_BYTES_READ.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads FILE `path` to its end and sends it on as chunks, its bytes counted: a Parquet file (by
/// its magic bytes, whatever it is called) through [`parquet`], anything else through [`pump`].
/// `Ok(false)` when the receiver is gone. The only look at the content before [`pump`]'s own.
fn pump_file(
    path: &std::path::Path,
    tx: &SyncSender<Chunk>,
    spare: &dyn Fn() -> Option<Vec<u8>>,
) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        let got = read_retrying(&mut file, &mut head[n..])?;
        if got == 0 {
            break;
        }
        n += got;
    }
    if head[..n] == parquet::MAGIC {
        return parquet::pump(file, tx, spare);
    }
    // Not Parquet: the bytes looked at go first. A FILE may be a pipe (`<(zcat …)`), so they are
    // not read again by seeking back.
    FILE_BYTES_READ.fetch_add(n as u64, Ordering::Relaxed);
    let waits = !file.metadata().is_ok_and(|m| m.is_file());
    let raw = io::Cursor::new(head[..n].to_vec()).chain(Counted(file));
    pump(Box::new(raw), tx, spare, true, waits)
}

/// Whether the first FILE among `sources` is a small gzip file (by its magic bytes, under
/// [`SMALL_GZIP`]): a backfill of trail files, told before reading, to lay out the threads.
/// `false` when there is no FILE, it cannot be read (reading it later reports why), or it is no
/// regular file: a FIFO (`<(zcat …)`) would lose the bytes looked at.
pub fn first_file_is_small_gzip(sources: &[Source]) -> bool {
    let Some(path) = sources.iter().find_map(|s| match s {
        Source::File(p) => Some(p),
        _ => None,
    }) else {
        return false;
    };
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() < SMALL_GZIP) {
        return false;
    }
    let mut head = [0u8; 2];
    File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && head == gzip::MAGIC
}

/// S3 trail files are tens of kilobytes of gzip (the largest in `../shared/data`: 52 KB); a
/// Firehose object or a gzip NDJSON export is megabytes.
const SMALL_GZIP: u64 = 1 << 20;

/// An input named on the command line: a file, or standard input for `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file (gzip or not).
    File(PathBuf),
    /// The output of a command run as our child (`-- PRODUCER ARGS…`).
    Producer(producer::Producer),
    /// Bytes in memory (tests, fuzzing, embedding), named for messages.
    Bytes(std::sync::Arc<[u8]>),
}

impl Source {
    /// The source a command-line argument names: `-` is standard input.
    pub fn from_arg(arg: &std::ffi::OsStr) -> Self {
        if arg == "-" {
            Source::Stdin
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// The name used in messages: the path, or `<stdin>`.
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".into(),
            Source::File(p) => p.display().to_string(),
            Source::Bytes(_) => "<memory>".into(),
            Source::Producer(p) => p.display(),
        }
    }
}

/// What the reader thread sends.
#[derive(Debug)]
pub enum Chunk {
    /// Input number `n` starts.
    Start(usize),
    /// Bytes read, from offset [`HEADROOM`] on.
    Data(Vec<u8>),
    /// The current input ended.
    End,
    /// The current input could not be opened or read; it ends here.
    Failed(io::Error),
}

/// Starts the reader thread. Chunk buffers come back through `recycle` so reading allocates only
/// while the pipeline is still filling its queue.
/// Set on SIGINT/SIGTERM: the reader stops before its next read (what it read is still handed on).
static STOP_READING: AtomicBool = AtomicBool::new(false);

/// Asks the reader to read nothing more (shutdown). Everything it has read is still delivered.
pub fn stop_reading() {
    STOP_READING.store(true, Ordering::Relaxed);
}

/// With `inflaters` threads (and two files or more), files are read and inflated ahead on those
/// threads ([`ahead`]); the chunks reach the pipeline in the same order either way.
pub fn spawn_reader(sources: Vec<Source>, inflaters: usize) -> (Receiver<Chunk>, SyncSender<Vec<u8>>) {
    let (tx, rx) = sync_channel::<Chunk>(IN_FLIGHT);
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
    let sources: std::sync::Arc<[Source]> = sources.into();
    thread::Builder::new()
        .name("ctail-reader".into())
        .spawn(move || {
            let mut ahead = ahead::worth_it(&sources, inflaters)
                .then(|| ahead::Ahead::start(std::sync::Arc::clone(&sources), inflaters));
            for (n, source) in sources.iter().enumerate() {
                if tx.send(Chunk::Start(n)).is_err() {
                    return;
                }
                if let (Some(a), Source::File(_)) = (&mut ahead, source) {
                    // The worker sent the file's end (or failure) on.
                    if !a.forward(n, &tx, &recycle_rx) {
                        return;
                    }
                    continue;
                }
                let end = match read_source(source, &tx, &recycle_rx) {
                    Ok(true) => Chunk::End,
                    Ok(false) => return, // the pipeline stopped listening
                    Err(e) => Chunk::Failed(e),
                };
                if tx.send(end).is_err() {
                    return;
                }
            }
        })
        .expect("spawning the reader thread");
    (rx, recycle_tx)
}

/// Reads one source to its end. `Ok(false)` when the receiver is gone.
fn read_source(source: &Source, tx: &SyncSender<Chunk>, recycle: &Receiver<Vec<u8>>) -> io::Result<bool> {
    let raw: Box<dyn Read> = match source {
        Source::Stdin => {
            widen_pipe();
            Box::new(io::stdin())
        }
        Source::File(p) => return pump_file(p, tx, &|| recycle.try_recv().ok()),
        Source::Bytes(b) => Box::new(io::Cursor::new(std::sync::Arc::clone(b))),
        Source::Producer(p) => return producer::read(p, tx, recycle),
    };
    pump(
        raw,
        tx,
        &|| recycle.try_recv().ok(),
        true,
        matches!(source, Source::Stdin),
    )
}

/// Reads `raw` to its end (gzip or not) and sends it on as chunks; with `stoppable`, stops
/// before the next read once shutdown asked for it. `Ok(false)` when the receiver is gone.
/// `spare` hands back a chunk buffer the pipeline is done with, if there is one. `waits`: a read
/// may wait for a writer (standard input, a producer, a FIFO named as a FILE).
fn pump(
    raw: Box<dyn Read>,
    tx: &SyncSender<Chunk>,
    spare: &dyn Fn() -> Option<Vec<u8>>,
    stoppable: bool,
    waits: bool,
) -> io::Result<bool> {
    // Gzip is recognised by its magic bytes, whatever the input is called.
    let mut head = Vec::with_capacity(2);
    let mut raw = raw;
    while head.len() < 2 {
        let mut b = [0u8; 2];
        let n = read_retrying(&mut raw, &mut b[..2 - head.len()])?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&b[..n]);
    }
    if head == gzip::MAGIC {
        return gzip::pump(head, raw, tx, spare, stoppable, waits);
    }
    let mut first = vec![0; HEADROOM];
    first.extend_from_slice(&head);
    if !head.is_empty() && tx.send(Chunk::Data(first)).is_err() {
        return Ok(false);
    }
    loop {
        if stoppable && STOP_READING.load(Ordering::Relaxed) {
            // Shutdown: what was read is handed on; nothing more is read.
            return Ok(false);
        }
        // Safe Rust reads only into initialised memory: a recycled buffer is zeroed only where
        // it is longer than before (a pipe's reads often return less than a chunk).
        let mut buf = spare().unwrap_or_else(|| Vec::with_capacity(HEADROOM + CHUNK));
        buf.resize(HEADROOM + CHUNK, 0);
        let n = read_retrying(&mut raw, &mut buf[HEADROOM..])?;
        if n == 0 {
            return Ok(true);
        }
        buf.truncate(HEADROOM + n);
        if tx.send(Chunk::Data(buf)).is_err() {
            return Ok(false);
        }
    }
}

/// When standard input is a pipe, asks Linux for a 1 MiB pipe buffer instead of 64 KiB: the
/// writer upstream (`aws logs tail`, `kcat`, `zcat`) then blocks less often, and each read hands
/// over more. Not a pipe, or not allowed (above `/proc/sys/fs/pipe-max-size` for an unprivileged
/// user): nothing changes.
fn widen_pipe() {
    #[cfg(target_os = "linux")]
    {
        let _ = rustix::pipe::fcntl_setpipe_size(io::stdin(), PIPE_BYTES);
    }
}

/// See [`widen_pipe`].
#[cfg(target_os = "linux")]
const PIPE_BYTES: usize = 1 << 20;

fn read_retrying(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
