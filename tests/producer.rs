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

/// On Linux, when its parent dies (a shipper killed outright) while ctail-filter writes into a
/// pipe to it, ctail-filter stops as on SIGTERM: it saves its state and exits, instead of running
/// on with parent 1.
#[cfg(target_os = "linux")]
#[test]
fn stops_when_its_parent_dies() {
    let (pid, state, shell_and_stdin) = start_under_a_shell("orphan", Stdio::piped());
    let (mut shell, stdin) = shell_and_stdin;
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

/// A script that starts ctail-filter in the background with its output in a file and then ends
/// (`nohup ctail-filter … > out &`) does not stop it: only a parent we write to is watched.
#[cfg(target_os = "linux")]
#[test]
fn a_parent_it_does_not_write_to_may_end() {
    let (pid, _state, shell_and_stdin) = start_under_a_shell("detached", Stdio::null());
    let (mut shell, stdin) = shell_and_stdin;
    shell.kill().unwrap();
    shell.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        alive(pid),
        "ctail-filter stopped with a parent it does not write to"
    );
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    drop(stdin);
}

/// Starts ctail-filter under `sh` (its stdout `stdout`, its stdin our pipe, kept open); returns
/// its pid, its state file, the shell and the pipe.
#[cfg(target_os = "linux")]
fn start_under_a_shell(
    name: &str,
    stdout: Stdio,
) -> (
    u32,
    std::path::PathBuf,
    (std::process::Child, std::process::ChildStdin),
) {
    let dir = scratch(name);
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
        .stdout(stdout)
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
    (pid, state, (shell, stdin))
}

/// The AWS CLI is Python: in a pipe its output is block buffered, so `aws logs tail --follow`
/// under ctail-filter would hold its events until about 8 KB had built up. ctail-filter runs the
/// producer with PYTHONUNBUFFERED=1 (unless the user set it): a Python producer that prints one
/// event and then waits has it read and written out while it still runs.
#[cfg(target_os = "linux")]
#[test]
fn a_python_producer_is_read_as_it_prints() {
    let Some(python) = python3() else { return };
    let fixture = fixtures().join("lineage/assume-role.ndjson");
    let script = format!(
        "import time\nprint(open({:?}).readline().strip())\ntime.sleep(60)\n",
        fixture.display().to_string()
    );
    let dir = scratch("python-live");
    let out_path = dir.join("out");
    let child = Command::new(bin())
        .args(["--line-buffered", "--", &python, "-c", &script])
        .env_remove("PYTHONUNBUFFERED")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = || std::fs::read_to_string(&out_path).unwrap().lines().count();
    wait_until(
        "the event a running Python producer printed never came out",
        || lines() >= 1,
    );
    terminate(child);
    assert_eq!(lines(), 1);
}

/// The producer is stopped as Ctrl-C would stop it (SIGINT), which `aws logs tail --follow`
/// takes as its normal end: it returns and flushes what it printed. SIGTERM would kill a Python
/// producer outright and lose its buffered output. Here the producer keeps its buffering
/// (PYTHONUNBUFFERED set, to nothing) and ends on KeyboardInterrupt as the AWS CLI does.
#[cfg(target_os = "linux")]
#[test]
fn the_producer_is_stopped_as_ctrl_c_would_stop_it() {
    let Some(python) = python3() else { return };
    let fixture = fixtures().join("lineage/assume-role.ndjson");
    let dir = scratch("python-int");
    let started_file = dir.join("started");
    let script = format!(
        "import time\nfor line in open({:?}): print(line.strip())\nopen({:?}, 'w').close()\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    pass\n",
        fixture.display().to_string(),
        started_file.display().to_string()
    );
    let child = Command::new(bin())
        .args(["--", &python, "-c", &script])
        .env("PYTHONUNBUFFERED", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("never started", || started_file.exists());
    let out = terminate(child);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        8,
        "what the producer had buffered when it was stopped came out"
    );
}

/// A producer that ignores SIGINT is sent SIGTERM after a grace period: the run still ends.
#[cfg(target_os = "linux")]
#[test]
fn a_producer_that_ignores_sigint_is_terminated() {
    let fixture = fixtures().join("lineage/assume-role.ndjson");
    let dir = scratch("ignore-int");
    let started_file = dir.join("started");
    let script = format!(
        "trap '' INT; cat {}; touch {}; while :; do sleep 1; done",
        fixture.display(),
        started_file.display()
    );
    let child = Command::new(bin())
        .args(["--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("never started", || started_file.exists());
    let out = terminate(child);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 8);
}

/// Waits (20 s at most) until `done` says so.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM to `child`, then its output once it has ended; the status must be 143.
fn terminate(child: std::process::Child) -> std::process::Output {
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
    out
}

/// python3's path, or `None` with a notice that the test is skipped.
fn python3() -> Option<String> {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skipped("python3 is not installed");
        return None;
    }
    Some("python3".to_string())
}
