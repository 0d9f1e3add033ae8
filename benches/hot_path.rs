//! The hot path in process: simulated events (1-2 KB, realistic mix) through the whole pipeline
//! into a sink, as MB per second. `cargo bench --bench hot_path [NAME]` runs the cases whose
//! name holds NAME.
//!
//! Each case runs on the same 30 MB stream, long enough per run that the median of a few runs is
//! steady: no benchmark framework is needed (and none is built with the test suite).

use ctail_filter::config::{Config, Format};
use ctail_filter::Source;
use std::hint::black_box;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Timed runs of each case, after one untimed.
const RUNS: usize = 15;

fn stream() -> &'static Arc<[u8]> {
    static STREAM: OnceLock<Arc<[u8]>> = OnceLock::new();
    STREAM.get_or_init(|| {
        let events = ctail_sim::simulate(&ctail_sim::Config {
            seed: 7,
            events: 20_000,
            ..Default::default()
        });
        let mut out = Vec::new();
        for e in events {
            out.extend_from_slice(e.json.as_bytes());
            out.push(b'\n');
        }
        Arc::from(out)
    })
}

fn run(config: Config) {
    ctail_filter::pipeline::run(&config, std::io::sink()).unwrap();
}

fn config() -> Config {
    Config {
        sources: vec![Source::Bytes(Arc::clone(stream()))],
        quiet: true,
        ..Config::default()
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else names the cases to run.
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let case = |name: &str, f: &dyn Fn()| {
        if wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str())) {
            measure(name, f);
        }
    };
    // By `--threads`: 1 does everything on one thread; 2 adds a decoding thread.
    for threads in [1, 2] {
        case(&format!("annotate_everything/{threads}"), &|| {
            run(Config { threads, ..config() })
        });
    }
    case("identity_filter", &|| {
        run(Config {
            identity: vec!["alice".into()],
            ..config()
        })
    });
    case("text_view", &|| {
        run(Config {
            format: Format::Text,
            ..config()
        })
    });
    case("decode_only", &|| decode_all(ctail_filter::decode::decode));
    // The same records through serde_json alone (what the fast path leaves to it): the gap is
    // what `src/event/fast.rs` buys.
    case("decode_only_with_serde", &|| {
        decode_all(ctail_filter::decode::decode_with_serde)
    });
}

/// Runs `f` once untimed, then [`RUNS`] times; prints the median and best throughput.
fn measure(name: &str, f: &dyn Fn()) {
    f();
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    let mb_s = |d: Duration| stream().len() as f64 / 1e6 / d.as_secs_f64();
    println!(
        "{name:<24} median {:>7.1} MB/s   best {:>7.1} MB/s   ({RUNS} runs of {:.1} MB)",
        mb_s(times[RUNS / 2]),
        mb_s(times[0]),
        stream().len() as f64 / 1e6
    );
}

fn decode_all(decode: for<'a> fn(&'a str) -> Result<ctail_filter::decode::Event<'a>, serde_json::Error>) {
    let text = std::str::from_utf8(stream()).unwrap();
    let mut n = 0;
    for line in text.lines() {
        n += usize::from(black_box(decode(line)).is_ok());
    }
    black_box(n);
}
