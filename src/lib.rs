//! ctail-filter: annotate a stream of AWS CloudTrail events with the person or service really
//! behind each call.
//!
//! The modules, in the order data flows:
//!
//! ```text
//! cli                flags -> Config; the only module that knows clap (feature `cli`)
//! config             what a run is asked to do: the plain configuration the library takes
//! error              how a run ends: its exit status, and the errors that end it early
//! message            stderr messages that never panic nor stop the run
//! input              files and stdin read on a thread of their own, gzip by its magic bytes
//! input::order       FILE arguments in delivery order: S3 trail files by the time in their names
//! input::ahead       FILEs read and inflated ahead on threads of their own, handed on in order
//! input::gzip        gzip inflated straight into chunk buffers, member after member
//! input::parquet     Security Lake's Parquet FILEs, by their magic bytes: each row as its JSON line
//! input::producer    `-- PRODUCER`: the upstream run as a child, stopped by our own signals
//! input::framer      bytes -> one JSON value per record (lines, prefixes, colour, pretty JSON)
//! input::scan        the framer's byte-level helpers: depth across lines, minifying, ANSI codes
//! input::envelope    S3 Records, EventBridge, lookup-events (oldest first), kcat -> records
//!   ::subscription   CloudWatch Logs subscription payloads: awslogs base64+gzip, logEvents
//!   ::ocsf           Security Lake OCSF records mapped back to the CloudTrail fields lineage reads
//!   ::siem           SIEM exports that kept the raw record (event.original, _raw, message)
//! input::parallel    --threads: records decoded on other threads, handed on in input order
//! input::batch       --threads: a decoded batch, as it crosses from its thread to the engine
//! json               JSON string escapes, decoded for event::fast and input::envelope
//! event              the borrowed, lenient view of the fields attribution reads
//! event::fast        its fast path: one forward scan, serde_json where it is unsure
//! time               CloudTrail's time formats, read to whole UTC seconds
//! dedupe             --dedupe: recently seen event ids
//! session            lineage: which session made each call, and which session or person made that
//! session::caller    an event's userIdentity -> a node of the table
//! session::ocsf      a root caller read from OCSF (assumedRoot dropped): root's own only if proven
//! session::evidence  what a call says about its session, and whether a creator of it agrees
//! session::creators  creating events: each links the session it mints to its caller
//! session::node      a principal or session, and the creating events that link it to its parent
//! session::table     the bounded session table: LRU indices keyed by stable hashes
//! session::resolve   a session's creators walked up to its origin, collisions decided per call
//! session::persist   the session table as data, for --state
//! hold               events of not-yet-known sessions wait for their creator
//! filter             --identity patterns
//! output             the original bytes with "ctail":{…} spliced in as the last member; rejects
//! output::view       the formats (json, text, summary, dot, mermaid): one printer each, one interface
//! output::annotate   the annotation, written straight into the output buffer
//! output::text       --format text: one sanitised line per event for a terminal
//! output::activity   a session's calls, errors, time span and services, for the views that add up
//! output::summary    --format summary: a tree per origin of the sessions it minted
//! output::graph      --format dot|mermaid: the session graph as a model, bounded, grouped when large
//! output::dot        the graph in Graphviz's DOT, every event string escaped for it
//! output::mermaid    the graph as a Mermaid flowchart, every event string escaped for it
//! sink               one record through dedupe, lineage, hold, filter and output
//! state              --state: the session table saved and loaded across restarts
//! pipeline           the loop joining them: reading, idle flushes, signals
//! progress           a backfill's progress line on a terminal (files, events, MB/s, time left)
//! ```
//!
//! ```
//! use ctail_filter::{pipeline, Config, Source};
//! # let dir = std::env::temp_dir().join(format!("ctail-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("events.ndjson");
//! std::fs::write(&path, r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"e1"}"#).unwrap();
//! let config = Config { sources: vec![Source::File(path)], ..Config::default() };
//! let mut out = Vec::new();
//! pipeline::run(&config, &mut out).unwrap();
//! let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
//! assert_eq!(line["ctail"]["origin"]["name"], "alice");
//! assert_eq!(line["ctail"]["confidence"], "exact");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The library's surface: a run (configuration, input sources, `pipeline::run`, how it ends), and
// the decoding entry points the tests, benchmarks and fuzz targets drive directly. Everything
// else is the crate's own.
pub use config::{Config, Format};
pub use error::{Error, Exit};
pub use input::Source;

#[cfg(feature = "cli")]
pub mod cli; // flags -> Config (the only module that knows clap)
pub mod config; // what a run is asked to do
pub mod error; // exit status and fatal errors
pub mod message; // stderr messages that never stop the run
pub(crate) mod input; // reading, framing, envelopes
mod json; // JSON string escapes, for input and event
pub(crate) mod event; // the borrowed view of a record
pub(crate) mod time; // CloudTrail's time formats
pub(crate) mod dedupe; // --dedupe
                       // The engine is reached from outside only through `internals`, by the crate's own memory
                       // benchmark: not an API, so its items are documented where it helps the crate, not all of them.
#[allow(missing_docs)]
pub(crate) mod session; // the session table and lineage rules
pub(crate) mod hold; // waiting for late creators
pub(crate) mod filter; // --identity
pub(crate) mod output; // annotation and writing
pub(crate) mod sink; // one record through all of the above
pub(crate) mod state; // --state: the session table across restarts
pub mod pipeline; // the loop
pub(crate) mod progress; // the progress line of a backfill, on a terminal

/// Decoding, step by step: what the pipeline does to bytes before the session engine, for tests,
/// benchmarks and fuzz targets that hold each step to its contract.
pub mod decode {
    pub use crate::event::{decode, decode_fast, decode_with_serde, field_values, Event};
    pub use crate::input::envelope::{Item, Record, RecordError, Unwrapper};
    pub use crate::input::framer::{BadReason, Frame, Framer};
    pub use crate::time::{parse_sts_expiration, parse_time, write_iso, Epoch};
}

/// Not part of the library's surface: the session engine, reached by the crate's own memory
/// benchmark and test (`benches/session_memory.rs`, `tests/memory.rs`), which measure a session
/// table without the pipeline around it. No promise is made about anything in here.
#[doc(hidden)]
pub mod internals {
    pub use crate::event::decode;
    pub use crate::session::node::{Edge, Node};
    pub use crate::session::resolve::Chain;
    pub use crate::session::Lineage;
}
