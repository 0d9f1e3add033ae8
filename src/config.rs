//! What a run is asked to do: the plain configuration the library takes (the binary fills it from
//! the command line, `cli`; tests and embedders build it directly).

use crate::input::Source;
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
}

/// Everything the pipeline needs, resolved from the flags.
#[derive(Debug, Clone)]
pub struct Config {
    /// In reading order: the FILEs with the trail files among them in delivery order.
    pub sources: Vec<Source>,
    /// How many S3 trail files were put in delivery order (0: the FILEs are read as given).
    pub reordered: usize,
    pub identity: Vec<String>,
    pub max_sessions: usize,
    pub max_record_bytes: usize,
    pub reject: Option<PathBuf>,
    pub strict: bool,
    pub line_buffered: bool,
    pub quiet: bool,
    pub stats: bool,
    pub hold: Duration,
    pub max_held: usize,
    /// Bytes of held records at most.
    pub max_held_bytes: usize,
    pub settle: Duration,
    pub dedupe: bool,
    pub state: Option<PathBuf>,
    pub fresh_state: bool,
    pub checkpoint: Duration,
    pub stats_interval: Option<Duration>,
    pub format: Format,
    /// Colour, already resolved against the terminal and the environment.
    pub color: bool,
    /// 0: one per core.
    pub threads: usize,
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
            state: None,
            fresh_state: false,
            checkpoint: Duration::from_secs(5 * 60),
            stats_interval: None,
            format: Format::Json,
            color: false,
            threads: 0,
        }
    }
}
