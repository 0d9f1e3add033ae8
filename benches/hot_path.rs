//! The hot path in process: simulated events (1-2 KB, realistic mix) through the whole pipeline
//! into a sink, as bytes per second. `cargo bench --bench hot_path`.

use ctail_filter::config::{Config, Format};
use ctail_filter::input::Source;
use divan::counter::BytesCount;
use divan::Bencher;
use std::sync::{Arc, OnceLock};

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

/// By `--threads`: 1 does everything on one thread; 2 adds a decoding thread.
#[divan::bench(args = [1, 2])]
fn annotate_everything(b: Bencher, threads: usize) {
    b.counter(BytesCount::new(stream().len()))
        .bench(|| run(Config { threads, ..config() }));
}

#[divan::bench]
fn identity_filter(b: Bencher) {
    b.counter(BytesCount::new(stream().len())).bench(|| {
        run(Config {
            identity: vec!["alice".into()],
            ..config()
        })
    });
}

#[divan::bench]
fn text_view(b: Bencher) {
    b.counter(BytesCount::new(stream().len())).bench(|| {
        run(Config {
            format: Format::Text,
            ..config()
        })
    });
}

#[divan::bench]
fn decode_only(b: Bencher) {
    decode_with(b, ctail_filter::event::decode);
}

/// The same records through serde_json alone (what the fast path leaves to it): the gap is what
/// `src/event/fast.rs` buys.
#[divan::bench]
fn decode_only_with_serde(b: Bencher) {
    decode_with(b, ctail_filter::event::decode_with_serde);
}

fn decode_with(
    b: Bencher,
    decode: for<'a> fn(&'a str) -> Result<ctail_filter::event::Event<'a>, serde_json::Error>,
) {
    let text = std::str::from_utf8(stream()).unwrap();
    b.counter(BytesCount::new(stream().len())).bench(|| {
        let mut n = 0;
        for line in text.lines() {
            n += usize::from(decode(line).is_ok());
        }
        n
    });
}

fn main() {
    divan::main();
}
