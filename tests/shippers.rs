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
            eprintln!("skipped: {program} is not installed");
            None
        }
    }
}

/// PATH with ctail-filter's directory first, as the configurations call it by name.
fn path_with_ctail() -> String {
    format!(
        "{}:{}",
        Path::new(bin()).parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `command` in the repository root with ctail-filter on the PATH; its stdout, and the
/// status (None: killed after `limit`).
fn run_shipper(command: &mut Command, limit: Duration) -> (String, String, Option<i32>) {
    let mut child = command
        .current_dir(root())
        .env("PATH", path_with_ctail())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        status,
    )
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
