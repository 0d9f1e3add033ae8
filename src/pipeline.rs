//! The one loop joining the stages: read → frame → [`Sink`] (attribute, hold, filter, write).
//!
//! The reader runs on its own thread; this loop flushes whenever it has nothing more to read,
//! releases held events by wall clock while input is idle, and stops cleanly on SIGINT/SIGTERM.

use crate::config::{Config, Format};
use crate::dedupe::Dedupe;
pub use crate::error::{Error, Exit};
use crate::filter::Patterns;
use crate::hold::HoldBuffer;
use crate::input::batch::{Batch, BatchItem};
use crate::input::envelope::{Record, Unwrapper};
use crate::input::framer::Framer;
use crate::input::parallel::Parallel;
use crate::input::{spawn_reader, Chunk, Source, HEADROOM};
use crate::output::summary::Summary;
use crate::output::text::Palette;
use crate::output::{Output, Reject, Reporter};
use crate::session::table::stable_id;
use crate::session::{IdentityMatch, Lineage};
use crate::sink::Sink;
use crate::state::{self, StateError};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long the loop waits for input before looking at the clock and the signals again.
const TICK: Duration = Duration::from_millis(100);
/// Recent event ids `--dedupe` remembers at least (and twice this at most).
const DEDUPE_IDS: usize = 500_000;

/// Runs the whole pipeline over `config.sources`, writing to `out`.
pub fn run<W: Write>(config: &Config, out: W) -> Result<Exit, Error> {
    // Held to the end of the run: a second process on the same state file is refused at start.
    let _lock = (config.state.as_ref())
        .map(|p| state::lock(p).map_err(|e| Error::State(p.clone(), e)))
        .transpose()?;
    let signal = signals()?;
    let usr1 = summary_requests()?;
    let matcher =
        Patterns::new(config.identity.iter().cloned()).map(|p| Box::new(p) as Box<dyn IdentityMatch>);
    let filtering = matcher.is_some();
    let reject = match &config.reject {
        Some(p) => Some((
            p.clone(),
            Reject::create(p).map_err(|e| Error::Reject(p.clone(), e))?,
        )),
        None => None,
    };
    let mut lineage = Lineage::new(config.max_sessions, matcher);
    lineage.defer_guesses = !config.hold.is_zero();
    let patterns = patterns_fingerprint(&config.identity);
    if let (Some(path), false) = (&config.state, config.fresh_state) {
        let fail = |e| Error::State(path.clone(), e);
        if let Some(snap) = state::load(path).map_err(fail)? {
            lineage
                .restore(snap, patterns)
                .map_err(|e| fail(StateError::Snapshot(e)))?;
        }
    }
    let mut sink = Sink::new(
        lineage,
        HoldBuffer::new(config.hold, config.hold, config.max_held, config.settle),
        config.dedupe.then(|| Dedupe::new(DEDUPE_IDS)),
        Output::new(out, config.line_buffered),
        reject,
        Reporter {
            quiet: config.quiet,
            ..Reporter::default()
        },
        filtering,
        config.strict,
    );
    sink.format = config.format;
    sink.palette = Palette::new(config.color);
    if config.format == Format::Summary {
        sink.summary = Some(Summary::new(config.max_sessions));
    }
    let started = Instant::now();
    let mut feed = Feed::start(config);
    let mut current = String::new();
    let mut exit = Exit::Success;
    let mut input_done = false;
    let mut last_checkpoint = Instant::now();
    let mut last_stats = Instant::now();
    let save = |sink: &Sink<W>| -> Result<(), Error> {
        match &config.state {
            Some(path) => {
                state::save(path, &sink.lineage.snapshot(patterns)).map_err(|e| Error::State(path.clone(), e))
            }
            None => Ok(()),
        }
    };

    let result = (|| -> Result<(), Error> {
        loop {
            let sig = signal.load(Ordering::Relaxed);
            if sig != 0 {
                exit = Exit::Signal(sig as u8);
                return Ok(());
            }
            if !config.checkpoint.is_zero() && last_checkpoint.elapsed() >= config.checkpoint {
                save(&sink)?;
                last_checkpoint = Instant::now();
            }
            if usr1.swap(false, Ordering::Relaxed) && config.format == Format::Summary {
                sink.write_summary()?;
            }
            if let Some(every) = config.stats_interval {
                if last_stats.elapsed() >= every {
                    crate::eprintln_locked!("{}", sink.stats_json(started.elapsed()));
                    last_stats = Instant::now();
                }
            }
            let work = match feed.try_next() {
                Ok(w) => w,
                Err(TryRecvError::Empty) => {
                    // Input is idle: whatever is buffered goes out now, so a live tail stays live.
                    sink.release_due(Instant::now())?;
                    sink.flush()?;
                    match feed.next_timeout(TICK) {
                        Ok(w) => w,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => {
                            input_done = true;
                            return Ok(());
                        }
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    input_done = true;
                    return Ok(());
                }
            };
            match work {
                Work::Chunk(chunk) => {
                    let Feed::Chunks {
                        recycle,
                        framer,
                        unwrapper,
                        ..
                    } = &mut feed
                    else {
                        unreachable!()
                    };
                    match chunk {
                        Chunk::Start(n) => {
                            framer.reset();
                            current = config.sources.get(n).map_or_else(String::new, Source::display);
                        }
                        Chunk::Data(buf) => {
                            sink.counts.bytes_in += (buf.len() - HEADROOM) as u64;
                            let spare = framer.feed_owned(buf, HEADROOM);
                            let _ = recycle.try_send(spare);
                            sink.drain(framer, unwrapper, &current)?;
                        }
                        Chunk::End => {
                            framer.finish();
                            sink.drain(framer, unwrapper, &current)?;
                        }
                        Chunk::Failed(e) => {
                            framer.finish();
                            sink.drain(framer, unwrapper, &current)?;
                            sink.report.error(&format_args!("{current}: {e}"));
                            exit = Exit::Failure;
                        }
                    }
                }
                Work::Batch(batch) => {
                    sink.counts.bytes_in += batch.bytes_in;
                    for item in &batch.items {
                        if sink.stopped {
                            break;
                        }
                        match item {
                            BatchItem::Start(n) => {
                                current = config.sources.get(*n).map_or_else(String::new, Source::display)
                            }
                            BatchItem::Record { text, splice, strs } => match batch.record(text, *strs) {
                                Some((text, event)) => sink.record(&Record {
                                    text,
                                    splice: *splice as usize,
                                    event: &event,
                                })?,
                                // Cannot happen (the batch was built from this record); if it
                                // did, the record is reported and kept by --reject, never dropped
                                // in silence.
                                None => {
                                    let what = "internal error: a decoded record could not be rebuilt";
                                    sink.bad(&current, 0, batch.raw(text), true, &what)?;
                                }
                            },
                            BatchItem::Bad {
                                bytes,
                                line,
                                what,
                                end,
                            } => {
                                let bytes = &batch.buf[bytes.start as usize..bytes.end as usize];
                                sink.bad(&current, *line, bytes, *end, what)?;
                            }
                            BatchItem::BadMore { bytes, last } => {
                                sink.reject_more(
                                    &batch.buf[bytes.start as usize..bytes.end as usize],
                                    *last,
                                )?;
                            }
                            BatchItem::Failed(e) => {
                                sink.report.error(&format_args!("{current}: {e}"));
                                exit = Exit::Failure;
                            }
                        }
                    }
                    sink.warnings();
                    feed.recycle(batch);
                }
            }
            if sink.stopped {
                return Ok(());
            }
        }
    })();
    if input_done {
        feed.finish();
    }
    // End of input, a signal or --strict: nothing held is lost.
    let result = result
        .and_then(|()| sink.release_all())
        .and_then(|()| {
            if config.format == Format::Summary {
                sink.write_summary()
            } else {
                Ok(())
            }
        })
        .and_then(|()| sink.flush());
    // The state is saved however the run ends, a closed pipe downstream included.
    let saved = save(&sink);
    match result {
        Ok(()) => {}
        // `| head -1`: the reader downstream has all it wants. A normal end, `--stats` included.
        Err(Error::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            saved?;
            if config.stats {
                crate::eprintln_locked!("{}", sink.stats_json(started.elapsed()));
            }
            return Ok(exit);
        }
        Err(e) => return Err(e),
    }
    saved?;
    if sink.stopped {
        exit = Exit::Failure;
    }
    sink.report.finish();
    if config.stats {
        crate::eprintln_locked!("{}", sink.stats_json(started.elapsed()));
    }
    Ok(exit)
}

/// The signal that asked us to stop (0: none), with handlers installed once per process: a
/// program that runs the pipeline many times (tests, fuzzing) must not stack them up.
fn signals() -> Result<&'static AtomicUsize, Error> {
    static FLAG: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(f);
    }
    let flag = Arc::new(AtomicUsize::new(0));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_usize(sig, Arc::clone(&flag), sig as usize).map_err(Error::Signals)?;
    }
    Ok(FLAG.get_or_init(|| flag))
}

/// SIGUSR1 asks `--format summary` for the tree so far; installed once per process.
fn summary_requests() -> Result<&'static AtomicBool, Error> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(f);
    }
    let flag = Arc::new(AtomicBool::new(false));
    #[cfg(unix)]
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&flag)).map_err(Error::Signals)?;
    Ok(FLAG.get_or_init(|| flag))
}

/// Identifies a set of `--identity` patterns, so a state file's match flags are reused only for
/// the same patterns.
fn patterns_fingerprint(patterns: &[String]) -> u64 {
    let mut sorted: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    sorted.sort();
    stable_id(&sorted)
}

/// `--threads 0` uses at most this many.
const MAX_AUTO_THREADS: usize = 4;

/// Where records come from: chunks framed and decoded here (`--threads 1`), or batches already
/// decoded by a stage of their own on the other core.
enum Feed {
    Chunks {
        rx: Receiver<Chunk>,
        recycle: SyncSender<Vec<u8>>,
        framer: Box<Framer>,
        unwrapper: Unwrapper,
    },
    Batches(Box<Parallel>),
}

enum Work {
    Chunk(Chunk),
    Batch(Batch),
}

impl Feed {
    fn start(config: &Config) -> Feed {
        let (rx, recycle) = spawn_reader(config.sources.clone());
        // Auto: one thread per core, up to four. The engine's own share of the work (in order,
        // on one thread) is about 40%, so more decoders than three gain little.
        let threads = match config.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_AUTO_THREADS),
            n => n,
        };
        if threads < 2 {
            let framer = Box::new(Framer::new(config.max_record_bytes));
            return Feed::Chunks {
                rx,
                recycle,
                framer,
                unwrapper: Unwrapper::default(),
            };
        }
        Feed::Batches(Box::new(Parallel::start(
            rx,
            recycle,
            threads - 1,
            config.max_record_bytes,
        )))
    }

    fn try_next(&mut self) -> Result<Work, TryRecvError> {
        match self {
            Feed::Chunks { rx, .. } => rx.try_recv().map(Work::Chunk),
            Feed::Batches(p) => p.try_next().map(Work::Batch),
        }
    }

    fn next_timeout(&mut self, wait: Duration) -> Result<Work, RecvTimeoutError> {
        match self {
            Feed::Chunks { rx, .. } => rx.recv_timeout(wait).map(Work::Chunk),
            Feed::Batches(p) => p.next_timeout(wait).map(Work::Batch),
        }
    }

    /// At the end of input the decoding thread has finished: wait for it, so a program that runs
    /// the pipeline many times leaves no threads behind. Not after a signal or an early stop: the
    /// reader may be blocked on an input that stays open.
    fn finish(&mut self) {
        if let Feed::Batches(p) = self {
            p.finish();
        }
    }

    /// A batch's buffers go back to the decoding stage.
    fn recycle(&mut self, batch: Batch) {
        if let Feed::Batches(p) = self {
            p.recycle(batch);
        }
    }
}
