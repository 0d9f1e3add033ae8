//! `examples/backfill-shards.sh`: plans shards from trail file names and runs them with GNU
//! parallel; together they write what one run over every file writes. Skipped (and says so) when
//! GNU parallel is not installed (`apt-get install parallel`).

use super::{long_stream, DAY};
use crate::util::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have_parallel() -> bool {
    let found = Command::new("parallel")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("GNU parallel"));
    if !found {
        skipped("GNU parallel is not installed (apt-get install parallel)");
    }
    found
}

/// Runs the recipe over `trail` into `out` with `args` (before the trail dir) and `ctail`
/// (ctail-filter flags); returns every line the shards wrote, sorted.
fn recipe(trail: &Path, out: &Path, args: &[&str], ctail: &[&str]) -> Vec<Vec<u8>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/backfill-shards.sh");
    let run = Command::new("bash")
        .arg(script)
        .args(args)
        .arg(trail)
        .arg(out)
        .arg("--")
        .args(ctail)
        .env("CTAIL", bin())
        .output()
        .expect("run examples/backfill-shards.sh");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the recipe failed: {stderr}");
    let plan = std::fs::read_to_string(out.join("plan.tsv")).expect("plan.tsv");
    let mut lines = Vec::new();
    for shard in 0..plan.lines().count() {
        lines.extend(read_lines(&out.join(format!("shard-{shard}.ndjson"))));
    }
    sorted(lines)
}

/// One run over every trail file under `trail` (listed in `list`), sorted.
fn one_run(trail: &Path, list: &Path, ctail: &[&str]) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![trail.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.to_string_lossy().contains("_CloudTrail_") {
                files.push(p);
            }
        }
    }
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    std::fs::write(list, names.join("\n")).unwrap();
    let mut args = vec!["--quiet", "--files-from", list.to_str().unwrap()];
    args.extend(ctail);
    let r = run(&args, None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    sorted(r.lines().iter().map(|l| l.to_vec()).collect())
}

#[test]
fn recipe_over_the_bundled_s3_examples() {
    if !have_parallel() {
        return;
    }
    let out = scratch("recipe-s3");
    let trail = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/s3");
    let got = recipe(&trail, &out, &["-j", "2", "--shard", "1"], &["--settle", "15m"]);
    assert!(!got.is_empty());
    assert_eq!(got, one_run(&trail, &out.join("all.list"), &["--settle", "15m"]));
}

/// Five days of trail files (gzip, as CloudTrail writes them), in day-long shards: the recipe
/// plans six (the last holds the files delivered just after the fifth day), and the shards'
/// lines are one run's, byte for byte.
#[test]
fn recipe_over_a_generated_tree_writes_what_one_run_writes() {
    if !have_parallel() {
        return;
    }
    let dir = scratch("recipe-tree");
    let trail = dir.join("trail");
    let (_, stream) = long_stream(33);
    let timed: Vec<(i64, &ctail_sim::SimEvent)> = stream.iter().map(|(at, e)| (*at, e)).collect();
    let files = ctail_sim::write_trail_files(&timed, &trail).unwrap();
    for f in &files {
        let json = std::fs::read(f).unwrap();
        let gz = std::fs::File::create(f.with_extension("json.gz")).unwrap();
        let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::default());
        enc.write_all(&json).unwrap();
        enc.finish().unwrap();
        std::fs::remove_file(f).unwrap();
    }
    let want = one_run(&trail, &dir.join("all.list"), &[]);
    let out = dir.join("out");
    let got = recipe(&trail, &out, &["-j", "2", "--shard", "24"], &[]);
    let plan = std::fs::read_to_string(out.join("plan.tsv")).unwrap();
    assert_eq!(plan.lines().count(), 6, "{plan}");
    // The middle shards read their warm-up: two days before their window.
    let third: Vec<&str> = plan.lines().nth(3).unwrap().split('\t').collect();
    let since: i64 = third[1].parse().unwrap();
    let listed = std::fs::read_to_string(third[3]).unwrap();
    let earliest = listed
        .lines()
        .filter_map(|p| p.split('_').nth(3))
        .min()
        .unwrap()
        .to_string();
    assert!(
        since - 2 * DAY == 1_714_521_600 + DAY && earliest.starts_with("20240502T0"),
        "{earliest}"
    );
    assert_eq!(got.len(), want.len(), "line count");
    assert!(got == want, "the shards' lines differ from one run's");

    // The same shards one index at a time, as a Kubernetes Indexed Job or an AWS Batch array
    // job runs them (examples/backfill-shard.sh; here on a local folder instead of S3).
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/backfill-shard.sh");
    let by_index = dir.join("by-index");
    let mut lines = Vec::new();
    for index in 0..6 {
        let run = Command::new("bash")
            .arg(&script)
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("START", "2024-05-01T00:00:00Z")
            .env("SHARDS", "6")
            .env("TRAIL", &trail)
            .env("OUT", &by_index)
            .env("WORK", dir.join("work"))
            .env("CTAIL", bin())
            .output()
            .expect("run examples/backfill-shard.sh");
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        lines.extend(read_lines(&by_index.join(format!("shard-{index}.ndjson"))));
    }
    assert!(
        sorted(lines) == want,
        "the indexed shards' lines differ from one run's"
    );
}
