//! Live-feed latency: a simulated day written into an open pipe at a steady rate, ctail-filter's
//! output read as it comes, and each event's time from write to output.
//!
//! ```text
//! cargo bench --bench live_latency                      # 200 and 1000 events/s, in order and late
//! cargo bench --bench live_latency -- --rate 200 --late 0 --feed 6000 [-- CTAIL-FILTER FLAGS]
//! ```
//!
//! The stream is `ctail-sim --events N` (in order) or `ctail-sim --events N --late S` (delivered
//! late, the simulator's own delivery order), the same bytes. A tail starts in the middle of a
//! working day: the feed begins `--from` of the way into the stream (default half), so some
//! sessions of its first minutes were created before it. Events are classed by what a live
//! reader can know:
//!
//! - **(a) answerable now**: the call names no session (a principal's own keys, a service), or
//!   its session's creating event was written before it, or the session was created more than
//!   the hold window (`--window`, default 900 s = `--hold 15m`) before the feed's first event,
//!   so no creator can still come;
//! - **young**: created within the window before the first event, creator not written (it may
//!   still arrive in a late stream);
//! - **later**: created after the first event, creator not yet written (a late stream's calls that
//!   overtook their creator).
//!
//! For each class and for all events: latency from the write to the line coming out (p50, p99,
//! max), how many came out within 2 s, and how many were still held at the end of the feed (not
//! out 2 s after the last write, the pipe still open; they count as infinitely late in the
//! percentiles). "Event-time lag" is how far the feed's event time had moved on between an
//! event's write and its output: the simulated day has 2,000 events per hour (1.8 s of event
//! time each), so at R events/s the feed runs 1.8 R times faster than the day (200/s: 360x), and
//! a delay bounded by event time (the hold window, 15 min) shows here as 500 events of wall time;
//! the lag is what the delay would be at the day's own pace.
//!
//! Options: `--events N` (the day, default 48000: 24 h), `--seed N` (1), `--from F` (0.5),
//! `--feed N` (events fed, 12000), `--rate R` and `--late S` (repeatable; default 200 and 1000,
//! 0 and 900), `--window SECS` (900; match it to a `--hold` given to ctail-filter), `--slowest N`
//! (list the N slowest events of set (a)).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Time after the last write in which the pipe stays open before the rest counts as held.
const GRACE: Duration = Duration::from_secs(2);

struct Args {
    events: usize,
    seed: u64,
    from: f64,
    feed: usize,
    window: i64,
    rates: Vec<f64>,
    lates: Vec<i64>,
    slowest: usize,
    extra: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        events: 48_000,
        seed: 1,
        from: 0.5,
        feed: 12_000,
        window: 900,
        rates: Vec::new(),
        lates: Vec::new(),
        slowest: 0,
        extra: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            // `cargo bench` passes `--bench` to every bench binary.
            "--bench" => continue,
            "--" => {
                a.extra = it.by_ref().collect();
                break;
            }
            _ => {}
        }
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: bad value {val:?}");
        match flag.as_str() {
            "--events" => a.events = val.parse().map_err(|_| bad())?,
            "--seed" => a.seed = val.parse().map_err(|_| bad())?,
            "--from" => a.from = val.parse().map_err(|_| bad())?,
            "--feed" => a.feed = val.parse().map_err(|_| bad())?,
            "--window" => a.window = val.parse().map_err(|_| bad())?,
            "--rate" => a.rates.push(val.parse().map_err(|_| bad())?),
            "--late" => a.lates.push(val.parse().map_err(|_| bad())?),
            "--slowest" => a.slowest = val.parse().map_err(|_| bad())?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if a.rates.is_empty() {
        a.rates = vec![200.0, 1000.0];
    }
    if a.lates.is_empty() {
        a.lates = vec![0, 900];
    }
    Ok(a)
}

/// `2024-05-01T00:00:00Z` (the simulator writes no other form) to Unix seconds.
fn epoch(s: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Class {
    NoSession,
    CreatorWritten,
    Old,
    Young,
    Later,
}

impl Class {
    fn answerable(self) -> bool {
        matches!(self, Class::NoSession | Class::CreatorWritten | Class::Old)
    }
}

/// One event of the feed: its line, its key in the output, its event time and its class.
struct Fed {
    line: String,
    key: (String, String),
    time: i64,
    class: Class,
}

fn s(v: &serde_json::Value, path: &[&str]) -> Option<String> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str().map(str::to_owned)
}

/// The keys under which later calls name the session an event creates: the issued access key,
/// and (session ARN, creation second) for role and federated sessions, console sign-ins and
/// switch-role (whose own caller is already the new session).
fn minted(v: &serde_json::Value, t: i64) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(k) = s(v, &["responseElements", "credentials", "accessKeyId"]) {
        keys.push(format!("key {k}"));
    }
    for who in ["assumedRoleUser", "federatedUser"] {
        if let Some(arn) = s(v, &["responseElements", who, "arn"]) {
            keys.push(format!("arn {arn} {t}"));
        }
    }
    if s(v, &["eventSource"]).as_deref() == Some("signin.amazonaws.com") {
        if let Some(arn) = s(v, &["userIdentity", "arn"]) {
            keys.push(format!("arn {arn} {t}"));
        }
    }
    keys
}

/// The feed: `--feed` events from `--from` of the way into the stream, classed.
fn feed(a: &Args, late: i64) -> Vec<Fed> {
    let cfg = ctail_sim::Config {
        seed: a.seed,
        events: a.events,
        ..ctail_sim::Config::default()
    };
    let events = ctail_sim::simulate(&cfg);
    let order: Vec<usize> = if late > 0 {
        // As `ctail-sim --late`: the delivery order's seed derived from --seed.
        let d = ctail_sim::Delivery {
            seed: a.seed ^ 0x5eed_de11_7e2e_d000,
            max_delay_secs: late,
            duplicate_rate: 0.0,
        };
        ctail_sim::delivery_order(&events, &d)
    } else {
        (0..events.len()).collect()
    };
    let start = ((order.len() as f64 * a.from) as usize).min(order.len());
    let end = (start + a.feed).min(order.len());
    let values: Vec<serde_json::Value> = order[start..end]
        .iter()
        .map(|&i| serde_json::from_str(&events[i].json).expect("simulated JSON"))
        .collect();
    let time = |v: &serde_json::Value| s(v, &["eventTime"]).and_then(|t| epoch(&t)).unwrap_or(0);
    let first = values.first().map_or(0, time);
    let mut written: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(values.len());
    for (&i, v) in order[start..end].iter().zip(&values) {
        let t = time(v);
        // A switch-role event is already made by the session it creates.
        if events[i].truth.creates {
            written.extend(minted(v, t));
        }
        let created = s(
            v,
            &["userIdentity", "sessionContext", "attributes", "creationDate"],
        )
        .and_then(|c| epoch(&c));
        let class = match created {
            None => Class::NoSession,
            Some(c) => {
                let key = s(v, &["userIdentity", "accessKeyId"]).map(|k| format!("key {k}"));
                let arn = s(v, &["userIdentity", "arn"]).map(|a| format!("arn {a} {c}"));
                if key.iter().chain(&arn).any(|k| written.contains(k)) {
                    Class::CreatorWritten
                } else if c < first - a.window {
                    Class::Old
                } else if c < first {
                    Class::Young
                } else {
                    Class::Later
                }
            }
        };
        out.push(Fed {
            line: events[i].json.clone(),
            key: (
                s(v, &["eventID"]).unwrap_or_default(),
                s(v, &["recipientAccountId"]).unwrap_or_default(),
            ),
            time: t,
            class,
        });
    }
    out
}

/// One run: the feed written at `rate` events/s; for each event, when it was written and when
/// (if before the end of the feed and its grace) it came out; and ctail-filter's --stats.
fn run(fed: &[Fed], rate: f64, extra: &[String]) -> (Vec<Instant>, Vec<Option<Instant>>, Instant, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctail-filter"))
        .arg("--stats")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ctail-filter");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let index: HashMap<(String, String), usize> =
        fed.iter().enumerate().map(|(i, f)| (f.key.clone(), i)).collect();
    let n = fed.len();
    let reader = std::thread::spawn(move || {
        let mut out: Vec<Option<Instant>> = vec![None; n];
        let mut r = BufReader::with_capacity(1 << 20, stdout);
        let mut line = Vec::new();
        #[derive(serde::Deserialize)]
        struct Key {
            #[serde(rename = "eventID")]
            id: String,
            #[serde(rename = "recipientAccountId", default)]
            recipient: String,
        }
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                break;
            }
            let at = Instant::now();
            let k: Key = serde_json::from_slice(&line).expect("output line is JSON");
            if let Some(&i) = index.get(&(k.id, k.recipient)) {
                out[i].get_or_insert(at);
            }
        }
        out
    });
    let period = Duration::from_secs_f64(1.0 / rate);
    let t0 = Instant::now() + Duration::from_millis(200);
    let mut wrote = Vec::with_capacity(n);
    let mut buf = Vec::with_capacity(4096);
    for (i, f) in fed.iter().enumerate() {
        let due = t0 + period * i as u32;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        buf.clear();
        buf.extend_from_slice(f.line.as_bytes());
        buf.push(b'\n');
        wrote.push(Instant::now());
        stdin.write_all(&buf).expect("write to ctail-filter");
    }
    let fed_end = Instant::now();
    std::thread::sleep(GRACE);
    drop(stdin);
    let out = reader.join().unwrap();
    child.wait().unwrap();
    let stats = errors.join().unwrap().lines().last().unwrap_or("").to_string();
    (wrote, out, fed_end, stats)
}

/// The latencies and lags of the events `keep` selects, by index in the feed.
type Picked = (Vec<Option<Duration>>, Vec<Option<i64>>);
fn pick_where(
    fed: &[Fed],
    lat: &[Option<Duration>],
    lag: &[Option<i64>],
    keep: &dyn Fn(usize) -> bool,
) -> Picked {
    (0..fed.len())
        .filter(|&i| keep(i))
        .map(|i| (lat[i], lag[i]))
        .unzip()
}

/// Latencies of one class (None: still held at the end of the feed), summarised.
fn summary(name: &str, lat: &[Option<Duration>], lag: &[Option<i64>]) {
    let n = lat.len();
    if n == 0 {
        println!("  {name:<50} {:>6}", 0);
        return;
    }
    let mut l: Vec<Duration> = lat.iter().map(|d| d.unwrap_or(Duration::MAX)).collect();
    l.sort();
    let mut g: Vec<i64> = lag.iter().map(|d| d.unwrap_or(i64::MAX)).collect();
    g.sort();
    let pct = |p: f64| ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
    let ms = |d: Duration| {
        if d == Duration::MAX {
            "held".to_string()
        } else {
            format!("{:.0}", d.as_secs_f64() * 1000.0)
        }
    };
    let min = |s: i64| {
        if s == i64::MAX {
            "held".to_string()
        } else {
            format!("{:.1}", s as f64 / 60.0)
        }
    };
    let within = l.iter().filter(|d| **d <= Duration::from_secs(2)).count();
    let held = lat.iter().filter(|d| d.is_none()).count();
    println!(
        "  {name:<50} {n:>6} {:>8} {:>8} {:>8} {:>7.1}% {:>6} {:>7} {:>7} {:>7}",
        ms(l[pct(0.5)]),
        ms(l[pct(0.99)]),
        ms(l[n - 1]),
        within as f64 * 100.0 / n as f64,
        held,
        min(g[pct(0.5)]),
        min(g[pct(0.99)]),
        min(g[n - 1]),
    );
}

fn main() {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("live_latency: {e}");
            std::process::exit(2);
        }
    };
    for &late in &a.lates {
        let fed = feed(&a, late);
        let mut counts: HashMap<Class, usize> = HashMap::new();
        for f in &fed {
            *counts.entry(f.class).or_default() += 1;
        }
        let order = if late > 0 {
            format!("ctail-sim --events {} --seed {} --late {late}", a.events, a.seed)
        } else {
            format!("ctail-sim --events {} --seed {}", a.events, a.seed)
        };
        println!(
            "\n{order}: {} events from {:.0}% of the way in; no session {}, creator written before {}, \
             created > {} s before the first event {}, younger {}, creator not yet written {}",
            fed.len(),
            a.from * 100.0,
            counts.get(&Class::NoSession).unwrap_or(&0),
            counts.get(&Class::CreatorWritten).unwrap_or(&0),
            a.window,
            counts.get(&Class::Old).unwrap_or(&0),
            counts.get(&Class::Young).unwrap_or(&0),
            counts.get(&Class::Later).unwrap_or(&0),
        );
        for &rate in &a.rates {
            let (wrote, out, fed_end, stats) = run(&fed, rate, &a.extra);
            // The feed's clock: the latest event time written so far.
            let mut clock = Vec::with_capacity(fed.len());
            let mut latest = i64::MIN;
            for f in &fed {
                latest = latest.max(f.time);
                clock.push(latest);
            }
            let mut lat = Vec::with_capacity(fed.len());
            let mut lag = Vec::with_capacity(fed.len());
            for (i, o) in out.iter().enumerate() {
                match o {
                    Some(at) if *at <= fed_end + GRACE => {
                        lat.push(Some(at.saturating_duration_since(wrote[i])));
                        // Events written by the time it came out: where the feed's clock was.
                        let j = wrote.partition_point(|w| w <= at).max(i + 1) - 1;
                        lag.push(Some(clock[j] - clock[i]));
                    }
                    _ => {
                        lat.push(None);
                        lag.push(None);
                    }
                }
            }
            println!(
                "  at {rate} events/s ({:.1} s of feed, then {} s with the pipe open){}",
                fed_end.duration_since(wrote[0]).as_secs_f64(),
                GRACE.as_secs(),
                if a.extra.is_empty() {
                    String::new()
                } else {
                    format!(", ctail-filter {}", a.extra.join(" "))
                }
            );
            println!(
                "  {:<50} {:>6} {:>8} {:>8} {:>8} {:>8} {:>6} {:>7} {:>7} {:>7}",
                "events", "n", "p50 ms", "p99 ms", "max ms", "<= 2 s", "held", "lag p50", "p99", "max"
            );
            let pick = |keep: &dyn Fn(Class) -> bool| pick_where(&fed, &lat, &lag, &|i| keep(fed[i].class));
            let (l, g) = pick(&|c| c.answerable());
            summary("(a) creator written, or created > window before", &l, &g);
            let (l, g) = pick(&|c| c == Class::Old);
            summary("    of which created > window before the feed", &l, &g);
            let (l, g) = pick(&|c| !c.answerable());
            summary("    not (a): young, or creator not yet written", &l, &g);
            let (l, g) = pick(&|_| true);
            summary("(b) all", &l, &g);
            // The first minutes of a tail: the feed's first window of event time.
            let early = |i: usize| fed[i].time < fed[0].time + a.window;
            let (l, g) = pick_where(&fed, &lat, &lag, &|i| early(i) && fed[i].class.answerable());
            summary("(a) in the feed's first window of event time", &l, &g);
            let (l, g) = pick_where(&fed, &lat, &lag, &early);
            summary("(b) in the feed's first window of event time", &l, &g);
            if a.slowest > 0 {
                let mut slow: Vec<usize> = (0..fed.len()).filter(|&i| fed[i].class.answerable()).collect();
                slow.sort_by_key(|&i| std::cmp::Reverse(lat[i].unwrap_or(Duration::MAX)));
                for &i in slow.iter().take(a.slowest) {
                    let v: serde_json::Value = serde_json::from_str(&fed[i].line).unwrap();
                    println!(
                        "    slow (a): {:?} {:?} {} {} {} by {}",
                        lat[i],
                        fed[i].class,
                        s(&v, &["eventTime"]).unwrap_or_default(),
                        s(&v, &["eventName"]).unwrap_or_default(),
                        s(&v, &["eventID"]).unwrap_or_default(),
                        v["userIdentity"]
                    );
                }
            }
            let lost = out.iter().filter(|o| o.is_none()).count();
            if lost > 0 {
                println!("  {lost} events never came out");
            }
            println!("  --stats: {stats}");
        }
    }
    println!("\nlag: event-time minutes the feed moved on before the event came out");
}
