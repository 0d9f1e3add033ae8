//! The views for people: `--format text` and `--format summary` (golden files), colour rules,
//! hostile strings that must never reach a terminal raw, and shell completions.
//! Regenerate the golden files with `UPDATE_GOLDEN=1 cargo test views` and review the diff.

use crate::util::*;
use std::path::PathBuf;

fn story_inputs() -> Vec<PathBuf> {
    let l = fixtures().join("lineage");
    let o = fixtures().join("order");
    vec![
        l.join("chain-cross-account.ndjson"),
        l.join("switch-role.ndjson"),
        l.join("ec2-instance.ndjson"),
        o.join("collision-distinguishable.ndjson"),
    ]
}

fn golden(name: &str, args: &[&str]) {
    let inputs = story_inputs();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    let run = run(&all, None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let path = fixtures().join("views").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &run.stdout).unwrap();
    }
    let want = std::fs::read(&path).unwrap_or_default();
    assert!(
        run.stdout == want,
        "{name} differs from its golden file:\n{}",
        String::from_utf8_lossy(&run.stdout)
    );
}

#[test]
fn text_view_golden() {
    golden("text.txt", &["--format", "text", "--color", "never"]);
    golden("text-color.txt", &["--format", "text", "--color", "always"]);
}

#[test]
fn summary_view_golden() {
    golden("summary.txt", &["--format", "summary", "--color", "never"]);
}

/// An event whose every printed field carries terminal escapes, C1 controls and bidi overrides.
fn hostile_event() -> String {
    let evil = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe\r\n\u{7f}\u{0}y";
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::111122223333:assumed-role/ops{evil}/sess{evil}"), "accountId": format!("1111{evil}"), "accessKeyId": "ASIAX", "sessionContext": {"attributes": {"creationDate": "2024-05-01T00:00:00Z"}}},
        "eventTime": format!("2024-05-01T00:00:05Z{evil}"),
        "eventSource": format!("s3{evil}.amazonaws.com"),
        "eventName": format!("Get{evil}Object"),
        "sourceIPAddress": format!("198.51.100.7{evil}"),
        "userAgent": evil,
        "errorCode": format!("Denied{evil}"),
        "errorMessage": evil,
        "eventID": "hostile",
    })
    .to_string()
}

fn user_event(name: &str) -> String {
    serde_json::json!({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":format!("arn:aws:iam::111122223333:user/{name}"),"userName":name,"accessKeyId":"AKIAX"},"eventTime":"2024-05-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"198.51.100.7","eventID":format!("u-{name}")}).to_string()
}

/// What a terminal would act on, other than our own colour codes and line ends.
fn raw_controls(out: &str) -> Vec<char> {
    let mut s = out.to_string();
    for code in [
        "\x1b[2m",
        "\x1b[1;36m",
        "\x1b[32m",
        "\x1b[31m",
        "\x1b[33m",
        "\x1b[1;35m",
        "\x1b[0m",
    ] {
        s = s.replace(code, "");
    }
    s.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        })
        .collect()
}

#[test]
fn hostile_strings_never_reach_the_terminal_raw() {
    let evil_user = "ev\u{1b}[31mil\u{9d}\u{2067}";
    let input = format!(
        "{}\n{}\n{}\n",
        user_event("alice"),
        hostile_event(),
        user_event(evil_user)
    );
    for format in ["text", "summary"] {
        for color in ["never", "always"] {
            let run = run(
                &["--format", format, "--color", color, "--hold", "0"],
                Some(input.as_bytes()),
            );
            assert_eq!(run.code, Some(0));
            let out = String::from_utf8(run.stdout.clone()).expect("UTF-8 output");
            assert_eq!(
                raw_controls(&out),
                Vec::<char>::new(),
                "{format}/{color}:\n{out:?}"
            );
            // The escapes are shown, not dropped: the reader sees something was there.
            assert!(out.contains("\\x1b"), "{format}/{color}: {out:?}");
            if format == "text" {
                assert_eq!(out.lines().count(), 3, "{format}/{color}: one line per event");
            }
        }
    }
}

#[test]
fn colour_follows_no_color_and_clicolor_force() {
    let input = format!("{}\n", user_event("alice"));
    let coloured = |envs: &[(&str, &str)], args: &[&str]| -> bool {
        let mut cmd = std::process::Command::new(bin());
        cmd.args(["--format", "text"])
            .args(args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(input.as_bytes())?;
                c.wait_with_output()
            });
        out.unwrap().stdout.contains(&0x1b)
    };
    assert!(!coloured(&[], &[]), "auto on a pipe: no colour");
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(
        !coloured(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]),
        "NO_COLOR wins over CLICOLOR_FORCE"
    );
    assert!(!coloured(&[("CLICOLOR_FORCE", "0")], &[]));
    assert!(
        coloured(&[("NO_COLOR", "1")], &["--color", "always"]),
        "an explicit --color wins"
    );
    assert!(!coloured(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]));
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    for shell in ["bash", "zsh", "fish"] {
        let run = run(&["--completions", shell], None);
        assert_eq!(run.code, Some(0), "{shell}: {}", run.stderr);
        let script = String::from_utf8(run.stdout).unwrap();
        for flag in ["identity", "max-sessions", "format", "state"] {
            assert!(script.contains(flag), "{shell} completion lacks --{flag}");
        }
    }
    // Completions take no input and no other flag.
    assert_eq!(run(&["--completions", "bash", "--strict"], None).code, Some(2));
}

#[test]
fn summary_on_sigusr1_while_running() {
    use std::io::{BufRead, BufReader, Write};
    let mut child = std::process::Command::new(bin())
        .args(["--format", "summary", "--color", "never"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", user_event("alice")).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::process::Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("alice  IAMUser"), "{first:?}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// In a collision, `--identity` follows the person, not the shared session: alice's filter keeps
/// her calls and the ambiguous ones (she is a candidate), never the other person's.
#[test]
fn identity_in_a_collision_keeps_only_that_persons_calls() {
    let input = fixtures().join("order/collision-distinguishable.ndjson");
    let all = run_file(&input, &["--quiet"]).json();
    let alice = run_file(&input, &["--quiet", "--identity", "alice"]).json();
    let mary_calls: Vec<&serde_json::Value> = all
        .iter()
        .filter(|e| e["ctail"]["confidence"] == "heuristic" && e["ctail"]["origin"]["name"] != "alice")
        .collect();
    assert!(!mary_calls.is_empty());
    for e in &alice {
        let c = &e["ctail"];
        let about_alice = c["origin"]["name"] == "alice"
            || c["candidates"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|x| x["name"] == "alice"));
        assert!(about_alice, "kept for --identity alice: {e}");
    }
    assert!(alice.iter().any(|e| e["ctail"]["confidence"] == "ambiguous"));
}

/// An origin's own credentials can be several sessions (one per long-term key): the summary adds
/// their calls up, and prints the same tree on every run (no hash order, no last-one-wins).
#[test]
fn summary_adds_up_every_session_of_a_branch_and_is_the_same_every_run() {
    let ev = |i: usize, key: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"{key}","userName":"alice"}},"eventTime":"2024-05-01T00:00:0{i}Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"e{i}"}}"#
        )
    };
    let mut input = String::new();
    for (i, key) in ["AKIAONE", "AKIATWO", "AKIAONE", "AKIATHREE", "AKIATWO"]
        .iter()
        .enumerate()
    {
        input += &ev(i, key);
        input.push('\n');
    }
    let first = run(
        &["--format", "summary", "--color", "never"],
        Some(input.as_bytes()),
    );
    let text = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(text.contains("own credentials  5 calls"), "{text}");
    for _ in 0..5 {
        let again = run(
            &["--format", "summary", "--color", "never"],
            Some(input.as_bytes()),
        );
        assert_eq!(String::from_utf8_lossy(&again.stdout), text);
    }
}
