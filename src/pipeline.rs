//! The one loop joining the stages: read → frame → `Sink` (attribute, hold, filter, write).
//!
//! The reader runs on its own thread; this loop flushes whenever it has nothing more to read,
//! releases held events by wall clock while input is idle, and stops cleanly on SIGINT/SIGTERM.

use crate::config::Config;
pub use crate::error::{Error, Exit};
use crate::input::envelope::Unwrapper;
use crate::input::framer::Framer;
use crate::input::parallel::Parallel;
use crate::input::{first_file_is_small_gzip, spawn_reader, Chunk, HEADROOM};
use crate::sink::{Input, Sink};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long the loop waits for input before looking at the clock and the signals again.
const TICK: Duration = Duration::from_millis(100);
/// At shutdown, how long the stages between reader and engine may stay silent before everything
/// read is taken to have been handed over.
const DRAIN_IDLE: Duration = Duration::from_millis(250);
/// At shutdown, how long a producer may take to stop and close its output.
const PRODUCER_GRACE: Duration = Duration::from_secs(10);

/// Records taken in and written out so far, for the message of a second signal (which ends the
/// process from another thread).
static RECORDS_IN: AtomicU64 = AtomicU64::new(0);
static RECORDS_OUT: AtomicU64 = AtomicU64::new(0);

/// Publishes the sink's progress for [`watch_second_signal`].
fn progress<W: Write>(sink: &Sink<W>) {
    let (read, done) = sink.progress();
    RECORDS_IN.store(read, Ordering::Relaxed);
    RECORDS_OUT.store(done, Ordering::Relaxed);
}

/// Runs the whole pipeline over `config.sources`, writing to `out`.
pub fn run<W: Write>(config: &Config, out: W) -> Result<Exit, Error> {
    // Held to the end of the run: a second process on the same state file is refused at start.
    let _lock = (config.state.as_ref())
        .map(|p| crate::state::lock(p).map_err(|e| Error::State(p.clone(), e)))
        .transpose()?;
    if config.quiet {
        crate::input::envelope::siem::keep_quiet();
        crate::input::envelope::delivery::keep_quiet();
    }
    let signal = signals()?;
    let usr1 = summary_requests()?;
    let mut sink = Sink::from_config(config, out)?;
    let mut clock = Clock::new(config);
    let mut feed = Feed::start(config);
    let mut bar = config
        .progress
        .then(|| crate::progress::Progress::start(&config.sources))
        .flatten();
    let mut stopped_by = None;
    let read = (|| -> Result<(), Error> {
        loop {
            if let Some(sig) = signal.received() {
                stopped_by = Some(sig);
                return Ok(());
            }
            clock.tick(&mut sink, usr1)?;
            progress(&sink);
            if let Some(bar) = &mut bar {
                let (current, events, bytes) = sink.position();
                bar.update(current, events, bytes);
            }
            let step = match feed.step(&mut sink, None)? {
                Step::Idle => {
                    // Input is idle: whatever is buffered goes out now, so a live tail stays live.
                    sink.release_due(Instant::now())?;
                    sink.flush()?;
                    feed.step(&mut sink, Some(TICK))?
                }
                step => step,
            };
            if step == Step::Done {
                feed.finish();
                return Ok(());
            }
            if sink.stopped() {
                return Ok(());
            }
        }
    })();
    // A signal: nothing more is read, but every record already read is handled (a shipper
    // that signals us cannot send them again). A second signal ends the process at once.
    let read = read.and_then(|()| match stopped_by {
        Some(_) => feed.drain(&mut sink),
        None => Ok(()),
    });
    // End of input, a signal or --strict: nothing held is lost. The state is saved however the
    // run ends, a closed pipe downstream included.
    // Stopped by a signal with --state, what is held stays held, in the state file: a shipper
    // that stops its outputs before it signals us would lose what we released now.
    if let Some(bar) = &bar {
        bar.finish();
    }
    let keep_held = stopped_by.is_some() && sink.keeps_held();
    let finished = read.and_then(|()| if keep_held { sink.flush() } else { sink.finish() });
    let saved = if keep_held {
        sink.finish_keeping_held()
    } else {
        sink.save_state()
    };
    match finished {
        Ok(()) => {}
        // `| head -1`: the reader downstream has all it wants. A normal end.
        Err(Error::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e),
    }
    saved?;
    sink.report_finish();
    if config.stats {
        crate::eprintln_locked!("{}", sink.stats_json(clock.started.elapsed()));
    }
    Ok(match stopped_by {
        Some(sig) => Exit::Signal(sig),
        None if sink.stopped() || sink.failed() => Exit::Failure,
        None => Exit::Success,
    })
}

/// What runs on the clock between records: checkpoints of `--state`, `--stats-interval` lines,
/// and the view's answer to SIGUSR1.
struct Clock {
    started: Instant,
    checkpoint: Duration,
    last_checkpoint: Instant,
    stats_interval: Option<Duration>,
    last_stats: Instant,
}

impl Clock {
    fn new(config: &Config) -> Self {
        let now = Instant::now();
        Clock {
            started: now,
            checkpoint: if config.state.is_some() {
                config.checkpoint
            } else {
                Duration::ZERO
            },
            last_checkpoint: now,
            stats_interval: config.stats_interval,
            last_stats: now,
        }
    }

    fn tick<W: Write>(&mut self, sink: &mut Sink<W>, usr1: &AtomicBool) -> Result<(), Error> {
        if !self.checkpoint.is_zero() && self.last_checkpoint.elapsed() >= self.checkpoint {
            sink.save_state()?;
            self.last_checkpoint = Instant::now();
        }
        if usr1.swap(false, Ordering::Relaxed) {
            sink.on_request()?;
        }
        if let Some(every) = self.stats_interval {
            if self.last_stats.elapsed() >= every {
                crate::eprintln_locked!("{}", sink.stats_json(self.started.elapsed()));
                self.last_stats = Instant::now();
            }
        }
        Ok(())
    }
}

/// The signals that ask us to stop, with handlers installed once per process: a program that
/// runs the pipeline many times (tests, fuzzing) must not stack them up.
fn signals() -> Result<&'static Signals, Error> {
    static FLAG: OnceLock<Signals> = OnceLock::new();
    if let Some(f) = FLAG.get() {
        return Ok(f);
    }
    let (flag, hangup) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    // SIGHUP too: a terminal that went away, or (Linux) our parent that ended, which the kernel
    // tells us with SIGHUP. It stops us as SIGTERM does but never counts as a second signal:
    // a shipper that sends SIGTERM to its command's shell and then ends would otherwise make
    // its own shutdown look like "now" and lose what was held.
    // Its own flag, read after the others: SIGTERM then SIGHUP ends with SIGTERM's status.
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_usize(sig, Arc::clone(&flag), sig as usize).map_err(Error::Signals)?;
    }
    signal_hook::flag::register_usize(signal_hook::consts::SIGHUP, Arc::clone(&hangup), SIGHUP)
        .map_err(Error::Signals)?;
    watch_second_signal()?;
    Ok(FLAG.get_or_init(|| Signals { flag, hangup }))
}

const SIGHUP: usize = signal_hook::consts::SIGHUP as usize;

/// What asked us to stop: SIGINT or SIGTERM, else SIGHUP.
struct Signals {
    flag: Arc<AtomicUsize>,
    hangup: Arc<AtomicUsize>,
}

impl Signals {
    /// The signal that asked us to stop, if one did.
    fn received(&self) -> Option<u8> {
        match self.flag.load(Ordering::Relaxed) {
            0 => match self.hangup.load(Ordering::Relaxed) {
                0 => None,
                sig => Some(sig as u8),
            },
            sig => Some(sig as u8),
        }
    }
}

/// The first SIGINT/SIGTERM (or SIGHUP) asks for a clean stop (finish what was read, release,
/// flush, save); a second SIGINT/SIGTERM means now: the process ends at once, from this thread (the engine may be blocked
/// writing to a stalled downstream), saying on stderr what was not written.
fn watch_second_signal() -> Result<(), Error> {
    let mut signals =
        signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM])
            .map_err(Error::Signals)?;
    std::thread::Builder::new()
        .name("ctail-signals".into())
        .spawn(move || {
            let mut seen = 0;
            for sig in signals.forever() {
                seen += 1;
                if seen < 2 {
                    continue;
                }
                let read = RECORDS_IN.load(Ordering::Relaxed);
                let done = RECORDS_OUT.load(Ordering::Relaxed);
                crate::eprintln_locked!(
                    "ctail-filter: second signal: exiting at once; {} records read were not written (held, or waiting for output), nor was any input read but not yet framed; the state was not saved",
                    read.saturating_sub(done)
                );
                std::process::exit(128 + sig);
            }
        })
        .map_err(Error::Signals)?;
    Ok(())
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

/// `--threads 0` uses at most this many.
const MAX_AUTO_THREADS: usize = 4;

/// Where records come from: chunks framed and decoded here (`--threads 1`), or batches already
/// decoded by a stage of their own on the other core. Either way each item reaches the sink as
/// one `Input`, through `Sink::take`.
enum Feed {
    Chunks {
        rx: Receiver<Chunk>,
        recycle: SyncSender<Vec<u8>>,
        framer: Box<Framer>,
        unwrapper: Unwrapper,
    },
    Batches(Box<Parallel>),
}

/// What one step of the feed did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Handed input to the sink.
    Worked,
    /// Nothing was ready (within the wait).
    Idle,
    /// All input has been read.
    Done,
}

impl Feed {
    fn start(config: &Config) -> Feed {
        // Auto: one thread per core, up to four. The engine's own share of the work (in order,
        // on one thread) is about 40%, so more decoders than three gain little.
        let threads = match config.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_AUTO_THREADS),
            n => n,
        };
        // Small gzip FILEs (a backfill of trail files) on two threads: inflating them keeps the
        // second core busy, and a decoding thread beside the inflater would share that core
        // while adding the cost of handing decoded records over. So the reader thread inflates
        // and the engine's thread decodes: 0.45 s against 0.59 s for 3,022 trail files. Large
        // gzip files (a Firehose object, an NDJSON export) gain from the decoding thread: 0.67 s
        // against 0.80 s for one 297 MB stream (README, Backfill).
        let trail_files_on_two = threads == 2 && first_file_is_small_gzip(&config.sources);
        // Otherwise FILEs are read and inflated ahead by threads of their own (with two threads
        // or more), one per two threads.
        let inflaters = if threads < 2 || trail_files_on_two {
            0
        } else {
            (threads / 2).max(1)
        };
        let (rx, recycle) = spawn_reader(config.sources.clone(), inflaters);
        if threads < 2 || trail_files_on_two {
            let framer = Box::new(Framer::new(config.max_record_bytes));
            return Feed::Chunks {
                rx,
                recycle,
                framer,
                unwrapper: Unwrapper::new(config.max_record_bytes),
            };
        }
        Feed::Batches(Box::new(Parallel::start(
            rx,
            recycle,
            threads - 1,
            config.max_record_bytes,
        )))
    }

    /// Hands the next piece of input to the sink: what is ready now (`wait` `None`), or what
    /// comes within `wait`.
    fn step<W: Write>(&mut self, sink: &mut Sink<W>, wait: Option<Duration>) -> Result<Step, Error> {
        match self {
            Feed::Chunks {
                rx,
                recycle,
                framer,
                unwrapper,
            } => {
                let chunk = match wait {
                    None => rx.try_recv().map_err(Step::from),
                    Some(d) => rx.recv_timeout(d).map_err(Step::from),
                };
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(step) => return Ok(step),
                };
                match chunk {
                    Chunk::Start(n) => {
                        framer.reset();
                        sink.take(Input::Start(n))?;
                    }
                    Chunk::Data(buf) => {
                        sink.bytes_in((buf.len() - HEADROOM) as u64);
                        let spare = framer.feed_owned(buf, HEADROOM);
                        let _ = recycle.try_send(spare);
                        sink.frames(framer, unwrapper)?;
                    }
                    Chunk::End => {
                        framer.finish();
                        sink.frames(framer, unwrapper)?;
                    }
                    Chunk::Failed(e) => {
                        framer.finish();
                        sink.frames(framer, unwrapper)?;
                        sink.take(Input::Failed(&e))?;
                    }
                }
            }
            Feed::Batches(p) => {
                let batch = match wait {
                    None => p.try_next().map_err(Step::from),
                    Some(d) => p.next_timeout(d).map_err(Step::from),
                };
                let batch = match batch {
                    Ok(b) => b,
                    Err(step) => return Ok(step),
                };
                sink.bytes_in(batch.bytes_in);
                sink.batch(&batch)?;
                p.recycle(batch);
            }
        }
        Ok(Step::Worked)
    }

    /// Shutdown: stops the reader (or asks the producer to stop and reads what it still writes,
    /// for up to [`PRODUCER_GRACE`]) and hands the sink everything read before, until the stages
    /// between have nothing more for [`DRAIN_IDLE`] (a reader blocked on an open, silent input
    /// has nothing more).
    fn drain<W: Write>(&mut self, sink: &mut Sink<W>) -> Result<(), Error> {
        let producing = crate::input::producer::stop();
        if !producing {
            crate::input::stop_reading();
        }
        let deadline = Instant::now() + PRODUCER_GRACE;
        while !sink.stopped() {
            progress(sink);
            match self.step(sink, Some(DRAIN_IDLE))? {
                Step::Worked => {}
                Step::Idle if producing && Instant::now() < deadline => {}
                Step::Idle | Step::Done => break,
            }
        }
        Ok(())
    }

    /// At the end of input the decoding thread has finished: wait for it, so a program that runs
    /// the pipeline many times leaves no threads behind. Not after a signal or an early stop: the
    /// reader may be blocked on an input that stays open.
    fn finish(&mut self) {
        if let Feed::Batches(p) = self {
            p.finish();
        }
    }
}

impl From<TryRecvError> for Step {
    fn from(e: TryRecvError) -> Step {
        match e {
            TryRecvError::Empty => Step::Idle,
            TryRecvError::Disconnected => Step::Done,
        }
    }
}

impl From<RecvTimeoutError> for Step {
    fn from(e: RecvTimeoutError) -> Step {
        match e {
            RecvTimeoutError::Timeout => Step::Idle,
            RecvTimeoutError::Disconnected => Step::Done,
        }
    }
}
