//! The real public data (../shared/data, when present; a slice in tests/fixtures/real always):
//! every record comes out once with its bytes kept, and issued keys that are used later link.

use crate::util::*;
use serde_json::Value;
use std::collections::HashMap;

#[test]
#[ignore = "needs ../shared/data (run by .ci/run when it is there)"]
fn every_shared_data_stream_comes_out_whole() {
    let data = shared_data();
    let mut streams = 0;
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path().join("events.ndjson");
        if !path.exists() {
            continue;
        }
        let run = run_file(&path, &["--quiet"]);
        assert_eq!(run.code, Some(0), "{}", path.display());
        assert_records(
            &sorted(run.records()),
            &sorted(read_lines(&path)),
            &format!("{}: records kept byte for byte", path.display()),
        );
        streams += 1;
    }
    assert!(streams >= 6);
}

#[test]
#[ignore = "needs ../shared/data (run by .ci/run when it is there)"]
fn the_original_s3_delivery_files_as_arguments() {
    let data = shared_data();
    let dir = data.join("invictus/s3");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 50);
    // What each file holds, read independently of the binary.
    let mut want = Vec::new();
    for f in &files {
        let mut text = String::new();
        use std::io::Read;
        flate2::read::MultiGzDecoder::new(std::fs::File::open(f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        #[derive(serde::Deserialize)]
        struct S3<'a> {
            #[serde(borrow, rename = "Records")]
            records: Vec<&'a serde_json::value::RawValue>,
        }
        let s3: S3 = serde_json::from_str(&text).unwrap();
        want.extend(s3.records.iter().map(|r| r.get().as_bytes().to_vec()));
    }
    let args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    let mut with_hold0 = vec!["--hold", "0"];
    with_hold0.extend(&args);
    let run = run(&with_hold0, None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stderr, "");
    assert_eq!(run.records(), want);
    let run = crate::util::run(&args, None);
    assert_eq!(sorted(run.records()), sorted(want.clone()));
    assert_eq!(want.len(), 2900);
}

/// For every creating event that issued a key, each later call with that key is attributed to
/// the creating call's own origin, exactly.
fn issued_keys_link(out: &[Value]) -> usize {
    let mut issued: HashMap<String, Value> = HashMap::new();
    let mut checked = 0;
    for ev in out {
        let key = ev["userIdentity"]["accessKeyId"].as_str().unwrap_or("");
        if let Some(origin) = issued.get(key) {
            assert_eq!(
                &ev["ctail"]["origin"], origin,
                "call with issued key {key}: {}",
                ev["eventID"]
            );
            assert_eq!(
                ev["ctail"]["confidence"], "exact",
                "call with issued key {key}: {}",
                ev["eventID"]
            );
            checked += 1;
        }
        if ev["errorCode"].is_null() {
            if let Some(k) = ev["responseElements"]["credentials"]["accessKeyId"].as_str() {
                if ev["ctail"]["confidence"] == "exact" {
                    issued.insert(k.to_string(), ev["ctail"]["origin"].clone());
                }
            }
        }
    }
    checked
}

#[test]
fn invictus_slice_lineage() {
    let run = run_file(&fixtures().join("real/invictus-lineage.ndjson"), &[]);
    assert_eq!(run.code, Some(0));
    let out = run.json();
    assert!(issued_keys_link(&out) >= 10);
    // bert-jan's two same-second AssumeRoles issue two keys; the session's 29 calls use one.
    let role = "arn:aws:sts::123837392027:assumed-role/stratus-red-team-ec2-get-password-data-role/aws-go-sdk-1688990082523310002";
    let calls: Vec<&Value> = out.iter().filter(|e| e["userIdentity"]["arn"] == role).collect();
    assert!(calls.len() >= 29);
    for c in calls {
        assert_eq!(
            c["ctail"]["origin"]["arn"],
            "arn:aws:iam::123837392027:user/bert-jan"
        );
        assert_eq!(c["ctail"]["confidence"], "exact");
        let chain = c["ctail"]["chain"].as_array().unwrap();
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0]["via"], "AssumeRole");
        assert_eq!(chain[0]["eventID"], "bbe86c7c-5981-4ac8-ad20-9248612b16c1");
    }
    // The EC2 instance's calls name the instance.
    let inst: Vec<&Value> = out
        .iter()
        .filter(|e| {
            e["userIdentity"]["arn"]
                .as_str()
                .is_some_and(|a| a.ends_with("/i-05c30218156bcc246"))
        })
        .collect();
    assert!(!inst.is_empty());
    for c in inst {
        assert_eq!(c["ctail"]["origin"]["type"], "AWSService");
        assert_eq!(c["ctail"]["origin"]["instance"], "i-05c30218156bcc246");
    }
}

#[test]
#[ignore = "needs ../shared/data (run by .ci/run when it is there)"]
fn invictus_and_stratus_issued_keys_link() {
    let data = shared_data();
    for name in ["invictus", "stratus"] {
        let run = run_file(&data.join(name).join("events.ndjson"), &["--quiet"]);
        let out = run.json();
        let checked = issued_keys_link(&out);
        assert!(checked > 0, "{name}: no issued key used later");
        // Nothing from a person is left without an origin when its creator is in the stream.
        let federated: Vec<&Value> = out
            .iter()
            .filter(|e| e["userIdentity"]["type"] == "FederatedUser")
            .collect();
        for f in federated {
            assert_eq!(f["ctail"]["confidence"], "exact");
            assert_eq!(f["ctail"]["origin"]["type"], "IAMUser");
        }
    }
}

/// Every real record decodes the same through the fast path as through serde_json alone, and
/// nearly all take the fast path (the rest are left to serde_json, never read differently).
#[test]
#[ignore = "needs ../shared/data (run by .ci/run when it is there)"]
fn the_fast_decoder_reads_all_real_data_as_serde_json_does() {
    use ctail_filter::decode::{decode_fast, decode_with_serde, field_values};
    let data = shared_data();
    let (mut records, mut fast) = (0, 0);
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path().join("events.ndjson");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            records += 1;
            let slow = decode_with_serde(line).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Some(f) = decode_fast(line) {
                fast += 1;
                assert_eq!(
                    field_values(&f),
                    field_values(&slow),
                    "{}: {line}",
                    path.display()
                );
            }
        }
    }
    eprintln!("{fast} of {records} real records took the fast path");
    assert!(records > 13_000);
    assert!(fast * 100 >= records * 99, "{fast} of {records}");
}
