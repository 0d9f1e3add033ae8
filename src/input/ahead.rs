//! FILE arguments read (and gzip inflated) ahead on threads of their own, handed on in order.
//!
//! ```text
//! worker 1 ─ file 3 ─chunks─┐
//! worker 2 ─ file 4 ─chunks─┼─▶ reader thread: file 3 to its end, then file 4, … ─▶ pipeline
//! (stdin, a producer: read by the reader thread itself, in its place)
//! ```
//!
//! Files are independent, and inflating gzip costs as much as everything else a backfill does:
//! on one core it sets the pace, with the other core idle. So each worker takes the next file in
//! the given order, reads and inflates it into chunks of its own channel, and the reader thread
//! forwards file after file in the given order: the pipeline sees exactly the chunks, in exactly
//! the order, that reading the files one after another gives.
//!
//! Bounded: a worker takes a file only with one of [`FILES_AHEAD`] credits, given back when the
//! reader has forwarded the file's end, and each file's channel holds [`CHUNKS_PER_FILE`]
//! chunks (a worker waits while its file's channel is full); so no more than
//! `FILES_AHEAD × CHUNKS_PER_FILE` chunks of 256 KiB wait, plus one each worker fills, however
//! small or large the files are. Many small files (trail files are often a few kilobytes) need
//! many files ahead to keep the workers busy; large ones are held back by their channels.

use super::{pump_file, Chunk, Source, STOP_READING};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

/// Files claimed by workers and not yet forwarded to their end, at most.
pub const FILES_AHEAD: usize = 32;
/// Chunks each file's channel holds.
const CHUNKS_PER_FILE: usize = 2;
/// Spare chunk buffers kept for the workers.
const POOL: usize = 16;

/// One file's chunks, as its worker sends them: data, then `End` or `Failed`. A channel that
/// closes before either means the worker stopped (shutdown).
type FileChunks = Receiver<Chunk>;

/// The reader thread's side.
pub struct Ahead {
    /// (source index, its chunks), in the order workers claimed them (which is the given order,
    /// but two workers may send theirs in either order).
    claimed: Receiver<(usize, FileChunks)>,
    waiting: BTreeMap<usize, FileChunks>,
    credits: SyncSender<()>,
    /// Chunk buffers the pipeline gave back, for the workers to fill again.
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// Whether reading `sources` ahead on `workers` threads can help: two files or more.
pub fn worth_it(sources: &[Source], workers: usize) -> bool {
    workers >= 1 && sources.iter().filter(|s| matches!(s, Source::File(_))).count() >= 2
}

impl Ahead {
    /// Starts `workers` threads on the files among `sources`.
    pub fn start(sources: Arc<[Source]>, workers: usize) -> Ahead {
        let (claimed_tx, claimed) = channel();
        let (credits, credits_rx) = sync_channel(FILES_AHEAD);
        for _ in 0..FILES_AHEAD {
            let _ = credits.send(());
        }
        let credits_rx = Arc::new(Mutex::new(credits_rx));
        let next = Arc::new(Mutex::new(0usize));
        let pool = Arc::new(Mutex::new(Vec::new()));
        for i in 0..workers {
            let w = Worker {
                sources: Arc::clone(&sources),
                next: Arc::clone(&next),
                credits: Arc::clone(&credits_rx),
                claimed: claimed_tx.clone(),
                pool: Arc::clone(&pool),
            };
            thread::Builder::new()
                .name(format!("ctail-inflate-{i}"))
                .spawn(move || w.run())
                .expect("spawning a reading thread");
        }
        Ahead {
            claimed,
            waiting: BTreeMap::new(),
            credits,
            pool,
        }
    }

    /// Forwards file `n` (a `Source::File`) to `tx`, from its first chunk to its end. `Ok(true)`
    /// at its end (`End` or `Failed` sent on), `Ok(false)` when the pipeline or the workers
    /// stopped.
    pub fn forward(&mut self, n: usize, tx: &SyncSender<Chunk>, recycle: &Receiver<Vec<u8>>) -> bool {
        let Some(rx) = self.take(n) else {
            return false;
        };
        let ended = loop {
            // What the pipeline gave back goes to the workers.
            while let Ok(buf) = recycle.try_recv() {
                match self.pool.lock() {
                    Ok(mut p) if p.len() < POOL => p.push(buf),
                    _ => break,
                }
            }
            let Ok(chunk) = rx.recv() else {
                // The worker stopped before the end: shutdown.
                break false;
            };
            let last = matches!(chunk, Chunk::End | Chunk::Failed(_));
            if tx.send(chunk).is_err() {
                break false;
            }
            if last {
                break true;
            }
        };
        let _ = self.credits.try_send(());
        ended
    }

    /// File `n`'s chunks, once a worker has claimed it.
    fn take(&mut self, n: usize) -> Option<FileChunks> {
        loop {
            if let Some(rx) = self.waiting.remove(&n) {
                return Some(rx);
            }
            let (i, rx) = self.claimed.recv().ok()?;
            self.waiting.insert(i, rx);
        }
    }
}

struct Worker {
    sources: Arc<[Source]>,
    /// The next source index to look at.
    next: Arc<Mutex<usize>>,
    credits: Arc<Mutex<Receiver<()>>>,
    claimed: Sender<(usize, FileChunks)>,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Worker {
    fn run(self) {
        loop {
            // A credit first, then the next file: files are claimed in the given order, so the
            // file the reader waits for is always claimed before any later one holds a credit.
            let credit = self
                .credits
                .lock()
                .map_err(|_| ())
                .and_then(|c| c.recv().map_err(|_| ()));
            if credit.is_err() || STOP_READING.load(Ordering::Relaxed) {
                return;
            }
            let Some((n, path)) = self.claim() else { return };
            let (tx, rx) = sync_channel(CHUNKS_PER_FILE);
            if self.claimed.send((n, rx)).is_err() {
                return;
            }
            let spare = || self.pool.lock().ok().and_then(|mut p| p.pop());
            let end = match pump_file(&path, &tx, &spare) {
                Ok(true) => Chunk::End,
                Ok(false) => return, // shutdown, or nobody listens
                Err(e) => Chunk::Failed(e),
            };
            if tx.send(end).is_err() {
                return;
            }
        }
    }

    /// The next file among the sources, and its index.
    fn claim(&self) -> Option<(usize, std::path::PathBuf)> {
        let mut next = self.next.lock().ok()?;
        while *next < self.sources.len() {
            let n = *next;
            *next += 1;
            if let Source::File(p) = &self.sources[n] {
                return Some((n, p.clone()));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{spawn_reader, HEADROOM};
    use std::io::Write;
    use std::time::Duration;

    /// What the pipeline is handed: per source, its start, its bytes and how it ended.
    fn read_all(sources: Vec<Source>, inflaters: usize) -> Vec<(usize, Vec<u8>, String)> {
        let (rx, _recycle) = spawn_reader(sources, inflaters);
        let mut out: Vec<(usize, Vec<u8>, String)> = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(Chunk::Start(n)) => out.push((n, Vec::new(), String::new())),
                Ok(Chunk::Data(b)) => out.last_mut().unwrap().1.extend_from_slice(&b[HEADROOM..]),
                Ok(Chunk::End) => out.last_mut().unwrap().2 = "end".into(),
                Ok(Chunk::Failed(e)) => out.last_mut().unwrap().2 = e.kind().to_string(),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return out,
                Err(e) => panic!("the reader hung: {e}"),
            }
        }
    }

    /// Files read ahead on workers reach the pipeline exactly as read one after another: the
    /// same sources in the same order, the same bytes, the same failures; with gzip and plain
    /// files, small and larger than a chunk, a missing one, and in-memory input between them.
    #[test]
    fn files_read_ahead_arrive_as_read_in_turn() {
        let dir = std::env::temp_dir().join(format!("ctail-ahead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut sources = Vec::new();
        for i in 0..60 {
            let body: Vec<u8> = (0..(i * 7919) % 700_000)
                .map(|j| b"abcdefghij\n"[(j + i) % 11])
                .collect();
            let path = dir.join(format!("f{i}"));
            if i % 3 == 0 {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&body).unwrap();
                std::fs::write(&path, gz.finish().unwrap()).unwrap();
            } else {
                std::fs::write(&path, &body).unwrap();
            }
            sources.push(Source::File(path));
            if i == 20 {
                sources.push(Source::File(dir.join("missing")));
                sources.push(Source::Bytes(b"in memory\n".to_vec().into()));
            }
        }
        let in_turn = read_all(sources.clone(), 0);
        assert_eq!(in_turn.len(), sources.len());
        assert!(
            in_turn.iter().any(|(_, _, end)| end != "end"),
            "the missing file fails"
        );
        for inflaters in [1, 2, 5] {
            let ahead = read_all(sources.clone(), inflaters);
            assert!(
                ahead == in_turn,
                "{inflaters} inflaters: not what reading in turn gives"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
