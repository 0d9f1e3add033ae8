//! Long-running operation: --state across restarts, refusal of bad state files, SIGTERM saves,
//! periodic stats, and memory that stays flat on a long stream.

use crate::util::*;
use ctail_sim::{deliver, simulate, Config, Delivery};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn stream(events: &[ctail_sim::SimEvent]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        out.extend_from_slice(e.json.as_bytes());
        out.push(b'\n');
    }
    out
}

/// (eventID, recipient) → (confidence, origin) for every output record (first copy wins).
fn attribution(lines: &[serde_json::Value]) -> HashMap<(String, String), (String, String)> {
    let mut m = HashMap::new();
    for v in lines {
        let k = (
            v["eventID"].as_str().unwrap_or("").to_string(),
            v["recipientAccountId"].as_str().unwrap_or("").to_string(),
        );
        let a = (
            v["ctail"]["confidence"].as_str().unwrap().to_string(),
            v["ctail"]["origin"].to_string(),
        );
        m.entry(k).or_insert(a);
    }
    m
}

#[test]
fn a_stream_split_across_two_runs_is_attributed_as_in_one() {
    let events = deliver(
        &simulate(&Config {
            seed: 21,
            events: 20_000,
            ..Config::default()
        }),
        &Delivery {
            seed: 3,
            max_delay_secs: 900,
            duplicate_rate: 0.0,
        },
    );
    let whole = attribution(&run(&[], Some(&stream(&events))).json());
    let dir = scratch("split");
    let state = dir.join("state");
    let state_arg = state.to_str().unwrap();
    let half = events.len() / 2;
    let first = run(&["--state", state_arg], Some(&stream(&events[..half])));
    assert_eq!(first.code, Some(0), "{}", first.stderr);
    let second = run(&["--state", state_arg], Some(&stream(&events[half..])));
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let mut split = attribution(&first.json());
    split.extend(attribution(&second.json()));
    assert_eq!(split.len(), whole.len());
    let same = whole.iter().filter(|(k, v)| split.get(*k) == Some(v)).count();
    // Only calls held at the split (their creator in the second half) may differ: they went out
    // unlinked when the first run ended.
    let differ = whole.len() - same;
    eprintln!(
        "split run: {differ} of {} records attributed differently",
        whole.len()
    );
    assert!(differ as f64 <= whole.len() as f64 * 0.005, "{differ} differ");
    // Without the state file the second half loses much more.
    let cold = attribution(&run(&[], Some(&stream(&events[half..]))).json());
    let cold_differ = cold.iter().filter(|(k, v)| whole.get(*k) != Some(v)).count();
    assert!(
        cold_differ > differ * 10,
        "cold {cold_differ} vs with state {differ}"
    );
}

fn state_after_one_run(dir: &std::path::Path) -> std::path::PathBuf {
    let state = dir.join("state");
    let run = run(
        &["--state", state.to_str().unwrap()],
        Some(&std::fs::read(fixtures().join("real/invictus-lineage.ndjson")).unwrap()),
    );
    assert_eq!(run.code, Some(0));
    state
}

#[test]
fn bad_state_files_are_refused_and_left_untouched() {
    let dir = scratch("badstate");
    let good = std::fs::read(state_after_one_run(&dir)).unwrap();
    let nl = good.iter().position(|&b| b == b'\n').unwrap();
    let mut flipped = good.clone();
    let at = nl + 1 + (good.len() - nl) / 2;
    flipped[at] ^= 0x20;
    let future = String::from_utf8(good.clone())
        .unwrap()
        .replacen("\"version\":1", "\"version\":99", 1);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        ("truncated", good[..good.len() - 100].to_vec(), "truncated"),
        ("corrupt", flipped, "checksum"),
        ("future", future.into_bytes(), "version 99"),
        ("garbage", b"hello\n".to_vec(), "not a ctail-filter state file"),
    ];
    for (name, bytes, says) in cases {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let run = run(&["--state", path.to_str().unwrap()], Some(b""));
        assert_eq!(run.code, Some(1), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(says) && run.stderr.contains("--fresh-state"),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was modified");
        // Starting afresh is explicit, and replaces it with a good file.
        let fresh = crate::util::run(&["--state", path.to_str().unwrap(), "--fresh-state"], Some(b""));
        assert_eq!(fresh.code, Some(0), "{name}: {}", fresh.stderr);
        let again = crate::util::run(&["--state", path.to_str().unwrap()], Some(b""));
        assert_eq!(
            again.code,
            Some(0),
            "{name} after --fresh-state: {}",
            again.stderr
        );
    }
}

#[test]
#[cfg(unix)]
fn the_state_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("perms");
    let state = state_after_one_run(&dir);
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // No temporary file is left beside it; its lock file (see below) is owner-only too.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    #[cfg(target_os = "linux")]
    {
        assert_eq!(names, ["state", "state.lock"]);
        let lock = std::fs::metadata(dir.join("state.lock")).unwrap();
        assert_eq!(lock.permissions().mode() & 0o777, 0o600);
    }
    #[cfg(not(target_os = "linux"))]
    assert_eq!(names, ["state"]);
}

/// Feeds the invictus fixture to the binary through a pipe that stays open, sends `signal` half
/// a second later, and returns how the process ended and the lines it wrote.
fn feed_then_signal(args: &[&str], signal: &str) -> (std::process::ExitStatus, usize) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(&std::fs::read(fixtures().join("real/invictus-lineage.ndjson")).unwrap())
        .unwrap();
    stdin.flush().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    // What counts is that everything read comes out, not how fast (a busy machine is slow): only
    // a hang fails here.
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let lines = reader.join().unwrap().lines().count();
    drop(stdin);
    (status, lines)
}

#[test]
fn sigterm_with_the_upstream_open_saves_the_state() {
    let dir = scratch("sigterm-state");
    let state = dir.join("state");
    let (status, lines) = feed_then_signal(&["--state", state.to_str().unwrap()], "-TERM");
    assert_eq!(status.code(), Some(143));
    assert_eq!(lines, 127, "everything read comes out");
    // The saved table attributes, in a later run, calls whose creating events are not in its input:
    // without the state they are unlinked.
    let calls_only: Vec<u8> = std::fs::read_to_string(fixtures().join("real/invictus-lineage.ndjson"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(r#""type":"AssumedRole""#) && !l.contains(r#""eventName":"AssumeRole""#))
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    let bert_jan = |out: &Run| {
        out.json()
            .iter()
            .filter(|v| v["ctail"]["origin"]["arn"] == "arn:aws:iam::123837392027:user/bert-jan")
            .count()
    };
    let cold = run(&["--hold", "0"], Some(&calls_only));
    let warm = run(
        &["--state", state.to_str().unwrap(), "--hold", "0"],
        Some(&calls_only),
    );
    assert_eq!(bert_jan(&cold), 0);
    assert!(
        bert_jan(&warm) >= 29,
        "{} calls linked through the saved state",
        bert_jan(&warm)
    );
}

#[test]
fn stats_interval_prints_while_running() {
    let mut child = Command::new(bin())
        .args(["--stats-interval", "100ms"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(450));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() >= 3, "{} stats lines", lines.len());
    assert!(lines.iter().all(|l| l["records_in"] == 0));
}

/// A long stream of ever new sessions through a small table: resident memory stays flat.
#[test]
#[cfg(target_os = "linux")]
fn memory_stays_flat_on_a_long_stream() {
    const SESSIONS: usize = 40_000;
    let mut child = Command::new(bin())
        .args(["--max-sessions", "2000", "--stats"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut bytes = 0usize;
        for i in 0..SESSIONS {
            let t = format!(
                "2024-05-01T{:02}:{:02}:{:02}Z",
                i / 36000,
                i / 600 % 60,
                i / 10 % 60
            );
            let mut chunk = format!(
                r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"}},"eventTime":"{t}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{{"roleArn":"arn:aws:iam::444455556666:role/deploy","roleSessionName":"botocore-session-{i}"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIA{i:016}","expiration":"May 2, 2024, 11:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROAEXAMPLE:botocore-session-{i}","arn":"arn:aws:sts::444455556666:assumed-role/deploy/botocore-session-{i}"}}}},"eventID":"a{i}","recipientAccountId":"111122223333","padding":"{}"}}"#,
                "x".repeat(600)
            );
            chunk.push('\n');
            for j in 0..2 {
                chunk += &format!(
                    r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::444455556666:assumed-role/deploy/botocore-session-{i}","accessKeyId":"ASIA{i:016}","sessionContext":{{"attributes":{{"creationDate":"{t}"}}}}}},"eventTime":"{t}","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"c{i}-{j}","recipientAccountId":"444455556666","padding":"{}"}}"#,
                    "y".repeat(900)
                );
                chunk.push('\n');
            }
            bytes += chunk.len();
            if stdin.write_all(chunk.as_bytes()).is_err() {
                break;
            }
        }
        bytes
    });
    let rss = |pid: u32| -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    let mut samples = Vec::new();
    while !writer.is_finished() {
        if let Some(kb) = rss(pid) {
            samples.push(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let bytes = writer.join().unwrap();
    let out = child.wait_with_output().unwrap();
    let stats: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stderr).lines().last().unwrap()).unwrap();
    assert_eq!(stats["records_out"], SESSIONS as u64 * 3);
    assert!(stats["sessions_evicted"].as_u64().unwrap() > 30_000, "{stats}");
    assert!(samples.len() >= 10, "{} samples", samples.len());
    let max_kb = *samples.iter().max().unwrap();
    let half = samples.len() / 2;
    let first_half = *samples[..half].iter().max().unwrap();
    let second_half = *samples[half..].iter().max().unwrap();
    eprintln!(
        "{} MB in; resident max {} MB, first half {} MB, second half {} MB",
        bytes / 1_000_000,
        max_kb / 1024,
        first_half / 1024,
        second_half / 1024
    );
    assert!(max_kb < 64 * 1024, "resident {max_kb} KB");
    assert!(
        second_half <= first_half + 4 * 1024,
        "memory grew: {first_half} KB then {second_half} KB"
    );
}

/// After SIGINT the process ends by the signal itself (as fd does), so a parent shell sees an
/// interrupt; everything read has come out first.
#[cfg(unix)]
#[test]
fn sigint_is_re_raised_after_the_output_is_flushed() {
    use std::os::unix::process::ExitStatusExt;
    let (status, lines) = feed_then_signal(&[], "-INT");
    assert_eq!(status.signal(), Some(2), "{status:?}");
    assert_eq!(lines, 127, "everything read comes out");
}

/// Bytes the process has read so far (`rchar` of /proc/PID/io).
#[cfg(target_os = "linux")]
fn bytes_read(pid: u32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))?
        .trim()
        .parse()
        .ok()
}

/// Waits until the process stops reading (its read count still for 500 ms); returns the count.
#[cfg(target_os = "linux")]
fn read_until_still(pid: u32) -> u64 {
    let mut last = 0;
    let mut still_since = Instant::now();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let now = bytes_read(pid).unwrap_or(0);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= Duration::from_millis(500) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    last
}

/// SIGTERM while the downstream is stalled (a shipper's full pipe): every event already read
/// comes out once the downstream reads again, a second later; nothing read is dropped.
#[cfg(target_os = "linux")]
#[test]
fn sigterm_with_a_stalled_downstream_writes_everything_read() {
    for threads in ["1", "2"] {
        let events: Vec<String> = (0..3000)
            .map(|i| {
                format!(
                    r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"}},"eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"key":"{}"}},"eventID":"e{i}"}}"#,
                    "k".repeat(900)
                )
            })
            .collect();
        let mut child = Command::new(bin())
            .args(["--threads", threads])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut stdin = child.stdin.take().unwrap();
        let input: Vec<u8> = events
            .iter()
            .flat_map(|e| format!("{e}\n").into_bytes())
            .collect();
        let total = input.len();
        // What the process reads of other things (its libraries, /proc) before any input.
        let base = read_until_still(pid) as usize;
        // The writer may block on a full pipe once ctail-filter stops reading; it is left so.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
            stdin
        });
        let read = read_until_still(pid) as usize - base;
        // Events wholly read before the signal: what must come out.
        let mut whole = 0;
        let mut at = 0;
        for e in &events {
            at += e.len() + 1;
            if at > read.min(total) {
                break;
            }
            whole += 1;
        }
        assert!(
            whole > 500,
            "--threads {threads}: only {whole} events were read before the signal"
        );
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        std::thread::sleep(Duration::from_secs(1));
        let mut out = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
        let code = child.wait().unwrap().code();
        drop(writer);
        assert_eq!(code, Some(143), "--threads {threads}");
        assert!(
            out.lines().count() >= whole,
            "--threads {threads}: {} of {whole} events read came out",
            out.lines().count()
        );
    }
}

/// A second signal means now: with the downstream stalled (nothing can be written), the process
/// ends at once anyway, and says on stderr that records read were not written.
#[cfg(target_os = "linux")]
#[test]
fn a_second_signal_exits_at_once() {
    let event = |i: usize| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accessKeyId":"AKIAEXAMPLE","userName":"alice"}},"eventTime":"2024-05-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","requestParameters":{{"key":"{}"}},"eventID":"e{i}"}}"#,
            "k".repeat(900)
        )
    };
    let mut child = Command::new(bin())
        .args(["--threads", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let input: Vec<u8> = (0..3000)
        .flat_map(|i| format!("{}\n", event(i)).into_bytes())
        .collect();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
        stdin
    });
    read_until_still(pid);
    // The downstream (our end of stdout) never reads: the first signal's drain blocks on it.
    let stdout = child.stdout.take().unwrap();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after a second signal"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    drop((stdout, writer));
    assert_eq!(status.code(), Some(143));
    assert!(err.contains("second signal"), "{err}");
    assert!(err.contains("were not written"), "{err}");
}

/// With --state, events held when a signal stops the run stay held, in the state file: a shipper
/// that stops its outputs before it signals us would lose what we released then. The next run
/// holds them again, and links them when their creator arrives. Without --state they are
/// released on the signal, as always.
#[test]
fn held_events_survive_a_signal_in_the_state_file() {
    let dir = scratch("held-state");
    let state = dir.join("state");
    let call = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:deploy","arn":"arn:aws:sts::111122223333:assumed-role/ops/deploy","accountId":"111122223333","accessKeyId":"ASIADEPLOY","sessionContext":{"attributes":{"creationDate":"2024-05-01T10:00:00Z"}}},"eventTime":"2024-05-01T10:00:05Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"held-call","recipientAccountId":"111122223333"}"#;
    let user = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAALICE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAALICE","userName":"alice"},"eventTime":"2024-05-01T10:00:06Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"user-call","recipientAccountId":"111122223333"}"#;
    let creator = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAALICE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAALICE","userName":"alice"},"eventTime":"2024-05-01T10:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/ops","roleSessionName":"deploy"},"responseElements":{"credentials":{"accessKeyId":"ASIADEPLOY","expiration":"May 1, 2024, 11:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROAEXAMPLE:deploy","arn":"arn:aws:sts::111122223333:assumed-role/ops/deploy"}},"eventID":"creator","recipientAccountId":"111122223333"}"#;
    let stop_after_user_call = |args: &[&str]| -> Vec<String> {
        let mut child = Command::new(bin())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{call}\n{user}").unwrap();
        stdin.flush().unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
        assert!(first.contains("user-call"), "{first}");
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        assert_eq!(child.wait().unwrap().code(), Some(143));
        drop(stdin);
        rest.lines().map(str::to_owned).collect()
    };
    // With --state: the held call is not written; it is in the state.
    let rest = stop_after_user_call(&["--state", state.to_str().unwrap()]);
    assert!(rest.is_empty(), "{rest:?}");
    // The next run holds it again, and its creator links it.
    let next = run(
        &["--state", state.to_str().unwrap()],
        Some(format!("{creator}\n").as_bytes()),
    );
    let out = next.json();
    assert_eq!(out.len(), 2, "{}", next.stderr);
    let held = out
        .iter()
        .find(|v| v["eventID"] == "held-call")
        .expect("the held call comes out");
    assert_eq!(held["ctail"]["confidence"], "exact");
    assert_eq!(held["ctail"]["origin"]["name"], "alice");
    // Once out, it is not in the state any more.
    let again = run(&["--state", state.to_str().unwrap()], Some(b""));
    assert!(again.lines().is_empty());
    // Without --state: released on the signal, unlinked.
    let rest = stop_after_user_call(&[]);
    assert_eq!(rest.len(), 1);
    assert!(rest[0].contains("held-call") && rest[0].contains(r#""confidence":"unlinked""#));
}

/// `--checkpoint` saves `--state`: without it the flag did nothing, silently. Only an explicit
/// `--checkpoint` is refused (it has a default), as a usage error.
#[test]
fn checkpoint_without_state_is_a_usage_error() {
    let alone = run(&["--checkpoint", "1m"], Some(b""));
    assert_eq!(alone.code, Some(2), "{}", alone.stderr);
    assert!(
        alone.stderr.contains("--checkpoint") && alone.stderr.contains("--state"),
        "{}",
        alone.stderr
    );
    let dir = scratch("checkpoint-usage");
    let state = dir.join("state");
    let with_state = run(
        &["--checkpoint", "1m", "--state", state.to_str().unwrap()],
        Some(b""),
    );
    assert_eq!(with_state.code, Some(0), "{}", with_state.stderr);
    let neither = run(&[], Some(b""));
    assert_eq!(neither.code, Some(0), "{}", neither.stderr);
}

/// The binary with `--state STATE`, fed through a pipe kept open, once it has taken the state
/// file (its first record has come out, so it has started): the child, its input, its output.
fn holding_the_state(
    state: &std::path::Path,
    first: &[u8],
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::io::BufReader<std::process::ChildStdout>,
) {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .args(["--state", state.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(first).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"ctail\""), "first record: {line:?}");
    (child, stdin, stdout)
}

/// Two processes on one state file would overwrite each other's table: the second is refused
/// at start, naming the file and the holder, and the first runs on unharmed and saves.
#[cfg(target_os = "linux")]
#[test]
fn a_second_process_on_the_same_state_file_is_refused() {
    let input = read_lines(&fixtures().join("real/invictus-lineage.ndjson"));
    let dir = scratch("state-lock");
    let state = dir.join("state");
    let (mut first, mut stdin, mut stdout) = holding_the_state(&state, &input[0]);
    for extra in [&[][..], &["--fresh-state"][..]] {
        let mut args = vec!["--state", state.to_str().unwrap()];
        args.extend_from_slice(extra);
        let second = run(&args, Some(b""));
        assert_eq!(second.code, Some(1), "{args:?}: {}", second.stderr);
        assert!(
            second.stderr.contains(state.to_str().unwrap())
                && second.stderr.contains(&format!("pid {}", first.id())),
            "{args:?}: {}",
            second.stderr
        );
        assert!(second.stdout.is_empty());
    }
    // The first is unharmed: the rest of its input comes out, it ends normally and saves.
    for line in &input[1..] {
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(first.wait().unwrap().code(), Some(0));
    assert_eq!(rest.lines().count(), input.len() - 1);
    let after = run(&["--state", state.to_str().unwrap(), "--stats"], Some(b""));
    assert_eq!(after.code, Some(0), "{}", after.stderr);
    let stats: serde_json::Value = serde_json::from_str(after.stderr.lines().last().unwrap()).unwrap();
    assert!(stats["sessions_live"].as_u64().unwrap() > 0, "{stats}");
}

/// The lock dies with its process, however it ends: a holder killed outright (SIGKILL, no
/// clean-up) blocks nobody, and the next process holds the lock in its turn.
#[cfg(target_os = "linux")]
#[test]
fn a_lock_left_by_a_killed_process_does_not_block() {
    let input = read_lines(&fixtures().join("real/invictus-lineage.ndjson"));
    let dir = scratch("state-lock-stale");
    let state = dir.join("state");
    let (mut killed, stdin, _stdout) = holding_the_state(&state, &input[0]);
    killed.kill().unwrap();
    killed.wait().unwrap();
    drop(stdin);
    let (mut next, stdin, _stdout) = holding_the_state(&state, &input[0]);
    let third = run(&["--state", state.to_str().unwrap()], Some(b""));
    assert_eq!(third.code, Some(1), "the next holder's lock: {}", third.stderr);
    drop(stdin);
    assert_eq!(next.wait().unwrap().code(), Some(0));
}

/// A shipper that sends SIGTERM to its command and then ends makes the kernel send us SIGHUP
/// (our parent ended, Linux): that is not the second signal that means "now". Seen with Fluent
/// Bit 5.1.1, whose shutdown did both: ctail-filter exited at once and its state was lost. Here,
/// SIGTERM then SIGHUP: a clean stop, status 143, the held call kept in the state.
#[cfg(unix)]
#[test]
fn sighup_after_sigterm_is_not_a_second_signal() {
    let dir = scratch("term-then-hup");
    let state = dir.join("state");
    let fixture = std::fs::read_to_string(fixtures().join("shippers/held-call.ndjson")).unwrap();
    let lines: Vec<&str> = fixture.lines().collect();
    let mut child = Command::new(bin())
        .args(["--state", state.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}\n{}", lines[0], lines[1]).unwrap();
    stdin.flush().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.contains("user-call"), "{first}");
    for signal in ["-TERM", "-HUP"] {
        Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(!stderr.contains("second signal"), "{stderr}");
    drop(stdin);
    let next = run(
        &["--state", state.to_str().unwrap()],
        Some(format!("{}\n", lines[2]).as_bytes()),
    );
    assert!(
        next.json()
            .iter()
            .any(|v| v["eventID"] == "held-call" && v["ctail"]["confidence"] == "exact"),
        "the held call was not kept in the state: {}",
        next.stderr
    );
}
