//! Command-line flags (clap derive) and the [`Config`] built from them. Parsing only, no I/O.
//! The only module that knows clap (behind the default `cli` feature): the library takes a plain
//! [`Config`].

pub use crate::config::{Config, Format};
use crate::input::Source;
use clap::{ArgAction, Parser};
use std::ffi::OsString;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
INPUT SHAPES (recognised per record, no flag needed):
  one event per line; S3 trail files {\"Records\":[...]} (also gzip, by magic bytes);
  EventBridge envelopes (the event is `detail`); `aws cloudtrail lookup-events` output;
  `aws logs tail` lines (detailed, short and json formats); `kcat -J` records; pretty-printed
  events over several lines; ANSI colour codes around a prefix.

OUTPUT:
  Every CloudTrail record as one line: its original bytes with the annotation spliced in as the
  last member, ...,\"ctail\":{\"session\",\"origin\",\"chain\",\"confidence\",...}}. See ctail-filter(1).

EXIT STATUS:
  0  all input was read (bad records are reported, not fatal)
  1  a fatal error: an unreadable input, a write error, a bad record with --strict, or a
     --state file refused at start (damaged, or in use by another process)
  2  usage error
  143  stopped by SIGTERM, after handling every record already read, releasing held
       events, flushing and saving; after SIGINT the same, then it ends by the signal
       itself (a shell shows 130). A second signal ends it at once.
  129  stopped by SIGHUP (a terminal gone; on Linux, the parent that ended): the
       same clean stop, and never taken for a second signal

EXAMPLES:
  ctail-filter --identity alice -- aws logs tail /aws/cloudtrail --follow | jq .ctail.origin
  ctail-filter *.json.gz > annotated.ndjson";

/// `--threads` beyond this is refused: each is a thread of its own, and the engine's in-order
/// share of the work stops gains long before.
pub const MAX_THREADS: u16 = 64;

/// Annotate CloudTrail events with the person or service really behind each call.
///
/// Reads CloudTrail events from the FILEs (S3 trail files in delivery order) or standard input,
/// links every session to the event that created it, and writes every event back out, one per
/// line, with a "ctail" annotation naming its origin, the chain of sessions and how sure the link
/// is.
#[derive(Debug, Parser)]
#[command(name = "ctail-filter", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    /// Input files, read in the order given; `-` or none for standard input. Gzip is detected by
    /// content, and so is Parquet (Amazon Security Lake's objects; a build with the `parquet`
    /// feature reads them, see INPUT SHAPES).
    ///
    /// S3 trail files, named ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json[.gz], are read
    /// in the order of the delivery time in their names (ties: by file name, then path), whatever
    /// order a glob or `find` lists them in (by account and region first), so no session's calls
    /// are read an hour before its creator. They take the places trail files had among the FILEs;
    /// any other FILE keeps its place. A notice on stderr says when this changed the order; to
    /// read trail files in another order, pipe them in (`zcat FILE... | ctail-filter`).
    #[arg(value_name = "FILE")]
    pub files: Vec<OsString>,

    /// Read the FILEs named in LIST as well (one path a line; `-`: standard input), after those
    /// named on the command line: more trail files than a command line holds (a backfill shard).
    #[arg(long, value_name = "LIST", conflicts_with = "producer")]
    pub files_from: Option<PathBuf>,

    /// Run PRODUCER (after `--`) and read its output: `ctail-filter -- aws logs tail … --follow`.
    ///
    /// No shell stands between: SIGINT or SIGTERM reaches ctail-filter, which stops the producer
    /// as Ctrl-C would (SIGINT to its process group, SIGTERM 3 s later if it still runs), reads
    /// what it still writes, handles it, saves the state and exits. The producer runs with
    /// PYTHONUNBUFFERED=1 unless that is set: the AWS CLI then writes each event as it prints it
    /// instead of in 8 KB blocks. Its stderr is ctail-filter's. A producer that exits is reported
    /// on stderr (a failure ends the run with status 1), or started again with
    /// --restart-producer.
    #[arg(last = true, value_name = "PRODUCER", conflicts_with = "files")]
    pub producer: Vec<OsString>,

    /// Start the producer again (after a second) whenever it exits, until a signal.
    #[arg(long, requires = "producer")]
    pub restart_producer: bool,

    /// Keep only events whose lineage matches PATTERN (repeatable).
    ///
    /// Keeps every event made by a session whose lineage contains a match, and every event that
    /// minted such a session; drops the rest. A pattern is compared whole and case-sensitively
    /// with ARNs, user names, role names, role session names, access key ids, principal ids, SAML
    /// and OIDC subjects, Identity Center user ids, EC2 instance ids and source identities; `*`
    /// matches any run of characters (`arn:aws:iam::*:user/alice`, `botocore-session-*`).
    /// Following starts with the first matching event and covers the identity's current sessions
    /// and every session minted from them later, in every role and account. An ambiguous event
    /// with a matching candidate is kept (it says it is ambiguous).
    #[arg(short = 'i', long, value_name = "PATTERN", action = ArgAction::Append)]
    pub identity: Vec<String>,

    /// Sessions kept in memory at most; the least recently used are forgotten first.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_sessions: u64,

    /// Records longer than this are rejected (suffixes K, M, G: binary units; at most 1G).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_record_size)]
    pub max_record_bytes: u64,

    /// Write every rejected record, verbatim, one per line, to FILE.
    #[arg(long, value_name = "FILE")]
    pub reject: Option<PathBuf>,

    /// Stop with status 1 at the first record that is not a CloudTrail event.
    #[arg(long)]
    pub strict: bool,

    /// Flush output after every record (default: when input goes idle, or every 64 KiB).
    #[arg(long)]
    pub line_buffered: bool,

    /// No warnings, notices or bad-record messages on stderr (fatal errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,

    /// At exit, print one JSON object of counters on stderr.
    #[arg(long)]
    pub stats: bool,

    /// How long an event of a not-yet-known session waits for its creating event (0: no wait).
    ///
    /// CloudTrail delivers about 5 minutes late on average and up to about 15, out of order, so a
    /// session is often used before the event that created it arrives. Such an event is held and
    /// released, annotated, the moment its creating event arrives; or `unlinked` once DURATION has
    /// passed in event time (against the latest eventTime two records have reached: one far-off
    /// record alone never moves it) or in wall time since it arrived
    /// (so an idle live stream never sits on it). Events of known sessions are never delayed, nor
    /// are those of a session that began more than DURATION before the events the stream has
    /// shown (a tail started mid-day: its creator is not coming), and a session released unlinked
    /// once does not delay its later events again. End of input and
    /// SIGINT/SIGTERM release everything. Units: ms, s, m, h, d.
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_duration_arg)]
    pub hold: std::time::Duration,

    /// Events held at most; on overflow the oldest goes out as it stands (unlinked).
    #[arg(long, value_name = "N", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_held: u64,

    /// Bytes of held events at most (suffixes K, M, G); on overflow the oldest goes out as it
    /// stands (unlinked).
    ///
    /// Real CloudTrail records reach hundreds of kilobytes: the count alone (--max-held) does not
    /// bound memory. A single record larger than this is not held at all.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_held_bytes: u64,

    /// Hold events of sessions younger than DURATION (event time) until a colliding creator could
    /// no longer arrive (default 0: live tailing stays live).
    ///
    /// AWS recycles temporary access keys: two sessions can share every logged attribute, and the
    /// second creating event may arrive after the first session's calls went out as certain. With
    /// --settle, no call of a session younger than DURATION is released before DURATION has passed
    /// since the session's creation, in event time (or in wall time since the call arrived), so a
    /// late colliding creator still makes it ambiguous. This trades latency for certainty: use it
    /// for backfills and audits (15m covers CloudTrail's delivery delay), not for live tailing.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = parse_duration_arg)]
    pub settle: std::time::Duration,

    /// Drop a record whose eventID and recipientAccountId were seen before (remembers the last
    /// 500,000 to 1,000,000 ids).
    ///
    /// Without it, both copies of a duplicate come out (they never count twice in attribution).
    /// The two copies of a cross-account call are two records (their recipient accounts differ)
    /// and are both kept.
    #[arg(long)]
    pub dedupe: bool,

    /// Write only events with misuse signals (`ctail.signals`): a session used from another
    /// address with another tool, instance credentials off their instance, use after a door was
    /// closed, an attack tool's agent.
    ///
    /// Signals are judged on every event, written or not; what is left out counts as
    /// filtered_out in --stats. Combines with --identity (both must keep an event).
    #[arg(long)]
    pub signals_only: bool,

    /// Keep the session table in FILE across restarts: loaded at start, saved at exit and every
    /// --checkpoint.
    ///
    /// Sessions live up to 36 hours; a restart that forgets them makes every ongoing session
    /// unlinked. The file is written atomically and readable by its owner only (it holds ARNs
    /// and key ids). A file that is empty, truncated, corrupt or of an unknown version is refused
    /// at start (status 1) and left exactly as it is; --fresh-state starts afresh instead.
    ///
    /// One process at a time: a run holds a lock on FILE.lock (created beside FILE and left
    /// there) from start to exit, and another process given the same FILE is refused at start
    /// (status 1), naming the holder's pid. The lock is advisory (flock, on Linux) and the system
    /// releases it when its holder ends, however it ends: a lock file left by a killed process
    /// never blocks.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Start with an empty session table even if the --state file exists (it is replaced at the
    /// next save). The explicit way past a state file that was refused.
    #[arg(long, requires = "state")]
    pub fresh_state: bool,

    /// Save --state every DURATION of wall time as well as at exit (0: only at exit).
    // `requires` is checked only when the flag is given: its default alone is no error.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration_arg, requires = "state")]
    pub checkpoint: std::time::Duration,

    /// Output: `json` (every event, annotated), `text` (one line per event for a person),
    /// `summary` (a tree per origin of the sessions it minted), `dot` or `mermaid` (the session
    /// graph for Graphviz or Markdown: origins, sessions and the creating events between them,
    /// accounts as clusters). The last three print at the end of input and on SIGUSR1.
    #[arg(long, value_enum, default_value_t = FormatArg::Json, value_name = "FORMAT")]
    pub format: FormatArg,

    /// Colour in the text and summary views: `auto` colours a terminal unless NO_COLOR is set
    /// (CLICOLOR_FORCE forces it).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Print a completion script for SHELL on stdout and exit.
    #[arg(long, value_enum, value_name = "SHELL", exclusive = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Threads (at most 64): 1 decodes on the engine's thread, input read (and gzip inflated) on
    /// a reader thread; N decodes records on N-1 threads, and on the engine's when it would
    /// otherwise wait, while the session engine runs in input order (the output is the same).
    /// With N of 2 or more, FILEs are also read and gzip inflated ahead, in order, on N/2 threads
    /// of their own (at most 32 files and 64 chunks of 256 KiB ahead); but with 2 and small gzip
    /// FILEs (trail files, under 1 MiB), the reader inflates and the engine's thread decodes, the
    /// fastest on two cores. 0 (default): one per core, at most 4.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::builder::TypedValueParser::map(
              clap::value_parser!(u16).range(0..=MAX_THREADS as i64), usize::from))]
    pub threads: usize,

    /// Print the --stats object on stderr every DURATION of wall time as well as at exit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_arg)]
    pub stats_interval: Option<std::time::Duration>,

    /// Write only events whose eventTime is at or after TIME; every event is still read and
    /// learned from (a shard of a backfill: give it its warm-up before TIME).
    ///
    /// TIME: `2024-05-01T00:00:00Z`, `2024-05-01T00:00Z`, `2024-05-01` (UTC midnight), or
    /// `20240501T0000Z` (as in trail file names). Events held for their creator are held as usual
    /// and written, if in the window, when released. A record without a readable eventTime
    /// belongs to no window: it is not written when --since or --until is given (counted as
    /// `outside_window` in --stats). The summary view counts only the events written. To
    /// annotate a window [SINCE, UNTIL) exactly as one run over everything would, read trail files
    /// delivered from SINCE minus the warm-up (36 hours, 48 if sessions from GetSessionToken
    /// credentials assume roles; see BACKFILL) up to UNTIL plus the delivery delay and the
    /// --hold or --settle window.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    pub since: Option<i64>,

    /// Write only events whose eventTime is before TIME (see --since); every event is still read.
    #[arg(long, value_name = "TIME", value_parser = parse_time_arg)]
    pub until: Option<i64>,
}

/// `--since`/`--until`: an ISO 8601 UTC time, a date, or a trail file name's `YYYYMMDDTHHMMZ`.
pub fn parse_time_arg(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let b = t.as_bytes();
    let parsed = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        crate::time::parse_time(&format!("{t}T00:00:00Z"))
    } else if b.len() == 14 && b[8] == b'T' && b[13] == b'Z' {
        crate::time::parse_time(&format!("{}00Z", &t[..13]))
    } else if b.len() == 17 && b[10] == b'T' && b[16] == b'Z' {
        crate::time::parse_time(&format!("{}:00Z", &t[..16]))
    } else {
        crate::time::parse_time(t)
    };
    parsed.ok_or_else(|| {
        format!("`{s}` is not a time (try 2024-05-01T00:00:00Z, 2024-05-01 or 20240501T0000Z)")
    })
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::time::parse_duration(s)
}

/// `--format`: the choices as the command line spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Every event, annotated.
    Json,
    /// One line per event, for a terminal.
    Text,
    /// A tree per origin, at the end.
    Summary,
    /// A Graphviz graph of the sessions, at the end.
    Dot,
    /// The same graph as a Mermaid flowchart, at the end.
    Mermaid,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Json => Format::Json,
            FormatArg::Text => Format::Text,
            FormatArg::Summary => Format::Summary,
            FormatArg::Dot => Format::Dot,
            FormatArg::Mermaid => Format::Mermaid,
        }
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal, as NO_COLOR and CLICOLOR_FORCE say.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour, given whether stdout is a terminal and the environment: an explicit
    /// choice wins; `auto` honours NO_COLOR (any non-empty value: off), then CLICOLOR_FORCE
    /// (non-empty and not `0`: on), then the terminal.
    pub fn resolve(self, is_terminal: bool, env: impl Fn(&str) -> Option<String>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                    false
                } else if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                    true
                } else {
                    is_terminal
                }
            }
        }
    }
}

impl Cli {
    /// Adds the FILEs of `--files-from` to the FILEs (the command line's I/O, before
    /// [`Cli::into_config`]). Empty lines are skipped.
    pub fn read_files_from(&mut self) -> std::io::Result<()> {
        let Some(list) = &self.files_from else {
            return Ok(());
        };
        let text = if list.as_os_str() == "-" {
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)?;
            s
        } else {
            std::fs::read(list)?
        };
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                #[cfg(unix)]
                let name = <OsString as std::os::unix::ffi::OsStringExt>::from_vec(line.to_vec());
                #[cfg(not(unix))]
                let name = OsString::from(String::from_utf8_lossy(line).into_owned());
                self.files.push(name);
            }
        }
        Ok(())
    }

    /// The library's configuration from the parsed flags.
    pub fn into_config(self) -> Config {
        let mut sources = if !self.producer.is_empty() {
            vec![Source::Producer(crate::input::producer::Producer {
                argv: self.producer.clone(),
                restart: self.restart_producer,
            })]
        } else if self.files.is_empty() {
            vec![Source::Stdin]
        } else {
            self.files.iter().map(|f| Source::from_arg(f)).collect()
        };
        let reordered = crate::input::order::delivery_order(&mut sources);
        Config {
            sources,
            reordered,
            identity: self.identity,
            max_sessions: usize::try_from(self.max_sessions).unwrap_or(usize::MAX),
            max_record_bytes: usize::try_from(self.max_record_bytes).unwrap_or(usize::MAX),
            reject: self.reject,
            strict: self.strict,
            line_buffered: self.line_buffered,
            quiet: self.quiet,
            stats: self.stats,
            hold: self.hold,
            max_held: usize::try_from(self.max_held).unwrap_or(usize::MAX),
            max_held_bytes: usize::try_from(self.max_held_bytes).unwrap_or(usize::MAX),
            settle: self.settle,
            dedupe: self.dedupe,
            signals_only: self.signals_only,
            state: self.state,
            fresh_state: self.fresh_state,
            checkpoint: self.checkpoint,
            stats_interval: self.stats_interval,
            format: self.format.into(),
            threads: self.threads,
            since: self.since,
            until: self.until,
            progress: !self.quiet && std::io::IsTerminal::is_terminal(&std::io::stderr()),
            color: self
                .color
                .resolve(std::io::IsTerminal::is_terminal(&std::io::stdout()), |k| {
                    std::env::var(k).ok()
                }),
        }
    }
}

/// The largest `--max-record-bytes`: record offsets are 32-bit, and no CloudTrail record (nor a
/// whole S3 trail file, which is one record) comes near it.
pub const MAX_RECORD_BYTES: u64 = 1 << 30;

/// `--max-record-bytes`: a size, at most [`MAX_RECORD_BYTES`].
pub fn parse_record_size(s: &str) -> Result<u64, String> {
    match parse_size(s)? {
        n if n > MAX_RECORD_BYTES => Err(format!("`{s}` is more than the largest record size, 1G")),
        n => Ok(n),
    }
}

/// A size as the flags take it: `64M`, `512K`, `1G`, `1000` (bytes); binary units.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().trim_end_matches(['B', 'b']).trim_end_matches(['i']);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try 64M, 512K, 1000)"))?;
    match n.checked_mul(mult) {
        Some(0) => Err("the size must be at least 1 byte".into()),
        Some(v) => Ok(v),
        None => Err(format!("`{s}` is too large")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `Config::default()` is what the command line gives with no flags: one set of defaults.
    #[test]
    fn config_defaults_are_the_command_line_defaults() {
        let from_flags = Cli::parse_from(["ctail-filter"]).into_config();
        let mut from_flags = format!("{from_flags:?}");
        // Colour depends on the terminal and the environment the test runs in.
        from_flags = from_flags.replace("color: true", "color: false");
        // So does the progress line (stderr).
        from_flags = from_flags.replace("progress: true", "progress: false");
        assert_eq!(from_flags, format!("{:?}", Config::default()));
    }

    #[test]
    fn times() {
        let may_first = Ok(1_714_521_600);
        assert_eq!(parse_time_arg("2024-05-01T00:00:00Z"), may_first);
        assert_eq!(parse_time_arg("2024-05-01"), may_first);
        assert_eq!(parse_time_arg("2024-05-01T00:00Z"), may_first);
        assert_eq!(parse_time_arg("20240501T0000Z"), may_first);
        assert_eq!(parse_time_arg("20240501T0130Z"), Ok(1_714_521_600 + 5400));
        assert!(parse_time_arg("yesterday").is_err());
        assert!(parse_time_arg("2024-13-01").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("x").is_err());
    }
}
