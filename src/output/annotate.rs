//! The annotation contract, written straight into the output buffer.
//!
//! ```text
//! "ctail": {
//!   "session":    "<16 hex digits: stable id of the session that made this call>" | null,
//!   "origin":     {"type": "IAMUser", "arn": "...", "name": "alice", "account": "..."} | null,
//!   "chain":      [ {"session", "type", "arn", "name", "account", "via", "eventID"}, ... ],
//!   "confidence": "exact" | "heuristic" | "ambiguous" | "unlinked",
//!   "reason":     "<why a heuristic was needed>",          (heuristic only)
//!   "candidates": [ <origin>, ... ],                       (ambiguous only)
//!   "sourceIdentity": "...", "sourceIdentityMismatch": true (when the call carries one)
//!   "truncated": true                                      (chain longer than 64 hops)
//!   "signals": [ {"signal": "another-user", "why": "..."} ] (misuse signals of this call)
//! }
//! ```
//! Field names are what users script against: extend, never rename. The man page documents each.

use crate::session::misuse::Signal;
use crate::session::node::{Confidence, Node};
use crate::session::resolve::Chain;

/// Writes `s` as a JSON string literal, escaping what JSON requires and nothing else.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(c >> 4) as usize]);
            out.push(HEX[(c & 15) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Writes a session id as 16 lower-case hex digits in quotes.
pub fn write_id(out: &mut Vec<u8>, id: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for shift in (0..16).rev() {
        out.push(HEX[((id >> (shift * 4)) & 15) as usize]);
    }
    out.push(b'"');
}

fn field(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.push(b',');
        write_str(out, name);
        out.push(b':');
        write_str(out, v);
    }
}

/// An origin (or a candidate): type plus whichever fields identify it.
pub fn write_origin(out: &mut Vec<u8>, n: &Node) {
    out.extend_from_slice(b"{\"type\":");
    write_str(out, n.kind.as_str());
    field(out, "arn", n.arn.as_deref());
    match n.name() {
        Some(name) => field(out, "name", Some(name)),
        None => field(out, "name", n.alias().as_deref()),
    }
    field(out, "account", n.account());
    if let Some(x) = n.extra() {
        field(out, "provider", x.provider.as_deref());
        field(out, "userId", x.user_id.as_deref());
        field(out, "instance", x.instance.as_deref());
        field(out, "principalId", x.principal_id.get().map(|p| &**p));
    }
    if !n.origin {
        // A candidate that is not an origin: the topmost session known, itself unlinked.
        out.extend_from_slice(b",\"session\":");
        write_id(out, n.id);
    }
    out.push(b'}');
}

/// One hop: the session, and the creating event that linked it to the hop before it.
fn write_hop(out: &mut Vec<u8>, n: &Node, edge: Option<usize>) {
    out.extend_from_slice(b"{\"session\":");
    write_id(out, n.id);
    field(out, "type", Some(n.kind.as_str()));
    field(out, "arn", n.arn.as_deref());
    field(out, "name", n.name());
    field(out, "account", n.account());
    if let Some(i) = edge {
        let creators = n.creators.borrow();
        if let Some(e) = creators.get(i) {
            field(out, "via", e.via.as_str());
            if !e.event_id.is_empty() {
                field(out, "eventID", Some(&e.event_id));
            }
            if e.confidence != Confidence::Exact {
                field(out, "confidence", Some(e.confidence.as_str()));
            }
        }
    }
    out.push(b'}');
}

/// Writes `"ctail":{…}` (without a leading comma) for a call resolved to `chain`.
pub fn write_annotation(out: &mut Vec<u8>, session: u64, chain: &Chain, source_identity: Option<&str>) {
    out.extend_from_slice(b"\"ctail\":{\"session\":");
    if session == 0 {
        // A record that names no identity was made by no session we can name.
        out.extend_from_slice(b"null");
    } else {
        write_id(out, session);
    }
    out.extend_from_slice(b",\"origin\":");
    match &chain.origin {
        Some(o) => write_origin(out, o),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"chain\":[");
    for (i, hop) in chain.hops.iter().rev().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_hop(out, &hop.node, hop.edge);
    }
    out.extend_from_slice(b"],\"confidence\":");
    let conf = chain.confidence();
    write_str(out, conf.as_str());
    if conf == Confidence::Heuristic {
        field(out, "reason", chain.reason.map(|r| r.as_str()));
    }
    if conf == Confidence::Ambiguous {
        out.extend_from_slice(b",\"candidates\":[");
        for (i, c) in chain.candidates.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_origin(out, c);
        }
        out.push(b']');
    }
    if let Some(si) = source_identity {
        field(out, "sourceIdentity", Some(si));
        if let Some(o) = &chain.origin {
            if !source_identity_agrees(si, o) {
                out.extend_from_slice(b",\"sourceIdentityMismatch\":true");
            }
        }
    }
    if chain.truncated {
        out.extend_from_slice(b",\"truncated\":true");
    }
    out.push(b'}');
}

/// Writes `,"signals":[{"signal":…,"why":…},…]`: a call's misuse signals (see
/// `session::misuse`), present only when there is something to say.
pub fn write_signals(out: &mut Vec<u8>, signals: &[Signal]) {
    out.extend_from_slice(b",\"signals\":[");
    for (i, s) in signals.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"signal\":");
        write_str(out, s.name);
        out.extend_from_slice(b",\"why\":");
        write_str(out, &s.why);
        out.push(b'}');
    }
    out.push(b']');
}

/// Whether a session's sourceIdentity could name its reconstructed origin: equal to one of its
/// names, ignoring case, or to the local part of an e-mail subject.
fn source_identity_agrees(si: &str, origin: &Node) -> bool {
    let x = origin.extra();
    let names = [
        origin.name(),
        origin.arn.as_deref(),
        x.and_then(|x| x.user_id.as_deref()),
        x.and_then(|x| x.instance.as_deref()),
    ];
    names.into_iter().flatten().any(|n| {
        n.eq_ignore_ascii_case(si)
            || n.split('@')
                .next()
                .is_some_and(|local| local.eq_ignore_ascii_case(si))
    }) || si.split('@').next().is_some_and(|local| {
        origin
            .name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(local))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_json_requires() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\n\u{1b}[31mé\u{7f}");
        let s = std::str::from_utf8(&out).unwrap();
        assert_eq!(s, r#""a\"b\\c\n\u001b[31mé""#.replace("é\"", "é\u{7f}\""));
        let back: String = serde_json::from_str(s).unwrap();
        assert_eq!(back, "a\"b\\c\n\u{1b}[31mé\u{7f}");
    }

    #[test]
    fn ids_are_sixteen_hex_digits() {
        let mut out = Vec::new();
        write_id(&mut out, 0xab);
        assert_eq!(out, b"\"00000000000000ab\"");
    }
}

/// Recently written annotations. A session's annotation is the same for each of its calls until
/// its lineage changes, and writing one (escaping every ARN) costs more than decoding the event;
/// so each is written once and copied after. An entry is keyed on everything the annotation is
/// made of: the session id, the source identity, and the chain's fingerprint (each node by its
/// never-reused serial and its version, the edges taken, the verdict), so an entry can never be
/// served for another session, nor for a lineage that has changed since. Direct-mapped and fixed
/// in size: no allocation once warm.
pub struct AnnotationCache {
    slots: Vec<Slot>,
    /// The fingerprint of the chain being written (reused).
    key: Vec<u64>,
    /// Debug builds write every hit afresh here and compare (reused).
    check: Vec<u8>,
}

/// Annotations longer than this are not cached: 256 slots hold at most 1 MiB.
const MAX_CACHED: usize = 4096;

#[derive(Default)]
struct Slot {
    live: bool,
    session: u64,
    key: Vec<u64>,
    source_identity: Option<Box<str>>,
    bytes: Vec<u8>,
}

impl Default for AnnotationCache {
    fn default() -> Self {
        AnnotationCache {
            slots: (0..256).map(|_| Slot::default()).collect(),
            key: Vec::new(),
            check: Vec::new(),
        }
    }
}

impl AnnotationCache {
    /// Appends `"ctail":{…}` for a call of `session` resolved to `chain`, from the cache when it
    /// holds it.
    pub fn write(&mut self, out: &mut Vec<u8>, session: u64, chain: &Chain, source_identity: Option<&str>) {
        chain.fingerprint(&mut self.key);
        let head = self.key.get(2).copied().unwrap_or(0);
        let i = (session ^ head.rotate_left(17)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56;
        let slot = &mut self.slots[i as usize];
        let hit = slot.live
            && slot.session == session
            && slot.key == self.key
            && slot.source_identity.as_deref() == source_identity;
        if hit {
            out.extend_from_slice(&slot.bytes);
            if cfg!(debug_assertions) {
                self.check.clear();
                write_annotation(&mut self.check, session, chain, source_identity);
                assert_eq!(
                    String::from_utf8_lossy(&slot.bytes),
                    String::from_utf8_lossy(&self.check),
                    "a cached annotation differs from a fresh one"
                );
            }
            return;
        }
        let start = out.len();
        write_annotation(out, session, chain, source_identity);
        let written = out.len() - start;
        if written > MAX_CACHED {
            // A huge annotation (a megabyte-long session name) is written each time instead of
            // pinning that much memory in a slot.
            slot.live = false;
            return;
        }
        if slot.bytes.capacity() > MAX_CACHED {
            slot.bytes = Vec::new();
        }
        slot.live = true;
        slot.session = session;
        slot.key.clear();
        slot.key.extend_from_slice(&self.key);
        if slot.source_identity.as_deref() != source_identity {
            slot.source_identity = source_identity.map(Into::into);
        }
        slot.bytes.clear();
        slot.bytes.extend_from_slice(&out[start..]);
    }
}
