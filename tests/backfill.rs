//! Backfill in time shards (`--since`/`--until`): shards that each read their window plus the
//! warm-up before it and the delivery delay after it write, together, exactly the lines one run
//! over everything writes. The GNU parallel recipe of `examples/` is in [`recipe`].

use crate::util::*;
use ctail_sim::{arrivals, simulate, Config, Delivery, SimEvent, Traps};

mod recipe;

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// The warm-up the README and the man page prescribe (BACKFILL).
const WARM_UP: i64 = 48 * HOUR;
/// CloudTrail's delivery delay as the simulator draws it.
const DELAY: i64 = 900;
/// The stream's days: one shard each.
const SHARDS: i64 = 5;
const TRAPS: usize = 2;

/// Five days of an organisation at a few events a minute, every hard case injected, delivered
/// late, out of order and with duplicates: (arrival time, record) in arrival order.
pub fn long_stream(seed: u64) -> (i64, Vec<(i64, SimEvent)>) {
    let cfg = Config {
        seed,
        events: 24_000,
        span: Some(SHARDS * DAY),
        collisions: 6,
        traps: Traps::every(TRAPS),
        ..Config::default()
    };
    let events = simulate(&cfg);
    let delivery = Delivery {
        seed: seed + 1,
        max_delay_secs: DELAY,
        duplicate_rate: 0.01,
    };
    let stream = arrivals(&events, &delivery)
        .into_iter()
        .map(|(at, i)| (at, events[i].clone()))
        .collect();
    (cfg.start, stream)
}

fn ndjson<'a>(events: impl Iterator<Item = &'a SimEvent>) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(e.json.as_bytes());
        out.push(b'\n');
    }
    out
}

fn lines(run: &Run) -> Vec<Vec<u8>> {
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    run.lines().iter().map(|l| l.to_vec()).collect()
}

/// Shards of a day each over the stream, each reading what arrived from `WARM_UP` before its
/// window to `tail` after it, against one run over all of it.
fn shards_match_one_run(extra: &[&str], tail: i64) {
    let (start, stream) = long_stream(21);
    let one = sorted(lines(&run(extra, Some(&ndjson(stream.iter().map(|(_, e)| e))))));
    let mut together = Vec::new();
    for day in 0..SHARDS {
        let (since, until) = (start + day * DAY, start + (day + 1) * DAY);
        let input = stream
            .iter()
            .filter(|(at, _)| *at >= since - WARM_UP && *at < until + tail)
            .map(|(_, e)| e);
        // The first shard has no lower bound, the last no upper one: nothing falls outside.
        let mut args: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        if since != start {
            args.extend(["--since".into(), iso(since)]);
        }
        if day + 1 < SHARDS {
            args.extend(["--until".into(), iso(until)]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lines(&run(&args, Some(&ndjson(input))));
        assert!(!out.is_empty(), "shard {day} wrote nothing");
        together.extend(out);
    }
    let together = sorted(together);
    // BACKFILL_DUMP=DIR keeps both sides, to study a difference.
    if let Some(dir) = std::env::var_os("BACKFILL_DUMP") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::write(dir.join("one"), one.join(&b'\n')).unwrap();
        std::fs::write(dir.join("shards"), together.join(&b'\n')).unwrap();
    }
    let show = |l: &[u8]| String::from_utf8_lossy(&l[l.len().saturating_sub(400)..]).into_owned();
    let missing: Vec<&Vec<u8>> = one
        .iter()
        .filter(|l| together.binary_search(l).is_err())
        .collect();
    let extra_lines: Vec<&Vec<u8>> = together
        .iter()
        .filter(|l| one.binary_search(l).is_err())
        .collect();
    assert!(
        missing.is_empty() && extra_lines.is_empty(),
        "{} lines of the one run not written by the shards, {} written by the shards only; first:\n one: {}\nshard: {}",
        missing.len(),
        extra_lines.len(),
        missing.first().map_or(String::new(), |l| show(l)),
        extra_lines.first().map_or(String::new(), |l| show(l)),
    );
    // Byte for byte, as multisets: duplicates delivered twice come out twice either way.
    assert_eq!(together.len(), one.len(), "line count");
    assert_eq!(together, one);
}

/// `--since` takes ISO 8601; the test keeps Unix seconds until here.
fn iso(t: i64) -> String {
    let days = t.div_euclid(DAY);
    let rem = t.rem_euclid(DAY);
    // 2024-05-01 is day 19844 since the epoch; the stream stays within May.
    let day_of_may = days - 19_844 + 1;
    assert!((1..=31).contains(&day_of_may), "outside May 2024");
    format!(
        "2024-05-{day_of_may:02}T{:02}:{:02}:{:02}Z",
        rem / HOUR,
        rem % HOUR / 60,
        rem % 60
    )
}

/// The trap: without the warm-up, a shard would write the window's calls of sessions minted
/// before it as `unlinked` (different bytes); without the tail, held calls would be released
/// before their creators arrive. Both make the sets differ.
#[test]
fn shards_with_warm_up_write_what_one_run_writes() {
    shards_match_one_run(&[], DELAY + 15 * 60);
}

#[test]
fn shards_with_settle_write_what_one_run_writes() {
    shards_match_one_run(&["--settle", "15m"], DELAY + 15 * 60);
}

/// The warm-up is needed: a shard that starts at its window misses creators and writes other
/// lines (so the test above would notice a broken warm-up rule or a window that leaks).
#[test]
fn a_shard_without_warm_up_differs() {
    let (start, stream) = long_stream(21);
    let one = sorted(lines(&run(&[], Some(&ndjson(stream.iter().map(|(_, e)| e))))));
    let (since, until) = (start + 2 * DAY, start + 3 * DAY);
    let input = stream
        .iter()
        .filter(|(at, _)| *at >= since && *at < until + 2 * DELAY)
        .map(|(_, e)| e);
    let (s, u) = (iso(since), iso(until));
    let out = sorted(lines(&run(&["--since", &s, "--until", &u], Some(&ndjson(input)))));
    let differ = out.iter().filter(|l| one.binary_search(l).is_err()).count();
    assert!(
        differ > 0,
        "a shard without warm-up wrote only lines of the one run"
    );
}

/// Only events in `[since, until)` are written, each once; records without an eventTime are in
/// no window; `--stats` counts what was left out.
#[test]
fn window_bounds_and_records_without_event_time() {
    let ev = |t: &str, id: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"}},"eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"{id}"}}"#
        )
    };
    let mut input = String::new();
    for (t, id) in [
        ("2024-05-01T23:59:59Z", "before"),
        ("2024-05-02T00:00:00Z", "first"),
        ("2024-05-02T23:59:59Z", "last"),
        ("2024-05-03T00:00:00Z", "after"),
    ] {
        input.push_str(&ev(t, id));
        input.push('\n');
    }
    input.push_str(&ev("not a time", "timeless").replace(r#""eventTime":"not a time","#, ""));
    input.push('\n');
    let r = run(
        &["--since", "2024-05-02", "--until", "20240503T0000Z", "--stats"],
        Some(input.as_bytes()),
    );
    let ids: Vec<String> = r
        .json()
        .iter()
        .map(|v| v["eventID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["first", "last"]);
    let stats: serde_json::Value = serde_json::from_str(r.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["outside_window"], 3);
    assert_eq!(stats["records_in"], 5);
    // Without a window the timeless record is written as ever.
    assert_eq!(run(&[], Some(input.as_bytes())).lines().len(), 5);
    // A bad time is a usage error.
    assert_eq!(run(&["--since", "yesterday"], Some(b"")).code, Some(2));
}

/// The progress line: never when stderr is not a terminal (a pipe, a file, a log shipper), nor
/// with `--quiet`; on a terminal (a pty, through `script`), files done of total, events, MB/s and
/// the time left, drawn in place, with messages printed above it.
#[test]
fn progress_line_only_on_a_terminal() {
    let s3 = fixtures().join("../../examples/s3");
    let files: Vec<String> = std::fs::read_dir(&s3)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let piped = run(&args, None);
    assert_eq!(piped.code, Some(0));
    assert!(!piped.stderr.contains("files,"), "{}", piped.stderr);
    assert!(!piped.stderr.contains('\r') && !piped.stderr.contains('\u{1b}'));
    let Ok(found) = std::process::Command::new("script").arg("--version").output() else {
        skipped("the terminal half: `script` (util-linux) is not installed");
        return;
    };
    assert!(found.status.success());
    let on_tty = |extra: &str| {
        let cmd = format!("{} {extra} {} > /dev/null", bin(), files.join(" "));
        let out = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .output()
            .expect("script");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let drawn = on_tty("");
    assert!(drawn.contains(&format!("/{} files, ", files.len())), "{drawn:?}");
    assert!(
        drawn.contains(" events, ") && drawn.contains(" MB/s") && drawn.contains("ETA"),
        "{drawn:?}"
    );
    // The warning about the colliding session is printed whole, on a line of its own.
    assert!(
        drawn.contains("\u{1b}[2Kctail-filter: warning: session"),
        "{drawn:?}"
    );
    let quiet = on_tty("--quiet");
    assert!(!quiet.contains("files,"), "{quiet:?}");
}

/// The trap behind the warm-up's exactness: alice is first named as the issuer of a federated
/// session (no principal id there), then seen herself. What the annotation says of her must not
/// depend on which record came first (a shard's warm-up starts anywhere): once a record names her
/// principal id, her origin object carries it, for her own calls and her federated session's.
#[test]
fn a_user_first_named_without_its_principal_id_learns_it() {
    let r = run_file(
        &fixtures().join("traps/implied-federation-then-creator.ndjson"),
        &["--quiet"],
    );
    let out = r.json();
    assert!(
        out[0]["ctail"]["origin"].get("principalId").is_none(),
        "{}",
        out[0]["ctail"]
    );
    for line in &out[1..] {
        assert_eq!(
            line["ctail"]["origin"]["principalId"], "AIDAALICEXXXEXAMPLE",
            "{}",
            line["ctail"]
        );
    }
}
