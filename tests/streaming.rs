//! Streaming behaviour: live output when input is idle, a closed pipe downstream, empty input.

use crate::util::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary with `args`, fed live through a pipe: the child, its input and its output.
fn live(args: &[&str]) -> (Child, ChildStdin, BufReader<ChildStdout>) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdin, stdout)
}

#[test]
fn each_event_comes_out_while_the_input_stays_open() {
    let events = read_lines(&fixtures().join("shapes/base.ndjson"));
    let (mut child, mut stdin, mut stdout) = live(&[]);
    for ev in &events[..3] {
        // One event at a time, waiting for each to come out before sending the next: block
        // buffering must flush when the input goes idle.
        stdin.write_all(ev).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        let started = Instant::now();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(strip_annotation(line.trim_end().as_bytes()), *ev);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// Standard input that is a pipe gets a 1 MiB buffer (Linux), so the writer upstream blocks less
/// often: `cat stream | ctail-filter` on 740 MB took 1.18 s against 1.01 s (hyperfine means).
#[cfg(target_os = "linux")]
#[test]
fn a_pipe_on_standard_input_is_widened() {
    let max: usize = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    if max < 1 << 20 {
        skipped(&format!("this system allows pipes of {max} bytes at most"));
        return;
    }
    let events = read_lines(&fixtures().join("shapes/base.ndjson"));
    let (mut child, mut stdin, mut stdout) = live(&[]);
    // Once a record has come out, the reader has started (and widened its pipe).
    stdin.write_all(&events[0]).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(rustix::pipe::fcntl_getpipe_size(&stdin).unwrap(), 1 << 20);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_closed_pipe_downstream_ends_quietly_with_status_0() {
    // Enough output that the writer must see the pipe close (several pipe buffers).
    let line = read_lines(&fixtures().join("shapes/base.ndjson")).remove(0);
    let mut input = Vec::new();
    for _ in 0..20_000 {
        input.extend_from_slice(&line);
        input.push(b'\n');
    }
    let path = scratch("head").join("many.ndjson");
    std::fs::write(&path, &input).unwrap();
    let mut child = Command::new(bin())
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout); // `| head -1`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(strip_annotation(first.trim_end().as_bytes()), line);
}

#[test]
fn line_buffered_and_empty_input() {
    let run = run(&["--line-buffered"], Some(b""));
    assert_eq!(run.code, Some(0));
    assert!(run.stdout.is_empty());
    let run = crate::util::run(&[], Some(b"\n\r\n   \n"));
    assert_eq!(
        (run.code, run.stdout.len(), run.stderr.as_str()),
        (Some(0), 0, "")
    );
}

/// A call of a session whose creator has not been seen, at `time`, with a session name of its own.
fn unknown_session_call(name: &str, time: &str, id: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE:{name}","arn":"arn:aws:sts::111122223333:assumed-role/ops/{name}","accountId":"111122223333","accessKeyId":"ASIA{name}","sessionContext":{{"attributes":{{"creationDate":"2024-05-01T00:00:00Z"}}}}}},"eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"{id}","recipientAccountId":"111122223333"}}"#
    )
}

fn user_call(time: &str, id: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"}},"eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"{id}","recipientAccountId":"111122223333"}}"#
    )
}

#[test]
fn an_idle_live_stream_releases_held_events_by_wall_clock() {
    let (mut child, mut stdin, mut stdout) = live(&["--hold", "1s"]);
    writeln!(
        stdin,
        "{}",
        // Made in the second its session began: young enough for its creator to still come.
        unknown_session_call("s1", "2024-05-01T00:00:00Z", "e1")
    )
    .unwrap();
    stdin.flush().unwrap();
    // No more input, stdin still open: the wall clock lets it go, unlinked.
    let started = Instant::now();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["eventID"], "e1");
    assert_eq!(v["ctail"]["confidence"], "unlinked");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn sigterm_with_the_upstream_open_releases_everything_held() {
    let (mut child, mut stdin, mut stdout) = live(&[]);
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        writeln!(
            stdin,
            "{}",
            unknown_session_call(name, "2024-05-01T00:00:05Z", &format!("held{i}"))
        )
        .unwrap();
    }
    writeln!(stdin, "{}", user_call("2024-05-01T00:00:06Z", "known")).unwrap();
    stdin.flush().unwrap();
    // The known caller's event is not held; the three others wait for their creators (15m).
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains(r#""eventID":"known""#), "{line}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let code = child.wait().unwrap().code();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(143));
    let ids: Vec<String> = rest
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["eventID"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids, ["held0", "held1", "held2"]);
    drop(stdin);
}

#[test]
fn max_held_bounds_the_buffer_and_loses_nothing() {
    let mut input = String::new();
    for i in 0..5 {
        input += &unknown_session_call(&format!("s{i}"), "2024-05-01T00:00:05Z", &format!("e{i}"));
        input.push('\n');
    }
    let run = run(&["--max-held", "2", "--stats"], Some(input.as_bytes()));
    assert_eq!(run.code, Some(0));
    assert_eq!(run.lines().len(), 5);
    let stats: serde_json::Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(stats["held_max"], 2);
    assert_eq!(stats["held_overflow"], 3);
    assert_eq!(stats["released_unlinked"], 5);
    // Overflow lets the oldest go first: output order is input order here.
    let ids: Vec<String> = run
        .json()
        .iter()
        .map(|v| v["eventID"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["e0", "e1", "e2", "e3", "e4"]);
}

/// `--threads 1` and `--threads 2`, `3`, `4` (decoding in parallel, batches put back in order)
/// write the same bytes and the same reports, in the same order, for every shape, bad input,
/// and a late shuffled stream long enough for many batches to be decoded out of order.
#[test]
fn threads_change_nothing_in_the_output() {
    let mut inputs: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["shapes", "shapes/bad", "lineage", "order"] {
        for e in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension()
                .is_some_and(|x| x == "ndjson" || x == "json" || x == "txt" || x == "gz")
                && !p.to_string_lossy().contains("expected")
            {
                inputs.push(p);
            }
        }
    }
    inputs.sort();
    assert!(inputs.len() > 40);
    let counts = |s: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(s.lines().last().unwrap()).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("elapsed_s");
        o.remove("mb_per_s");
        v
    };
    let reports = |s: &str| -> Vec<String> {
        let lines: Vec<&str> = s.lines().collect();
        lines[..lines.len() - 1].iter().map(|l| l.to_string()).collect()
    };
    for p in &inputs {
        let one = run_file(p, &["--threads", "1", "--stats"]);
        for n in ["2", "3"] {
            let many = run_file(p, &["--threads", n, "--stats"]);
            let what = format!("{} --threads {n}", p.display());
            assert_eq!(one.stdout, many.stdout, "{what}");
            assert_eq!(one.code, many.code, "{what}");
            assert_eq!(counts(&one.stderr), counts(&many.stderr), "{what}");
            assert_eq!(reports(&one.stderr), reports(&many.stderr), "{what}");
        }
    }
    let events = ctail_sim::deliver(
        &ctail_sim::simulate(&ctail_sim::Config {
            seed: 31,
            events: 10_000,
            collisions: 4,
            ..Default::default()
        }),
        &ctail_sim::Delivery {
            seed: 2,
            max_delay_secs: 900,
            duplicate_rate: 0.01,
        },
    );
    let mut input = Vec::new();
    for e in &events {
        input.extend_from_slice(e.json.as_bytes());
        input.push(b'\n');
    }
    assert!(input.len() > 40 * 256 * 1024, "long enough for many batches");
    let one = run(&["--threads", "1", "--quiet"], Some(&input));
    assert_eq!(one.records().len(), events.len());
    for n in ["2", "4"] {
        let many = run(&["--threads", n, "--quiet"], Some(&input));
        assert!(
            one.stdout == many.stdout,
            "simulated stream differs between --threads 1 and {n}"
        );
    }
}

/// Held events are bounded in bytes, not only in count: 1,000 calls of 200 KB of sessions whose
/// creators may still come (200 MB in all) never hold more than `--max-held-bytes`; the oldest go
/// out as they stand, and every event comes out.
#[test]
fn held_events_are_bounded_in_bytes() {
    let padding = "x".repeat(200 * 1024);
    let mut child = Command::new(bin())
        .args(["--max-held-bytes", "16M", "--stats", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        for i in 0..1000 {
            // Each call is made in the second its session began: young, so it is held.
            let ev = unknown_session_call(&format!("big{i}"), "2024-05-01T00:00:00Z", &format!("e{i}"));
            let ev = ev.replacen(
                r#""eventVersion":"1.08""#,
                &format!(r#""eventVersion":"1.08","pad":"{padding}""#),
                1,
            );
            stdin.write_all(ev.as_bytes()).unwrap();
            stdin.write_all(b"\n").unwrap();
        }
    });
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match std::io::Read::read(&mut out, &mut buf) {
                Ok(0) | Err(_) => break lines,
                Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count(),
            }
        }
    });
    let mut rss_max = 0;
    while !writer.is_finished() {
        if let Some(kb) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<u64>()
                    .ok()
            })
        {
            rss_max = rss_max.max(kb);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.join().unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0));
    assert_eq!(reader.join().unwrap(), 1000, "every event comes out");
    let stats: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&done.stderr).lines().last().unwrap()).unwrap();
    let held_max = stats["held_bytes_max"].as_u64().unwrap();
    assert!(held_max <= 16 << 20, "{stats}");
    assert!(held_max > 8 << 20, "the bound was reached: {stats}");
    assert!(stats["held_overflow"].as_u64().unwrap() > 900, "{stats}");
    // Records in flight, buffers and the bound: far below the 200 MB that went through.
    if rss_max > 0 {
        assert!(rss_max < 96 * 1024, "resident {rss_max} KB");
    }
}

/// Runs the binary with `args`, writing `stdin` in two halves with a pause between (the pipe
/// kept open, so that `--stats-interval` has time to print). With `stderr_closed`, its stderr
/// is a pipe whose reading end is already closed, as under a shipper that closed the command's
/// stderr: every message it writes fails (EPIPE). Returns the output, stderr and exit status.
fn run_in_two_halves(args: &[&str], stdin: &[u8], stderr_closed: bool) -> (Vec<u8>, String, Option<i32>) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    // Closed before the first byte of input is written, so every message meets a closed pipe.
    let stderr = (!stderr_closed).then(|| {
        std::thread::spawn(move || {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut err_pipe, &mut s).unwrap();
            s
        })
    });
    let mut pipe = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let half = data.len() / 2;
        let _ = pipe.write_all(&data[..half]);
        let _ = pipe.flush();
        std::thread::sleep(Duration::from_millis(400));
        let _ = pipe.write_all(&data[half..]);
    });
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let code = child.wait().unwrap().code();
    writer.join().unwrap();
    let stderr = stderr.map(|t| t.join().unwrap()).unwrap_or_default();
    (stdout, stderr, code)
}

/// A closed stderr loses the messages, never the run: warnings (a collision in the story),
/// bad-record messages past the rate limit, periodic and final `--stats`, fatal errors: the
/// output is whole and the exit status the same as with stderr open (it was 101, a panic).
#[test]
fn a_closed_stderr_changes_neither_output_nor_exit_status() {
    let mut input = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/story.ndjson")).unwrap();
    for i in 0..25 {
        input.extend_from_slice(format!("not an event {i}\n").as_bytes());
    }
    let args = ["--stats", "--stats-interval", "50ms"];
    let (open_out, open_err, open_code) = run_in_two_halves(&args, &input, false);
    assert_eq!(open_code, Some(0), "{open_err}");
    assert_eq!(open_out.iter().filter(|&&b| b == b'\n').count(), 35);
    // The input does make every kind of message.
    for says in [
        "warning: session",
        "<stdin>:",
        "more bad records follow",
        "25 bad records in all",
        "\"records_out\":35",
    ] {
        assert!(open_err.contains(says), "no {says:?} in: {open_err}");
    }
    let stats_lines = open_err.lines().filter(|l| l.starts_with('{')).count();
    assert!(stats_lines >= 2, "no periodic --stats line: {open_err}");
    let (stdout, _, code) = run_in_two_halves(&args, &input, true);
    assert_eq!(code, Some(0));
    assert!(stdout == open_out, "the output differs with stderr closed");

    // Fatal errors: the status is still 1, from the pipeline (an unreadable input) and from the
    // binary's edge (a state file refused at start).
    let (_, _, code) = run_in_two_halves(&["/nonexistent/ctail-input"], b"", true);
    assert_eq!(code, Some(1));
    let bad = scratch("stderr-closed").join("state");
    std::fs::write(&bad, b"hello\n").unwrap();
    let (_, _, code) = run_in_two_halves(&["--state", bad.to_str().unwrap()], b"", true);
    assert_eq!(code, Some(1));
}

/// `--help` says the counters print at exit: a closed pipe downstream is an exit too.
#[test]
fn stats_print_when_the_pipe_downstream_closes() {
    let line = read_lines(&fixtures().join("shapes/base.ndjson")).remove(0);
    let mut input = Vec::new();
    for _ in 0..20_000 {
        input.extend_from_slice(&line);
        input.push(b'\n');
    }
    let dir = scratch("head-stats");
    let path = dir.join("many.ndjson");
    std::fs::write(&path, &input).unwrap();
    let state = dir.join("state");
    let mut child = Command::new(bin())
        .args(["--stats", "--state", state.to_str().unwrap()])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout); // `| head -1`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(state.exists(), "the state was not saved");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stats: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no --stats line ({e}): {stderr:?}"));
    assert!(stats["records_out"].as_u64().unwrap() > 0, "{stats}");
}
