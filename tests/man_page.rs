//! man/ctail-filter.1 is generated from the clap definitions; this fails when it is stale.
//! Regenerate with `UPDATE_MAN=1 cargo test man_page`.

use clap::CommandFactory;
use ctail_filter::cli::Cli;

/// clap's sections (the options come from the flag definitions themselves), then the prose
/// sections kept in man/sections.roff.
fn render() -> Vec<u8> {
    let man = clap_mangen::Man::new(Cli::command());
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    out.extend_from_slice(include_bytes!("../man/sections.roff"));
    man.render_version_section(&mut out).unwrap();
    out
}

#[test]
fn man_page_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("man/ctail-filter.1");
    let fresh = render();
    if std::env::var_os("UPDATE_MAN").is_some() {
        std::fs::write(&path, &fresh).expect("write man page");
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "man/ctail-filter.1 is stale: run `UPDATE_MAN=1 cargo test man_page` and commit it"
    );
}

#[test]
fn man_page_documents_every_flag_and_annotation_field() {
    let page = String::from_utf8(render()).unwrap();
    for arg in Cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            assert!(
                page.contains(&format!("\\-\\-{}", long.replace('-', "\\-"))),
                "--{long} missing from the man page"
            );
        }
    }
    for field in [
        "session",
        "origin",
        "chain",
        "confidence",
        "candidates",
        "reason",
        "sourceIdentity",
        "sourceIdentityMismatch",
        "truncated",
        "signals",
        "another\\-user",
        "two\\-places\\-at\\-once",
        "instance\\-credentials\\-elsewhere",
        "used\\-after\\-revocation",
        "attack\\-tool",
        "via",
        "eventID",
    ] {
        assert!(
            page.contains(field),
            "annotation field {field} missing from the man page"
        );
    }
    for section in ["EXIT STATUS", "INPUT SHAPES", "ANNOTATION"] {
        assert!(page.contains(section), "{section} missing from the man page");
    }
    // The NAME line and DESCRIPTION come from the doc comment on `Cli`: a constant declared
    // between the two once took it, and they were empty.
    assert!(
        page.contains("ctail\\-filter \\- Annotate CloudTrail events"),
        "the man page's NAME has no description"
    );
}

#[test]
fn man_page_documents_every_stats_field() {
    let page = String::from_utf8(render())
        .unwrap()
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fR", "");
    let run = crate::util::run(&["--stats"], Some(b""));
    let stats: serde_json::Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    for key in stats.as_object().unwrap().keys() {
        assert!(
            page.contains(key.as_str()),
            "--stats field {key} missing from the man page"
        );
    }
}

#[test]
fn readme_names_every_flag() {
    let readme =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for arg in Cli::command().get_arguments() {
        if let Some(long) = arg.get_long().filter(|l| !["help", "version"].contains(l)) {
            assert!(
                readme.contains(&format!("--{long}")),
                "--{long} missing from README.md"
            );
        }
    }
}

/// `--help` and the man page open with what the program does (the doc comment of `Cli`).
#[test]
fn help_and_man_page_say_what_it_does() {
    let help = crate::util::run(&["--help"], None);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.starts_with("Annotate CloudTrail events with the person or service really behind each call."),
        "--help starts with: {}",
        text.lines().next().unwrap_or("")
    );
    assert!(
        text.contains("the event that created it"),
        "--help has no long description"
    );
    let man = String::from_utf8(render()).unwrap();
    let name = man.split(".SH NAME").nth(1).expect("NAME section");
    assert!(
        name.contains("Annotate CloudTrail events"),
        "man NAME: {}",
        &name[..80.min(name.len())]
    );
    assert!(man.contains(".SH DESCRIPTION"), "man page has no DESCRIPTION");
}
