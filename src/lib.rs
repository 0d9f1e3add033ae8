//! ctail-filter: annotate a stream of AWS CloudTrail events with the person or service really
//! behind each call.
//!
//! The pipeline, in the order data flows (one module each):
//!
//! ```text
//! input::spawn_reader  files / stdin, gzip by magic bytes, on a thread of its own
//! input::framer        bytes -> one JSON value per record (lines, prefixes, pretty JSON)
//! input::envelope      S3 Records, EventBridge, lookup-events, kcat -> CloudTrail records
//! input::batch         --threads: framing and decoding on a thread of their own
//! event                borrowed, lenient decode of the fields attribution reads
//! dedupe               --dedupe: recently seen event ids
//! session              the bounded session table and the lineage rules
//! hold                 events of not-yet-known sessions wait for their creator
//! filter               --identity patterns
//! output               the original bytes with "ctail":{…} spliced in as the last member;
//!                      the text and summary views for people
//! sink                 one record through dedupe, lineage, hold, filter and output
//! state                --state: the session table saved and loaded across restarts
//! pipeline             the loop joining them: reading, idle flushes, signals
//! ```
//!
//! ```
//! use ctail_filter::{config::Config, input::Source, pipeline};
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

pub use config::Config;
pub use error::{Error, Exit};

#[cfg(feature = "cli")]
pub mod cli; // flags -> Config (the only module that knows clap)
pub mod config; // what a run is asked to do
pub mod error; // exit status and fatal errors
pub mod message; // stderr messages that never stop the run
pub mod input; // reading, framing, envelopes
mod json; // JSON string escapes, for input and event
pub mod event; // the borrowed view of a record
pub mod time; // CloudTrail's time formats
pub(crate) mod dedupe; // --dedupe
pub mod session; // the session table and lineage rules
pub(crate) mod hold; // waiting for late creators
pub(crate) mod filter; // --identity
pub(crate) mod output; // annotation and writing
pub(crate) mod sink; // one record through all of the above
pub(crate) mod state; // --state: the session table across restarts
pub mod pipeline; // the loop
