//! `--format text`: one line per event for a person at a terminal.
//!
//! ```text
//! 2024-05-01T00:00:05Z  alice ⇒ ops ⇒ 444455556666:admin  [botocore-session-1]  s3:GetObject  198.51.100.7
//! 2024-05-01T00:07:00Z  alice ⇒ ops  [alice]  sts:GetCallerIdentity  198.51.100.66  !another-user,two-places-at-once
//! ```
//! Every string taken from an event is attacker-controlled (user agents, session names, error
//! messages): control characters (C0, DEL, C1), and the bidirectional overrides that reorder
//! what a terminal shows, are written escaped and never reach the terminal raw.

use crate::event::Event;
use crate::session::misuse::Signal;
use crate::session::node::{Confidence, Kind, Node};
use crate::session::resolve::Chain;
use crate::session::role_session_of;

/// Colours, as ANSI SGR sequences; all empty when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub dim: &'static str,
    pub origin: &'static str,
    pub event: &'static str,
    pub error: &'static str,
    pub warn: &'static str,
    pub bad: &'static str,
    pub reset: &'static str,
}

impl Palette {
    pub const PLAIN: Palette = Palette {
        dim: "",
        origin: "",
        event: "",
        error: "",
        warn: "",
        bad: "",
        reset: "",
    };
    pub const ANSI: Palette = Palette {
        dim: "\x1b[2m",
        origin: "\x1b[1;36m",
        event: "\x1b[32m",
        error: "\x1b[31m",
        warn: "\x1b[33m",
        bad: "\x1b[1;35m",
        reset: "\x1b[0m",
    };

    pub fn new(color: bool) -> Self {
        if color {
            Palette::ANSI
        } else {
            Palette::PLAIN
        }
    }
}

/// Appends `s` with everything that could act on a terminal escaped: C0 controls, DEL and C1
/// controls as `\xNN`, bidirectional and other invisible format characters as `\u{NNNN}`, and
/// backslash itself doubled so an escape in the data cannot pass for one of ours.
pub fn push_sanitized(out: &mut Vec<u8>, s: &str) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '\\' => Some(None),
            '\u{00}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {
                Some(Some(format_args!("\\x{:02x}", c as u32).to_string()))
            }
            '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' => {
                Some(Some(format!("\\u{{{:04x}}}", c as u32)))
            }
            _ => None,
        };
        if let Some(e) = escape {
            out.extend_from_slice(&s.as_bytes()[start..i]);
            match e {
                None => out.extend_from_slice(b"\\\\"),
                Some(e) => out.extend_from_slice(e.as_bytes()),
            }
            start = i + c.len_utf8();
        }
    }
    out.extend_from_slice(&s.as_bytes()[start..]);
}

/// How a node reads in a chain: a role session by its role, a user or subject by its name.
pub fn short_name(n: &Node) -> String {
    if let Some((role, _)) = n.arn.as_deref().and_then(role_session_of) {
        return role.to_owned();
    }
    if n.kind == Kind::Root || n.arn.as_deref().is_some_and(|a| a.ends_with(":root")) {
        return format!("root@{}", n.account().unwrap_or("?"));
    }
    if let Some(name) = n.name().or(n.alias().as_deref()) {
        if let Some(i) = n.extra().and_then(|x| x.instance.as_deref()) {
            return i.to_owned();
        }
        return name.to_owned();
    }
    if let Some(x) = n.extra() {
        if let Some(v) = x
            .instance
            .as_deref()
            .or(x.user_id.as_deref())
            .or(x.principal_id.get().map(|p| &**p))
        {
            return v.to_owned();
        }
    }
    n.arn.as_deref().or(n.account()).unwrap_or("?").to_owned()
}

/// `alice ⇒ ops ⇒ 444455556666:admin`: the origin, then each hop; a hop in another account than
/// the one before it is prefixed with that account.
fn push_lineage(out: &mut Vec<u8>, chain: &Chain, p: &Palette) {
    let mut account: Option<String> = None;
    out.extend_from_slice(p.origin.as_bytes());
    match (&chain.origin, chain.confidence()) {
        (Some(o), _) => {
            push_sanitized(out, &short_name(o));
            account = o.account().map(str::to_owned);
        }
        (None, Confidence::Ambiguous) => {
            out.push(b'{');
            for (i, c) in chain.candidates.iter().enumerate() {
                if i > 0 {
                    out.push(b'|');
                }
                push_sanitized(out, &short_name(c));
            }
            out.push(b'}');
        }
        (None, _) => out.push(b'?'),
    }
    out.extend_from_slice(p.reset.as_bytes());
    for hop in chain.hops.iter().rev() {
        out.extend_from_slice(" ⇒ ".as_bytes());
        let acct = hop.node.account();
        if acct.is_some() && acct != account.as_deref() {
            push_sanitized(out, acct.unwrap_or(""));
            out.push(b':');
            account = acct.map(str::to_owned);
        }
        push_sanitized(out, &short_name(&hop.node));
    }
}

/// Writes one event as a line of text.
pub fn write_line(out: &mut Vec<u8>, ev: &Event<'_>, chain: &Chain, signals: &[Signal], p: &Palette) {
    out.extend_from_slice(p.dim.as_bytes());
    push_sanitized(out, ev.time_str().unwrap_or("-"));
    out.extend_from_slice(p.reset.as_bytes());
    out.extend_from_slice(b"  ");
    push_lineage(out, chain, p);
    if let Some(session) = chain
        .hops
        .first()
        .and_then(|h| h.node.arn.as_deref())
        .and_then(role_session_of)
    {
        out.extend_from_slice(b"  [");
        push_sanitized(out, session.1);
        out.push(b']');
    }
    out.extend_from_slice(b"  ");
    let failed = ev.error_code.get().is_some();
    out.extend_from_slice(if failed { p.error } else { p.event }.as_bytes());
    let source = ev.event_source.get().unwrap_or("?");
    push_sanitized(out, source.strip_suffix(".amazonaws.com").unwrap_or(source));
    out.push(b':');
    push_sanitized(out, ev.event_name.get().unwrap_or("?"));
    out.extend_from_slice(p.reset.as_bytes());
    if let Some(ip) = ev.source_ip.get() {
        out.extend_from_slice(b"  ");
        push_sanitized(out, ip);
    }
    if let Some(code) = ev.error_code.get() {
        out.extend_from_slice(b"  ");
        out.extend_from_slice(p.error.as_bytes());
        push_sanitized(out, code);
        out.extend_from_slice(p.reset.as_bytes());
    }
    let (marker, colour) = match chain.confidence() {
        Confidence::Exact => ("", ""),
        Confidence::Heuristic => ("  ~heuristic", p.warn),
        Confidence::Ambiguous => ("  ?ambiguous", p.bad),
        Confidence::Unlinked => ("  !unlinked", p.dim),
    };
    if !marker.is_empty() {
        out.extend_from_slice(colour.as_bytes());
        out.extend_from_slice(marker.as_bytes());
        out.extend_from_slice(p.reset.as_bytes());
    }
    for (i, s) in signals.iter().enumerate() {
        out.extend_from_slice(p.bad.as_bytes());
        out.extend_from_slice(if i == 0 {
            b"  !".as_slice()
        } else {
            b",".as_slice()
        });
        out.extend_from_slice(s.name.as_bytes());
        out.extend_from_slice(p.reset.as_bytes());
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        let mut out = Vec::new();
        push_sanitized(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn control_characters_never_pass() {
        assert_eq!(clean("ok"), "ok");
        assert_eq!(clean("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(
            clean("\u{9b}31m\u{7f}\r\n\t\0"),
            "\\x9b31m\\x7f\\x0d\\x0a\\x09\\x00"
        );
        assert_eq!(clean("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(clean("a\\x1b"), "a\\\\x1b");
        assert_eq!(clean("Zürich ⇒ 東京"), "Zürich ⇒ 東京");
        for c in (0u32..0x10000).filter_map(char::from_u32) {
            let out = clean(&c.to_string());
            assert!(!out.chars().any(|o| o.is_control()), "{c:?} -> {out:?}");
        }
    }
}
