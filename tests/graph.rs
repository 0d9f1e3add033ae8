//! The session graph: `--format dot` and `--format mermaid`. Golden files from the story data,
//! the DOT rendered by Graphviz when it is installed (the SVG must parse, with exactly the nodes
//! and edges drawn), hostile names that must not break either syntax, `--identity`, grouping of
//! large inputs and the memory bound. Regenerate the golden files with
//! `UPDATE_GOLDEN=1 cargo test --test tests graph::` and review the diff.

use crate::util::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn story() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/story.ndjson")
}

fn hostile() -> PathBuf {
    fixtures().join("views/hostile-names.ndjson")
}

fn graph(format: &str, extra: &[&str], input: &Path) -> String {
    let mut args = vec!["--format", format, "--quiet"];
    args.extend_from_slice(extra);
    args.push(input.to_str().unwrap());
    let run = run(&args, None);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    String::from_utf8(run.stdout).expect("UTF-8 output")
}

fn golden(name: &str, got: &str) {
    let path = fixtures().join("views").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(got == want, "{name} differs from its golden file:\n{got}");
}

#[test]
fn dot_and_mermaid_golden() {
    let dot = graph("dot", &[], &story());
    golden("story.dot", &dot);
    let mmd = graph("mermaid", &[], &story());
    golden("story.mmd", &mmd);
    // The same input draws the same graph, byte for byte (no hash order).
    for _ in 0..3 {
        assert_eq!(graph("dot", &[], &story()), dot);
        assert_eq!(graph("mermaid", &[], &story()), mmd);
    }
}

/// The story's graph says what the issue asks for: nodes by session id, edges labelled with the
/// creating API and time, heuristic dashed, the collision's two creators in the warning colour.
#[test]
fn dot_shows_confidence_and_accounts() {
    let dot = graph("dot", &[], &story());
    let edges: Vec<&str> = dot.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(edges.len(), 7, "one edge per creating event:\n{dot}");
    let switch = edges.iter().find(|l| l.contains("SwitchRole")).unwrap();
    assert!(switch.contains("style=dashed"), "{switch}");
    assert!(switch.contains("2024-05-01T09:14:03Z"), "{switch}");
    let collided: Vec<_> = edges.iter().filter(|l| l.contains("#d97706")).collect();
    assert_eq!(
        collided.len(),
        2,
        "the two creators of deploy/maintenance:\n{dot}"
    );
    assert!(collided.iter().all(|l| l.contains("09:40:17Z")));
    for account in ["account 111122223333", "account 444455556666"] {
        assert!(dot.contains(&format!("label=\"{account}\"")), "{account}");
    }
    // Node ids are the session ids of the annotation's chain.
    let run = run(&["--quiet", story().to_str().unwrap()], None);
    let mut sessions = 0;
    for e in run.json() {
        for hop in e["ctail"]["chain"].as_array().unwrap() {
            let s = hop["session"].as_str().unwrap();
            assert!(
                dot.contains(&format!("\"s{s}\" [label=")),
                "session {s} has no node"
            );
            sessions += 1;
        }
    }
    assert!(sessions > 20);
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// `dot -Tsvg`, parsed: (the SVG's text, node count, edge count, every `<text>`).
fn render(dot: &str) -> (String, usize, usize, Vec<String>) {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = dot.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dot failed: {stderr}\n{dot}");
    assert!(stderr.trim().is_empty(), "dot warned: {stderr}\n{dot}");
    let svg = String::from_utf8(out.stdout).expect("UTF-8 SVG");
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&svg, options)
        .unwrap_or_else(|e| panic!("SVG does not parse: {e}\n{svg}"));
    let class = |c: &str| {
        doc.descendants()
            .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some(c))
            .count()
    };
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect();
    let (nodes, edges) = (class("node"), class("edge"));
    (svg.clone(), nodes, edges, texts)
}

#[test]
fn dot_renders_with_graphviz() {
    if !have("dot") {
        skipped("graphviz `dot` is not installed (apt-get install graphviz)");
        return;
    }
    let (_, nodes, edges, texts) = render(&graph("dot", &[], &story()));
    assert_eq!((nodes, edges), (10, 7));
    for want in [
        "alice",
        "session botocore-session-1714554082",
        "collision: 2 creating events",
    ] {
        assert!(texts.iter().any(|t| t == want), "no {want:?} in {texts:?}");
    }
}

/// What `EVIL` of make_hostile_names.py looks like once made visible: controls, bidi and
/// noncharacters as escapes, backslashes doubled, everything else as it was.
const EVIL_SHOWN: &str = r#"", shape=invhouse, color="red"];x[" \\N\\l<b>]}{|#;&lt;&#34;#quot;%%`-->end\x0a\x0d\x09\u{202e}\u{feff}\u{ffff}Zü東🙂 "#;

#[test]
fn hostile_names_render_as_text_in_dot() {
    let dot = graph("dot", &["--hold", "0"], &hostile());
    // Nothing from the input stands outside a quoted string: a line is ours up to `label="`.
    for line in dot.lines() {
        assert!(!line.contains("invhouse\""), "{line}");
    }
    if !have("dot") {
        skipped("graphviz `dot` is not installed (apt-get install graphviz)");
        return;
    }
    let (svg, nodes, edges, texts) = render(&dot);
    assert_eq!((nodes, edges), (3, 1), "no node or edge more:\n{dot}");
    assert!(!svg.contains("\"red\""), "no attribute injected:\n{svg}");
    for want in [
        EVIL_SHOWN.to_string(),
        format!("session s{EVIL_SHOWN}"),
        format!("session u{EVIL_SHOWN}"),
        "account 1111\"]; x [label=\"acct".to_string(),
    ] {
        assert!(texts.contains(&want), "no {want:?} in {texts:#?}");
    }
}

/// A Mermaid flowchart as this crate writes it, checked line by line (no Mermaid renderer runs
/// offline here): ids are ours, every label is one double-quoted string holding no `"`, no tag
/// but `<br>`, no `#` but in an entity, no backtick or control; subgraphs close; links and
/// classes name defined nodes; `linkStyle` indices exist.
fn check_mermaid(text: &str) -> (usize, usize) {
    let id_ok = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()) && s.starts_with(['s', 'g', 'a'])
    };
    let label_ok = |s: &str| {
        let without_br = s.replace("<br>", "");
        assert!(!without_br.contains(['"', '<', '>', '`']), "label {s:?}");
        assert!(!s.chars().any(char::is_control), "label {s:?}");
        let mut rest = without_br.as_str();
        while let Some(i) = rest.find('#') {
            let after = &rest[i + 1..];
            let end = after.find(';').unwrap_or_else(|| panic!("bare # in {s:?}"));
            assert!(
                end > 0 && after[..end].chars().all(|c| c.is_ascii_digit()),
                "bad entity in {s:?}"
            );
            rest = &after[end + 1..];
        }
    };
    // `ID` followed by a shape holding one quoted label.
    let node = |l: &str| -> Option<String> {
        for (open, close) in [("([\"", "\"])"), ("[[\"", "\"]]"), ("(\"", "\")"), ("[\"", "\"]")] {
            if let Some(i) = l.find(open) {
                let (id, rest) = (&l[..i], &l[i + open.len()..]);
                let label = rest.strip_suffix(close)?;
                if id_ok(id) {
                    label_ok(label);
                    return Some(id.to_string());
                }
            }
        }
        None
    };
    let mut lines = text.lines().filter(|l| !l.trim_start().starts_with("%%"));
    assert_eq!(lines.next(), Some("flowchart LR"));
    let (mut depth, mut nodes, mut links, mut classes) = (0, Vec::new(), Vec::new(), Vec::new());
    let mut link_styles = Vec::new();
    for l in lines {
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("subgraph ") {
            assert!(node(rest).is_some(), "subgraph {l:?}");
            depth += 1;
        } else if l == "end" {
            depth -= 1;
            assert!(depth >= 0, "end without subgraph");
        } else if let Some(rest) = l.strip_prefix("classDef ") {
            assert!(rest
                .split(' ')
                .next()
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_lowercase())));
        } else if let Some(rest) = l.strip_prefix("class ") {
            let (ids, _) = rest.split_once(' ').expect("class IDS NAME");
            classes.extend(ids.split(',').map(str::to_string));
        } else if let Some(rest) = l.strip_prefix("linkStyle ") {
            let (ids, _) = rest.split_once(' ').expect("linkStyle N STYLE");
            link_styles.extend(ids.split(',').map(|n| n.parse::<usize>().expect("index")));
        } else if let Some((from, rest)) = l.split_once(" -->|\"").or_else(|| l.split_once(" -.->|\"")) {
            let (label, to) = rest.split_once("\"| ").expect("link label");
            label_ok(label);
            assert!(id_ok(from) && id_ok(to), "{l:?}");
            links.push((from.to_string(), to.to_string()));
        } else {
            nodes.push(node(l).unwrap_or_else(|| panic!("not a node: {l:?}")));
        }
    }
    assert_eq!(depth, 0, "unclosed subgraph");
    for (a, b) in &links {
        assert!(
            nodes.contains(a) && nodes.contains(b),
            "link {a} -> {b} to no node"
        );
    }
    assert!(classes.iter().all(|c| nodes.contains(c)));
    assert!(link_styles.iter().all(|&i| i < links.len()));
    (nodes.len(), links.len())
}

#[test]
fn mermaid_is_well_formed() {
    let story = graph("mermaid", &[], &story());
    assert_eq!(check_mermaid(&story), (10, 7));
    assert!(story.contains("-.->|\"SwitchRole<br>2024-05-01T09:14:03Z\"|"));
    assert!(
        story.contains("linkStyle 5,6 stroke:#d97706"),
        "the collision's two edges"
    );
    let hostile = graph("mermaid", &["--hold", "0"], &hostile());
    assert_eq!(check_mermaid(&hostile), (3, 1), "{hostile}");
    // Shown, not dropped: the quote and the bidi override are there as text.
    assert!(hostile.contains("#34;, shape=invhouse"), "{hostile}");
    assert!(hostile.contains("#92;u#123;202e#125;"), "{hostile}");
}

/// `--identity` limits the graph as it limits the events: bob's lineage only.
#[test]
fn identity_limits_the_graph() {
    let dot = graph("dot", &["--identity", "bob"], &story());
    let nodes = dot
        .lines()
        .filter(|l| l.trim_start().starts_with("\"s") && !l.contains(" -> "));
    let titles: Vec<&str> = nodes
        .map(|l| l.split("label=\"").nth(1).unwrap().split("\\n").next().unwrap())
        .collect();
    assert_eq!(titles, ["bob", "bob", "readonly"], "{dot}");
    assert_eq!(dot.lines().filter(|l| l.contains(" -> ")).count(), 2);
}

/// `n` sessions of one role assumed by alice, each making one call.
fn many_sessions(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let t = |sec: usize| {
            format!(
                "2024-05-01T{:02}:{:02}:{:02}Z",
                10 + sec / 3600,
                sec / 60 % 60,
                sec % 60
            )
        };
        let arn = format!("arn:aws:sts::111122223333:assumed-role/worker/job-{i}");
        let key = format!("ASIAJOB{i:08}");
        s += &serde_json::json!({"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAALICE","userName":"alice"},"eventTime":t(2 * i),"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/worker","roleSessionName":format!("job-{i}")},"responseElements":{"credentials":{"accessKeyId":key,"expiration":"May 1, 2024, 11:00:00 PM"},"assumedRoleUser":{"arn":arn}},"eventID":format!("c-{i}"),"recipientAccountId":"111122223333"}).to_string();
        s.push('\n');
        s += &serde_json::json!({"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":arn,"accountId":"111122223333","accessKeyId":key,"sessionContext":{"attributes":{"creationDate":t(2 * i)}}},"eventTime":t(2 * i + 1),"eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":format!("u-{i}"),"recipientAccountId":"111122223333"}).to_string();
        s.push('\n');
    }
    s
}

#[test]
fn many_sessions_of_one_role_are_one_node_with_a_count() {
    let input = many_sessions(120);
    let few = run(
        &["--format", "dot", "--quiet"],
        Some(many_sessions(50).as_bytes()),
    );
    let few = String::from_utf8(few.stdout).unwrap();
    assert_eq!(
        few.lines().filter(|l| l.contains(" -> ")).count(),
        50,
        "50: drawn one by one"
    );
    let dot = String::from_utf8(run(&["--format", "dot", "--quiet"], Some(input.as_bytes())).stdout).unwrap();
    let edges: Vec<&str> = dot.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(edges.len(), 1, "{dot}");
    assert!(
        edges[0].contains("AssumeRole ×120\\nfirst 2024-05-01T10:00:00Z"),
        "{}",
        edges[0]
    );
    assert!(dot.contains("worker\\n120 sessions\\n120 calls"), "{dot}");
    assert!(dot.contains("shape=box3d"));
    let mmd =
        String::from_utf8(run(&["--format", "mermaid", "--quiet"], Some(input.as_bytes())).stdout).unwrap();
    assert_eq!(check_mermaid(&mmd), (2, 1), "{mmd}");
}

/// The graph keeps no more sessions than --max-sessions, and says how much it left out.
#[test]
fn the_graph_is_bounded_by_max_sessions() {
    let input = many_sessions(30);
    let dot = String::from_utf8(
        run(
            &["--format", "dot", "--quiet", "--max-sessions", "10"],
            Some(input.as_bytes()),
        )
        .stdout,
    )
    .unwrap();
    let nodes = dot
        .lines()
        .filter(|l| l.trim_start().starts_with("\"s") && !l.contains(" -> "));
    assert!(nodes.count() <= 20, "{dot}");
    assert!(
        dot.contains("calls of sessions past --max-sessions not drawn"),
        "{dot}"
    );
    // What a full graph leaves out is the same on every run.
    for _ in 0..3 {
        let again = run(
            &["--format", "dot", "--quiet", "--max-sessions", "10"],
            Some(input.as_bytes()),
        );
        assert_eq!(String::from_utf8(again.stdout).unwrap(), dot);
    }
}

#[test]
fn graph_on_sigusr1_while_running() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(bin())
        .args(["--format", "mermaid"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let first_line = std::fs::read_to_string(story()).unwrap();
    writeln!(stdin, "{}", first_line.lines().next().unwrap()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    Command::new("kill")
        .args(["-USR1", &child.id().to_string()])
        .status()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        stdout.read_line(&mut l).unwrap();
        lines.push(l);
    }
    assert!(
        lines[0].starts_with("%% ctail-filter: 1 origin, 0 sessions, 1 call"),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("%% solid: exact"), "{lines:?}");
    assert_eq!(lines[2], "flowchart LR\n");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

const STORY_SVG: &str = "ctail-filter --format dot examples/story.ndjson | dot -Tsvg > examples/story.svg";
const INCIDENT: &str = "ctail-filter --identity alice --format dot trail/*.json.gz | dot -Tsvg > alice.svg";
const INCIDENT_EXAMPLE: &str =
    "ctail-filter --identity alice --format dot examples/s3/*.json.gz | dot -Tsvg > alice.svg";

/// Runs `script` with sh in the repository root, ctail-filter first on the PATH.
fn sh(script: &str) {
    let out = sh_in_root(script);
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a Graphviz SVG says, without where it puts it: node and edge titles, and every text.
fn svg_content(svg: &str) -> Vec<String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(svg, options).expect("SVG parses");
    let mut all: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("title") || n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect();
    all.sort();
    all
}

/// The README draws the story with the command beside the picture, and shows the incident
/// one-liner; the committed SVG is what that command draws now (its nodes, edges and texts:
/// coordinates may differ between Graphviz versions).
#[test]
fn readme_picture_is_current() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for text in [STORY_SVG, INCIDENT, INCIDENT_EXAMPLE, "](examples/story.svg)"] {
        assert!(readme.contains(text), "README lacks {text:?}");
    }
    if !have("dot") {
        skipped("graphviz `dot` is not installed (apt-get install graphviz)");
        return;
    }
    let dir = scratch("graph-readme");
    let fresh = dir.join("story.svg");
    sh(&STORY_SVG.replace("examples/story.svg", fresh.to_str().unwrap()));
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/story.svg")).unwrap();
    assert_eq!(
        svg_content(&std::fs::read_to_string(&fresh).unwrap()),
        svg_content(&committed),
        "examples/story.svg is stale: run `{STORY_SVG}` and commit it"
    );
    let alice = dir.join("alice.svg");
    sh(&INCIDENT_EXAMPLE.replace("alice.svg", alice.to_str().unwrap()));
    let texts = svg_content(&std::fs::read_to_string(&alice).unwrap());
    for want in ["alice", "ops", "admin", "deploy"] {
        assert!(
            texts.iter().any(|t| t == want),
            "no {want} in alice's graph: {texts:?}"
        );
    }
    assert!(
        !texts.iter().any(|t| t == "readonly" || t == "app-server"),
        "{texts:?}"
    );
}

/// Mermaid's own parser, when it is at hand: `MERMAID_NODE_MODULES` names a folder where
/// `npm install mermaid@11 jsdom` was run (there is no offline Mermaid renderer: mermaid-cli
/// downloads a browser). Without it the structural check above is what runs.
#[test]
fn mermaid_parses_with_mermaid() {
    let Some(modules) = std::env::var_os("MERMAID_NODE_MODULES") else {
        skipped("MERMAID_NODE_MODULES is not set (a folder with `npm install mermaid@11 jsdom`)");
        return;
    };
    if !Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        skipped("node is not installed");
        return;
    }
    let dir = scratch("graph-mermaid");
    let files = [
        ("story.mmd", graph("mermaid", &[], &story())),
        ("hostile.mmd", graph("mermaid", &["--hold", "0"], &hostile())),
        (
            "grouped.mmd",
            String::from_utf8(run(&["--format", "mermaid", "-q"], Some(many_sessions(60).as_bytes())).stdout)
                .unwrap(),
        ),
    ];
    let mut cmd = Command::new("node");
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/mermaid_parse.mjs"))
        .env("MERMAID_NODE_MODULES", modules);
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
        cmd.arg(dir.join(name));
    }
    let out = cmd.output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(said.matches(": flowchart").count(), 3, "{said}");
}
