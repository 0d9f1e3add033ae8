//! The one loop joining the stages: read → frame → unwrap → attribute → filter → write.

use crate::cli::Config;
use crate::filter::Patterns;
use crate::input::envelope::{Item, Record, Unwrapper};
use crate::input::framer::{Frame, Framer};
use crate::input::{spawn_reader, Chunk, Source};
use crate::output::annotate::write_annotation;
use crate::output::{Output, Reject, Reporter};
use crate::session::resolve::Chain;
use crate::session::{IdentityMatch, Lineage};
use std::io::{self, Write};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

/// How the run ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// All input was read.
    Success = 0,
    /// An input could not be read, output could not be written, or `--strict` met a bad record.
    Failure = 1,
    /// Bad flags.
    Usage = 2,
}

/// Errors that end a run.
#[derive(Debug)]
pub enum Error {
    /// Writing the output failed (other than a closed pipe, which is a normal end).
    Write(io::Error),
    /// `--reject FILE` could not be created or written.
    Reject(std::path::PathBuf, io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Write(e) => write!(f, "writing output: {e}"),
            Error::Reject(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for Error {}

/// Counters of the pipeline stage (`--stats`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub records_in: u64,
    pub bytes_in: u64,
    pub filtered_out: u64,
}

/// Everything a record passes through after framing.
struct Sink<W: Write> {
    lineage: Lineage,
    chain: Chain,
    out: Output<W>,
    reject: Option<(std::path::PathBuf, Reject)>,
    report: Reporter,
    counts: Counts,
    filtering: bool,
    strict: bool,
    /// Set by `--strict` at the first bad record.
    stopped: bool,
}

/// Runs the whole pipeline over `config.sources`, writing to `out`.
pub fn run<W: Write>(config: &Config, out: W) -> Result<Exit, Error> {
    let matcher = Patterns::new(config.identity.iter().cloned())
        .map(|p| Box::new(p) as Box<dyn IdentityMatch>);
    let filtering = matcher.is_some();
    let reject = match &config.reject {
        Some(p) => Some((
            p.clone(),
            Reject::create(p).map_err(|e| Error::Reject(p.clone(), e))?,
        )),
        None => None,
    };
    let mut sink = Sink {
        lineage: Lineage::new(config.max_sessions, matcher),
        chain: Chain::default(),
        out: Output::new(out, config.line_buffered),
        reject,
        report: Reporter {
            quiet: config.quiet,
            ..Reporter::default()
        },
        counts: Counts::default(),
        filtering,
        strict: config.strict,
        stopped: false,
    };
    let started = Instant::now();
    let mut framer = Framer::new(config.max_record_bytes);
    let mut unwrapper = Unwrapper::default();
    let (rx, recycle) = spawn_reader(config.sources.clone());
    let mut current = String::new();
    let mut exit = Exit::Success;

    let result = (|| -> Result<(), Error> {
        loop {
            let chunk = match rx.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => {
                    // Input is idle: whatever is buffered goes out now, so a live tail stays live.
                    sink.flush()?;
                    match rx.recv_timeout(Duration::from_millis(250)) {
                        Ok(c) => c,
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => return Ok(()),
                    }
                }
                Err(TryRecvError::Disconnected) => return Ok(()),
            };
            match chunk {
                Chunk::Start(n) => {
                    framer.reset();
                    current = config
                        .sources
                        .get(n)
                        .map_or_else(String::new, Source::display);
                }
                Chunk::Data(buf) => {
                    sink.counts.bytes_in += buf.len() as u64;
                    framer.feed(&buf);
                    let _ = recycle.try_send(buf);
                    sink.drain(&mut framer, &mut unwrapper, &current)?;
                }
                Chunk::End => {
                    framer.finish();
                    sink.drain(&mut framer, &mut unwrapper, &current)?;
                }
                Chunk::Failed(e) => {
                    framer.finish();
                    sink.drain(&mut framer, &mut unwrapper, &current)?;
                    sink.report.error(&format_args!("{current}: {e}"));
                    exit = Exit::Failure;
                }
            }
            if sink.stopped {
                return Ok(());
            }
        }
    })();
    let result = result.and_then(|()| sink.flush());
    match result {
        Ok(()) => {}
        Err(Error::Write(e)) if is_broken_pipe(&e) => {
            // `| head -1`: the reader downstream has all it wants. A normal end.
            return Ok(exit);
        }
        Err(e) => return Err(e),
    }
    if sink.stopped {
        exit = Exit::Failure;
    }
    sink.report.finish();
    if config.stats {
        sink.print_stats(started.elapsed());
    }
    Ok(exit)
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

impl<W: Write> Sink<W> {
    fn drain(
        &mut self,
        framer: &mut Framer,
        unwrapper: &mut Unwrapper,
        input: &str,
    ) -> Result<(), Error> {
        while let Some(frame) = framer.next() {
            if self.stopped {
                return Ok(());
            }
            match frame {
                Frame::Record { bytes, line } => {
                    let mut result = Ok(());
                    unwrapper.each(bytes, &mut |item| {
                        if result.is_err() || self.stopped {
                            return;
                        }
                        result = match item {
                            Item::Record(rec) => self.record(&rec),
                            Item::Bad { bytes, error } => {
                                self.bad(input, line, bytes, true, &error)
                            }
                        };
                    });
                    result?;
                }
                Frame::Bad {
                    bytes,
                    line,
                    reason,
                    continues,
                } => self.bad(input, line, bytes, !continues, &reason.as_str())?,
                Frame::BadMore { bytes, last } => {
                    if let Some((p, r)) = &mut self.reject {
                        r.write(bytes, last)
                            .map_err(|e| Error::Reject(p.clone(), e))?;
                    }
                }
            }
        }
        for w in self.lineage.take_warnings() {
            self.report.warning(&w);
        }
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_, '_>) -> Result<(), Error> {
        self.counts.records_in += 1;
        let att = self.lineage.process(rec.event);
        match &att.node {
            Some(node) => self.chain.resolve(node, att.evidence, att.caller_guess),
            None => self.chain.clear(),
        }
        if self.filtering {
            let keep = self.chain.any_node(|n| n.matched.get())
                || att.minted.as_ref().is_some_and(|m| m.matched.get());
            if !keep {
                self.counts.filtered_out += 1;
                return Ok(());
            }
        }
        let buf = self.out.buf();
        let start = buf.len();
        buf.extend_from_slice(&rec.text.as_bytes()[..rec.splice]);
        buf.push(b',');
        let si = rec
            .event
            .user_identity
            .session_context
            .source_identity
            .get();
        write_annotation(buf, att.session, &self.chain, si);
        buf.extend_from_slice(b"}\n");
        let len = buf.len() - start;
        self.out.end_record(len).map_err(Error::Write)
    }

    fn bad(
        &mut self,
        input: &str,
        line: u64,
        bytes: &[u8],
        end: bool,
        what: &dyn std::fmt::Display,
    ) -> Result<(), Error> {
        self.report.bad_record(input, line, what);
        if let Some((p, r)) = &mut self.reject {
            r.write(bytes, end)
                .map_err(|e| Error::Reject(p.clone(), e))?;
        }
        if self.strict {
            self.stopped = true;
            self.report
                .error(&format_args!("{input}:{line}: stopping (--strict)"));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if let Some((p, r)) = &mut self.reject {
            r.flush().map_err(|e| Error::Reject(p.clone(), e))?;
        }
        self.out.flush().map_err(Error::Write)
    }

    fn print_stats(&self, elapsed: Duration) {
        let t = self.lineage.table_stats();
        let l = self.lineage.stats;
        let secs = elapsed.as_secs_f64();
        let stats = serde_json::json!({
            "records_in": self.counts.records_in,
            "records_out": self.out.records,
            "bytes_in": self.counts.bytes_in,
            "bytes_out": self.out.bytes,
            "rejected": self.report.bad_records,
            "filtered_out": self.counts.filtered_out,
            "sessions_live": self.lineage.live_sessions(),
            "sessions_created": t.sessions_created,
            "sessions_evicted": t.evicted,
            "sessions_expired": t.expired,
            "edges": l.edges,
            "failed_creations": l.failed_creations,
            "collisions": l.collisions,
            "late_links": l.late_links,
            "elapsed_s": (secs * 1000.0).round() / 1000.0,
            "mb_per_s": if secs > 0.0 { ((self.counts.bytes_in as f64 / 1e6 / secs) * 10.0).round() / 10.0 } else { 0.0 },
        });
        eprintln!("{stats}");
    }
}
