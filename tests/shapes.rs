//! Every input shape of CLOUDTRAIL.md §7 comes out one record per line, nothing lost, bytes kept.
//! Fixtures and their provenance: tests/fixtures/shapes/README.md. `--hold 0` keeps input order
//! (the hold buffer would send some records out after their neighbours); `sorted` checks the
//! default settings lose and duplicate nothing.

use crate::util::*;

fn manifest() -> Vec<(String, String, usize, String)> {
    let text = std::fs::read_to_string(fixtures().join("shapes/MANIFEST.tsv")).expect("manifest");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].to_string(),
                f[2].parse().expect("count"),
                f[3].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_shape_as_a_file_argument() {
    let dir = fixtures().join("shapes");
    let mut checked = 0;
    for (input, expected, count, shape) in manifest().into_iter().filter(|m| !m.0.starts_with("bad/")) {
        let run = run_file(&dir.join(&input), &["--hold", "0"]);
        assert_eq!(run.code, Some(0), "{input} ({shape}): {}", run.stderr);
        assert_eq!(run.stderr, "", "{input} ({shape}) reported something");
        let want = read_lines(&dir.join(&expected));
        assert_eq!(want.len(), count);
        let got = run.records();
        assert_eq!(got.len(), want.len(), "{input} ({shape}): record count");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                String::from_utf8_lossy(g),
                String::from_utf8_lossy(w),
                "{input} ({shape}) record {i}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 18, "only {checked} shapes checked");
}

#[test]
fn every_shape_on_stdin() {
    let dir = fixtures().join("shapes");
    for (input, expected, _, shape) in manifest().into_iter().filter(|m| !m.0.starts_with("bad/")) {
        let data = std::fs::read(dir.join(&input)).expect("fixture");
        let run = run(&[], Some(&data));
        assert_eq!(run.code, Some(0), "{input} ({shape}): {}", run.stderr);
        assert_records(
            &sorted(run.records()),
            &sorted(read_lines(&dir.join(&expected))),
            &format!("{input} ({shape}) on stdin"),
        );
    }
}

#[test]
fn several_files_and_dash_in_order() {
    let dir = fixtures().join("shapes");
    let lines = dir.join("lines.ndjson");
    let gz = dir.join("s3.json.gz");
    let stdin = std::fs::read(dir.join("eventbridge.ndjson")).unwrap();
    let run = run(
        &[lines.to_str().unwrap(), "-", gz.to_str().unwrap()],
        Some(&stdin),
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let mut want = read_lines(&dir.join("lines.expected.ndjson"));
    want.extend(read_lines(&dir.join("eventbridge.expected.ndjson")));
    want.extend(read_lines(&dir.join("s3.expected.ndjson")));
    assert_eq!(run.records(), want);
}

#[test]
fn concatenated_gzip_members_without_newlines() {
    // `cat a.json.gz b.json.gz`: two S3 objects run together on one line.
    use std::io::{Read, Write};
    let mut joined = Vec::new();
    let mut want = Vec::new();
    for name in ["s3.json.gz", "s3.json.gz"] {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(fixtures().join("shapes").join(name)).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.trim_end().as_bytes()).unwrap();
        joined.extend(gz.finish().unwrap());
        want.extend(read_lines(&fixtures().join("shapes/s3.expected.ndjson")));
    }
    let run = run(&["--hold", "0", "--quiet"], Some(&joined));
    assert_eq!(run.code, Some(0));
    assert_records(&run.records(), &want, "two gzip members on one line");
}
