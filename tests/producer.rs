//! `ctail-filter -- PRODUCER`: the upstream run as a child, stopped by ctail-filter's own signal,
//! with nothing it wrote lost; a producer that exits is reported, or restarted.

use crate::util::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        // A zombie (state Z) has exited.
        .is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
        })
}

/// SIGTERM to ctail-filter stops the producer (a script that would otherwise run on), every event
/// it wrote comes out, the state is saved, and the producer is gone.
#[cfg(target_os = "linux")]
#[test]
fn a_signal_stops_the_producer_and_loses_nothing() {
    let dir = scratch("producer");
    let pidfile = dir.join("pid");
    let state = dir.join("state");
    let fixture = fixtures().join("real/invictus-lineage.ndjson");
    let script = format!(
        "echo $$ > {}; cat {}; sleep 30; echo never",
        pidfile.display(),
        fixture.display()
    );
    let child = Command::new(bin())
        .args(["--state", state.to_str().unwrap(), "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the producer never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let producer: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        lines.lines().count(),
        127,
        "every event the producer wrote comes out"
    );
    assert!(!lines.contains("never"));
    assert!(state.exists(), "the state was saved");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!alive(producer), "the producer {producer} still runs");
}

/// A producer that fails is reported, and the run fails; one that succeeds ends the run cleanly.
#[test]
fn a_producer_that_exits_is_reported() {
    let fixture = fixtures().join("lineage/assume-role.ndjson");
    let script = format!("cat {}; exit 3", fixture.display());
    let run = run(&["--", "sh", "-c", &script], None);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.lines().len(), 8);
    assert!(
        run.stderr.contains("the producer exited with exit status: 3"),
        "{}",
        run.stderr
    );
    let ok = run_args_ok(&["--", "cat", fixture.to_str().unwrap()]);
    assert_eq!(ok, 8);
}

/// With --restart-producer, a producer that exits is started again (and reported each time).
#[cfg(target_os = "linux")]
#[test]
fn restart_producer_runs_it_again() {
    let dir = scratch("restart");
    let count = dir.join("count");
    let fixture = fixtures().join("lineage/assume-role.ndjson");
    // Each run appends a line to `count` and prints the fixture; the third run stops the test.
    let script = format!("echo run >> {}; cat {}", count.display(), fixture.display());
    let child = Command::new(bin())
        .args(["--restart-producer", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::fs::read_to_string(&count).map_or(0, |c| c.lines().count()) < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "not restarted");
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("starting it again"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 16);
}

/// `--` with FILEs is a usage error (the producer is the input).
#[test]
fn producer_and_files_conflict() {
    let run = run(&["x.json", "--", "cat"], None);
    assert_eq!(run.code, Some(2));
}

fn run_args_ok(args: &[&str]) -> usize {
    let r = run(args, None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    r.lines().len()
}

/// On Linux, when its parent dies (a shipper killed outright), ctail-filter stops as on SIGTERM:
/// it saves its state and exits, instead of running on with parent 1.
#[cfg(target_os = "linux")]
#[test]
fn stops_when_its_parent_dies() {
    let dir = scratch("orphan");
    let pidfile = dir.join("pid");
    let state = dir.join("state");
    // The shell is the parent; ctail-filter reads the shell's stdin (our pipe, kept open).
    let script = format!(
        // A background job's stdin is /dev/null unless redirected explicitly.
        "exec 3<&0; \"{}\" --state {} <&3 & echo $! > {}; wait",
        bin(),
        state.display(),
        pidfile.display()
    );
    let mut shell = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = shell.stdin.take().unwrap();
    let started = Instant::now();
    let pid = loop {
        if let Some(p) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            break p;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "ctail-filter never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid));
    shell.kill().unwrap();
    shell.wait().unwrap();
    let started = Instant::now();
    while alive(pid) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "ctail-filter outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(state.exists(), "it saved its state on the way out");
    drop(stdin);
}
