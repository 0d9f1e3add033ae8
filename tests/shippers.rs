//! The shipper configurations in `examples/`, run with the real programs when they are installed
//! (`fluent-bit`, `vector` on the PATH; neither is packaged for this project's machines, so these
//! tests say they are skipped unless someone built them): every annotated event comes through,
//! the same as ctail-filter's own output, and a failing ctail-filter fails the shipper.

use crate::util::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `program`'s version line, or `None` with a notice that the test is skipped.
fn installed(program: &str) -> Option<String> {
    match Command::new(program).arg("--version").output() {
        Ok(out) if out.status.success() => Some(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string(),
        ),
        _ => {
            skipped(&format!("{program} is not installed"));
            None
        }
    }
}

/// Runs `command` in the repository root with ctail-filter on the PATH; its stdout and stderr
/// (through files: a pipe nobody reads until the end would stall it), and its status (None:
/// killed after `limit`).
fn run_shipper(command: &mut Command, limit: Duration) -> (String, String, Option<i32>) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = scratch(&format!("shipper-output-{n}"));
    let (out_path, err_path) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = command
        .current_dir(root())
        .env("PATH", path_with_ctail())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    (read(&out_path), read(&err_path), status)
}

/// ctail-filter's own output for the examples' S3 files, as JSON values, keyed by eventID and
/// account.
fn direct() -> Vec<Value> {
    let files: Vec<String> = std::fs::read_dir(root().join("examples/s3"))
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["--quiet", "--settle", "15m"];
    args.extend(files.iter().map(String::as_str));
    let mut events = run(&args, None).json();
    events.sort_by_key(key);
    events
}

fn key(v: &Value) -> String {
    format!("{}/{}", v["eventID"], v["recipientAccountId"])
}

/// `examples/fluent-bit.conf` as shipped: 35 events, each the record ctail-filter wrote (Fluent
/// Bit re-serialises it: compared as JSON values), and it exits when the command has.
#[test]
fn fluent_bit_batch_configuration() {
    let Some(version) = installed("fluent-bit") else {
        return;
    };
    let (stdout, stderr, status) = run_shipper(
        Command::new("fluent-bit").args(["-c", "examples/fluent-bit.conf"]),
        Duration::from_secs(60),
    );
    assert_eq!(status, Some(0), "{version}: {stderr}");
    let mut got: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    got.sort_by_key(key);
    assert_eq!(got, direct(), "{version}");
}

/// With `Propagate_Exit_Code true`, a ctail-filter that fails (here: a FILE that does not exist)
/// makes Fluent Bit fail too, rather than exit 0 with nothing delivered.
#[test]
fn fluent_bit_fails_when_ctail_filter_fails() {
    let Some(version) = installed("fluent-bit") else {
        return;
    };
    let conf = std::fs::read_to_string(root().join("examples/fluent-bit.conf")).unwrap();
    let broken = conf.replace(
        "examples/s3/*_CloudTrail_us-east-1_*.json.gz",
        "examples/s3/no-such-file.json.gz",
    );
    assert_ne!(broken, conf, "the Command line changed: update this test");
    let dir = scratch("fluent-bit-fail");
    let path = dir.join("fluent-bit.conf");
    // Parsers_File is relative to the current directory: the repository root.
    std::fs::write(&path, broken).unwrap();
    let (_, stderr, status) = run_shipper(
        Command::new("fluent-bit").args(["-c", path.to_str().unwrap()]),
        Duration::from_secs(60),
    );
    assert!(status.is_some_and(|s| s != 0), "{version}: {status:?} {stderr}");
}

/// `examples/vector.toml` validates, and with the stand-in command its comment suggests
/// (`ctail-filter examples/story.ndjson`, no respawn) every uncertain event is delivered with its
/// `.ctail`.
#[test]
fn vector_configuration() {
    let Some(version) = installed("vector") else {
        return;
    };
    let (_, stderr, status) = run_shipper(
        Command::new("vector").args(["validate", "--no-environment", "examples/vector.toml"]),
        Duration::from_secs(60),
    );
    assert_eq!(status, Some(0), "{version}: {stderr}");
    let conf = std::fs::read_to_string(root().join("examples/vector.toml")).unwrap();
    let start = conf.find("command = [").unwrap();
    let end = start + conf[start..].find("]\n").unwrap() + 2;
    let dir = scratch("vector");
    let local = format!(
        "{}command = [\"ctail-filter\", \"examples/story.ndjson\"]\n{}",
        &conf[..start],
        &conf[end..]
    )
    .replace("respawn_on_exit = true", "respawn_on_exit = false")
    .replace("/var/log/ctail/", &format!("{}/", dir.display()));
    let path = dir.join("vector.toml");
    std::fs::write(&path, local).unwrap();
    let (stdout, stderr, _) = run_shipper(
        Command::new("vector").args(["--config", path.to_str().unwrap()]),
        Duration::from_secs(20),
    );
    let got: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let story = run(&["--quiet", "examples/story.ndjson"], None);
    let uncertain = story
        .json()
        .into_iter()
        .filter(|e| e["ctail"]["confidence"] != "exact")
        .count();
    assert_eq!(got.len(), uncertain, "{version}: {stderr}");
    assert!(got.iter().all(|e| e["ctail"]["confidence"] != "exact"));
}

/// The live variant of `examples/fluent-bit.conf` (`Threaded on`, ctail-filter running its
/// producer, `--state`): SIGTERM to Fluent Bit ends it, and ctail-filter with it; the call still
/// held then, which Fluent Bit's stopped outputs could no longer deliver, is kept in the state
/// and comes out, linked, in the next run.
#[cfg(target_os = "linux")]
#[test]
fn fluent_bit_live_shutdown_keeps_held_events() {
    let Some(version) = installed("fluent-bit") else {
        return;
    };
    let dir = scratch("fluent-bit-live");
    let state = dir.join("state");
    let input = dir.join("input.ndjson");
    let lines = std::fs::read_to_string(root().join("tests/fixtures/shippers/held-call.ndjson")).unwrap();
    let mut lines = lines.lines();
    let (call, user, creator) = (
        lines.next().unwrap(),
        lines.next().unwrap(),
        lines.next().unwrap(),
    );
    std::fs::write(&input, format!("{call}\n{user}\n")).unwrap();
    let conf = std::fs::read_to_string(root().join("examples/fluent-bit.conf")).unwrap();
    let live = conf
        .lines()
        .map(|l| match l.trim_start() {
            l if l.starts_with("Command ") => format!(
                "    Command ctail-filter --state {} -- sh -c 'cat {}; exec sleep 600'",
                state.display(),
                input.display()
            ),
            l if ["Oneshot", "Exit_After_Oneshot", "Propagate_Exit_Code"]
                .iter()
                .any(|key| l.starts_with(key)) =>
            {
                String::new()
            }
            "# Threaded     on" => "    Threaded     on".to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        live.contains("    Threaded     on"),
        "the live keys moved: update this test"
    );
    let path = dir.join("live.conf");
    std::fs::write(&path, live).unwrap();
    let out_path = dir.join("stdout");
    let mut child = Command::new("fluent-bit")
        .args(["-c", path.to_str().unwrap()])
        .current_dir(root())
        .env("PATH", path_with_ctail())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(&out_path).unwrap().contains("user-call") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{version}: nothing delivered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{version}: ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // ctail-filter saved its state on the way out (the lock is free again).
    let started = Instant::now();
    let next = loop {
        let next = run(
            &["--state", state.to_str().unwrap()],
            Some(format!("{creator}\n").as_bytes()),
        );
        if next.code == Some(0) || started.elapsed() > Duration::from_secs(10) {
            break next;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let held: Vec<Value> = next
        .json()
        .into_iter()
        .filter(|v| v["eventID"] == "held-call")
        .collect();
    assert_eq!(held.len(), 1, "{version}: {}", next.stderr);
    assert_eq!(held[0]["ctail"]["confidence"], "exact");
    assert_eq!(held[0]["ctail"]["origin"]["name"], "alice");
}
