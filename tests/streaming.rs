//! Streaming behaviour: live output when input is idle, a closed pipe downstream, empty input.

use crate::util::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn each_event_comes_out_while_the_input_stays_open() {
    let events = read_lines(&fixtures().join("shapes/base.ndjson"));
    let mut child = Command::new(bin())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
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
