//! What a run is asked to do: the plain configuration the library takes (the binary fills it from
//! the command line, `cli`; tests and embedders build it directly).

use crate::input::Source;
use crate::time::Epoch;
use std::path::PathBuf;
use std::time::Duration;

/// What is written for each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Every event, its original bytes with the annotation spliced in.
    Json,
    /// One sanitised line per event, for a person.
    Text,
    /// A tree per origin of the sessions it minted, at the end and on SIGUSR1.
    Summary,
    /// The session graph in Graphviz's DOT language, at the end and on SIGUSR1.
    Dot,
    /// The session graph as a Mermaid flowchart, at the end and on SIGUSR1.
    Mermaid,
}

/// Everything the pipeline needs, resolved from the flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// In reading order: the FILEs with the trail files among them in delivery order.
    pub sources: Vec<Source>,
    /// How many S3 trail files were put in delivery order (0: the FILEs are read as given).
    pub reordered: usize,
    /// `--identity` patterns: keep only events whose lineage matches one (none: keep all).
    pub identity: Vec<String>,
    /// Sessions kept in memory at most (least recently used forgotten first).
    pub max_sessions: usize,
    /// Records longer than this are rejected (at most 1 GiB).
    pub max_record_bytes: usize,
    /// Where rejected records are written verbatim.
    pub reject: Option<PathBuf>,
    /// Stop with a failure at the first bad record.
    pub strict: bool,
    /// Flush after every record (else when input goes idle).
    pub line_buffered: bool,
    /// No warnings or bad-record messages on stderr.
    pub quiet: bool,
    /// Print the counters on stderr at the end.
    pub stats: bool,
    /// How long a call of an unknown young session waits for its creator (zero: not at all).
    pub hold: Duration,
    /// Events held at most.
    pub max_held: usize,
    /// Bytes of held records at most.
    pub max_held_bytes: usize,
    /// Calls of sessions younger than this wait until a colliding creator could no longer come.
    pub settle: Duration,
    /// Drop records whose eventID and recipient account were seen recently.
    pub dedupe: bool,
    /// Write only events with misuse signals.
    pub signals_only: bool,
    /// The session table kept across runs (locked while in use).
    pub state: Option<PathBuf>,
    /// Start with an empty table even if the state file exists.
    pub fresh_state: bool,
    /// How often the state is saved during the run (zero: only at the end).
    pub checkpoint: Duration,
    /// Also print the counters this often.
    pub stats_interval: Option<Duration>,
    /// What is written for each event.
    pub format: Format,
    /// Colour, already resolved against the terminal and the environment.
    pub color: bool,
    /// 0: one per core.
    pub threads: usize,
    /// `--since`/`--until`: only events whose eventTime is in `[since, until)` are written; every
    /// event is still read and learned from (a shard of a backfill, with its warm-up).
    pub since: Option<Epoch>,
    /// The end of that window, excluded.
    pub until: Option<Epoch>,
    /// `--progress`: a progress line on stderr (the command line sets it when stderr is a
    /// terminal and not `--quiet`).
    pub progress: bool,
}

impl Default for Config {
    /// The defaults of the command line (`tests` hold the two together): standard input, JSON.
    fn default() -> Self {
        Config {
            sources: vec![Source::Stdin],
            reordered: 0,
            identity: Vec::new(),
            max_sessions: 100_000,
            max_record_bytes: 64 << 20,
            reject: None,
            strict: false,
            line_buffered: false,
            quiet: false,
            stats: false,
            hold: Duration::from_secs(15 * 60),
            max_held: 20_000,
            max_held_bytes: 64 << 20,
            settle: Duration::ZERO,
            dedupe: false,
            signals_only: false,
            state: None,
            fresh_state: false,
            checkpoint: Duration::from_secs(5 * 60),
            stats_interval: None,
            format: Format::Json,
            color: false,
            threads: 0,
            since: None,
            until: None,
            progress: false,
        }
    }
}
