//! Running the real binary: stdin written from a thread of its own (a large input would
//! otherwise deadlock against a full stdout pipe), output collected whole.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ctail-filter")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `../shared/data`, for the tests marked `#[ignore = "needs ../shared/data …"]`: a fresh clone
/// has no such folder, so they are skipped (and say so) unless asked for with `--ignored`, which
/// `.ci/run` does when the folder is there.
pub fn shared_data() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        p.is_dir(),
        "../shared/data is absent: this test needs it (it is run with --ignored only where it is)"
    );
    p
}

pub struct Run {
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Run {
    pub fn lines(&self) -> Vec<&[u8]> {
        self.stdout
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Every output line parsed as JSON.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .map(|l| {
                serde_json::from_slice(l).unwrap_or_else(|e| {
                    panic!("output line is not JSON ({e}): {}", String::from_utf8_lossy(l))
                })
            })
            .collect()
    }

    /// Every output line with its annotation taken out: what the input record was.
    pub fn records(&self) -> Vec<Vec<u8>> {
        self.lines().iter().map(|l| strip_annotation(l)).collect()
    }
}

/// Removes `,"ctail":{…}` (the last member) from one output line, checking that it is there.
pub fn strip_annotation(line: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(line).expect("output is UTF-8");
    let at = text
        .rfind(",\"ctail\":{\"session\":")
        .unwrap_or_else(|| panic!("no annotation in {text}"));
    let ann = &text[at + 9..text.len() - 1];
    let v: serde_json::Value =
        serde_json::from_str(ann).unwrap_or_else(|e| panic!("annotation is not JSON ({e}): {ann}"));
    assert!(
        v.get("confidence").is_some(),
        "annotation without confidence: {ann}"
    );
    assert!(text.ends_with('}'));
    let mut out = text.as_bytes()[..at].to_vec();
    out.push(b'}');
    out
}

/// Runs the binary with `args`, writing `stdin` (if any) from a separate thread.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("spawn ctail-filter");
    let writer = stdin.map(|data| {
        let data = data.to_vec();
        let mut pipe = child.stdin.take().expect("stdin");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut stderr = String::new();
    let mut err_pipe = child.stderr.take().expect("stderr");
    let err_thread = std::thread::spawn(move || {
        let _ = err_pipe.read_to_string(&mut stderr);
        stderr
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read stdout");
    let status = child.wait().expect("wait");
    if let Some(w) = writer {
        w.join().expect("writer thread");
    }
    Run {
        stdout,
        stderr: err_thread.join().expect("stderr thread"),
        code: status.code(),
    }
}

pub fn run_file(path: &Path, extra: &[&str]) -> Run {
    let p = path.to_str().expect("utf-8 path");
    let mut args: Vec<&str> = extra.to_vec();
    args.push(p);
    run(&args, None)
}

pub fn read_lines(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// Asserts two lists of records are equal, saying where they first differ (not dumping bytes).
#[track_caller]
pub fn assert_records(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    let show = |r: &[u8]| String::from_utf8_lossy(&r[..r.len().min(300)]).into_owned();
    if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
        panic!(
            "{what}: record {i} differs\n got: {}\nwant: {}",
            show(&got[i]),
            show(&want[i])
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: record count");
}

/// Records in a fixed order, to compare what came out regardless of the order it came out in.
pub fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

/// A fresh scratch directory under the target dir.
pub fn scratch(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("scratch dir");
    p
}

/// PATH with ctail-filter's directory first, for scripts and shipper configurations that call it
/// by name.
pub fn path_with_ctail() -> String {
    format!(
        "{}:{}",
        Path::new(bin()).parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Runs `script` with sh in the repository root, ctail-filter first on the PATH.
pub fn sh_in_root(script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path_with_ctail())
        .output()
        .unwrap()
}

/// The identifying value of an origin or candidate, as the fixtures' README defines it.
pub fn origin_key(o: &serde_json::Value) -> String {
    match o["type"].as_str() {
        None => "-".to_string(),
        Some("IAMUser" | "Root") => o["arn"].as_str().unwrap_or("").to_string(),
        Some("IdentityCenterUser") => o["userId"]
            .as_str()
            .or(o["name"].as_str())
            .unwrap_or("")
            .to_string(),
        Some("AWSService") => match o["instance"].as_str() {
            Some(i) => format!("{}/{i}", o["name"].as_str().unwrap_or("")),
            None => o["name"].as_str().unwrap_or("").to_string(),
        },
        Some("AWSAccount") => o["principalId"].as_str().unwrap_or("").to_string(),
        Some(_) => o["name"].as_str().unwrap_or("").to_string(),
    }
}

/// Says that a test is skipped, and why, where `cargo test` shows it: on the process's stderr,
/// which the test harness does not capture (`eprintln!` in a passing test is never seen).
pub fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// Runs one of `scripts/check-*` (the real AWS CLI against a local mock) on the binary under
/// test: it must pass with `oks` lines `ok: …`. Exit 77 is the script saying a tool it needs is
/// missing: the test is then skipped, visibly.
pub fn check_script(name: &str, oks: usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts").join(name))
        .arg(bin())
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(77) {
        return skipped(stderr.trim().trim_start_matches("skipped: "));
    }
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stdout.matches("ok: ").count(), oks, "{stdout}");
}
