//! `--format summary`: instead of events, a tree per origin of the sessions it minted, with what
//! each did: "what did alice's credentials touch". Printed at the end of input and on SIGUSR1.
//!
//! ```text
//! alice  IAMUser arn:aws:iam::111122223333:user/alice
//! │  own credentials  12 calls, 1 error  2024-05-01T00:00:00Z … 2024-05-01T00:09:00Z  s3 sts
//! └─ ops  111122223333  [alice]  AssumeRole exact  3 calls …
//!    └─ admin  444455556666  [botocore-session-1]  AssumeRole exact  5 calls …  signals: another-user ×2
//! ```

use super::activity::Activity;
use super::text::{push_sanitized, short_name, Palette};
use crate::event::Event;
use crate::session::misuse::{self, Signal};
use crate::session::node::Node;
use crate::session::resolve::Chain;
use crate::session::role_session_of;
use crate::time::write_iso;
use std::collections::HashMap;
use std::rc::Rc;

/// What one session (or a principal's own credentials) did.
struct Entry {
    node: Rc<Node>,
    activity: Activity,
    /// Calls with each misuse signal, in [`misuse::NAMES`] order.
    signals: [u32; misuse::NAMES.len()],
}

/// Per-session activity, bounded by the number of sessions it keeps.
pub struct Summary {
    entries: HashMap<u64, Entry>,
    cap: usize,
    /// Sessions not summarised because the summary was full.
    pub left_out: u64,
}

/// A place in the printed tree: a principal or session, and the trie below it.
struct Branch {
    node: Rc<Node>,
    edge: Option<usize>,
    /// The sessions whose calls end here (an origin's own credentials can be several: one per
    /// long-term key).
    entries: Vec<u64>,
    children: Vec<usize>,
}

impl Summary {
    pub fn new(cap: usize) -> Self {
        Summary {
            entries: HashMap::new(),
            cap: cap.max(1),
            left_out: 0,
        }
    }

    /// Counts one call made by `node` (as session `session`).
    pub fn record(&mut self, node: &Rc<Node>, session: u64, ev: &Event<'_>, signals: &[Signal]) {
        if !self.entries.contains_key(&session) && self.entries.len() >= self.cap {
            self.left_out += 1;
            return;
        }
        let e = self.entries.entry(session).or_insert_with(|| Entry {
            node: Rc::clone(node),
            activity: Activity::default(),
            signals: [0; misuse::NAMES.len()],
        });
        for s in signals {
            if let Some(i) = misuse::NAMES.iter().position(|n| *n == s.name) {
                e.signals[i] += 1;
            }
        }
        e.activity.add(ev);
    }

    /// Writes the tree: origins in name order, each with the sessions descended from it.
    pub fn write(&self, out: &mut Vec<u8>, p: &Palette) {
        let mut branches: Vec<Branch> = Vec::new();
        let mut roots: Vec<usize> = Vec::new();
        let mut unknown_root: Option<usize> = None;
        let mut chain = Chain::default();
        // First seen first; ties by session id, so the tree is the same on every run.
        let mut ids: Vec<&u64> = self.entries.keys().collect();
        ids.sort_by_key(|id| (self.entries[*id].activity.first, **id));
        for id in ids {
            let entry = &self.entries[id];
            chain.resolve(&entry.node, None);
            // The root: the origin, or one shared "unknown origin" branch.
            let root = match &chain.origin {
                Some(o) => match roots.iter().find(|&&r| Rc::ptr_eq(&branches[r].node, o)) {
                    Some(&r) => r,
                    None => {
                        branches.push(Branch {
                            node: Rc::clone(o),
                            edge: None,
                            entries: Vec::new(),
                            children: Vec::new(),
                        });
                        roots.push(branches.len() - 1);
                        branches.len() - 1
                    }
                },
                None => *unknown_root.get_or_insert_with(|| {
                    branches.push(Branch {
                        node: Rc::clone(&entry.node),
                        edge: None,
                        entries: Vec::new(),
                        children: Vec::new(),
                    });
                    branches.len() - 1
                }),
            };
            let mut at = root;
            for hop in chain.hops.iter().rev() {
                let found = branches[at]
                    .children
                    .iter()
                    .copied()
                    .find(|&c| Rc::ptr_eq(&branches[c].node, &hop.node));
                at = match found {
                    Some(c) => c,
                    None => {
                        branches.push(Branch {
                            node: Rc::clone(&hop.node),
                            edge: hop.edge,
                            entries: Vec::new(),
                            children: Vec::new(),
                        });
                        let c = branches.len() - 1;
                        branches[at].children.push(c);
                        c
                    }
                };
            }
            branches[at].entries.push(*id);
        }
        roots.sort_by_key(|&r| {
            (
                short_name(&branches[r].node),
                branches[r].node.arn.clone(),
                branches[r].node.id,
            )
        });
        roots.extend(unknown_root);
        for r in roots {
            let b = &branches[r];
            out.extend_from_slice(p.origin.as_bytes());
            if Some(r) == unknown_root {
                out.extend_from_slice(b"(no single origin: unlinked or ambiguous)");
                out.extend_from_slice(p.reset.as_bytes());
            } else {
                push_sanitized(out, &short_name(&b.node));
                out.extend_from_slice(p.reset.as_bytes());
                out.extend_from_slice(b"  ");
                push_sanitized(out, b.node.kind.as_str());
                if let Some(a) = b.node.arn.as_deref() {
                    out.push(b' ');
                    push_sanitized(out, a);
                }
            }
            out.push(b'\n');
            if !b.entries.is_empty() {
                out.extend_from_slice("│  own credentials".as_bytes());
                self.push_activity(out, &b.entries, p);
                out.push(b'\n');
            }
            // Depth first, iteratively: (branch, prefix, last child).
            let mut stack: Vec<(usize, String, bool)> = b
                .children
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &c)| (c, String::new(), i == 0))
                .collect();
            while let Some((c, prefix, last)) = stack.pop() {
                let br = &branches[c];
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(if last { "└─ " } else { "├─ " }.as_bytes());
                self.push_session(out, br, p);
                out.push(b'\n');
                let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
                for (i, &g) in br.children.iter().rev().enumerate() {
                    stack.push((g, child_prefix.clone(), i == 0));
                }
            }
        }
        if self.left_out > 0 {
            out.extend_from_slice(
                format!(
                    "({} more sessions not summarised: raise --max-sessions)\n",
                    self.left_out
                )
                .as_bytes(),
            );
        }
    }

    fn push_session(&self, out: &mut Vec<u8>, b: &Branch, p: &Palette) {
        push_sanitized(out, &short_name(&b.node));
        if let Some(a) = b.node.account() {
            out.extend_from_slice(b"  ");
            push_sanitized(out, a);
        }
        if let Some((_, session)) = b.node.arn.as_deref().and_then(role_session_of) {
            out.extend_from_slice(b"  [");
            push_sanitized(out, session);
            out.push(b']');
        }
        if let Some(e) = b
            .edge
            .and_then(|i| b.node.creators.borrow().get(i).map(|e| (e.via, e.confidence)))
        {
            out.extend_from_slice(b"  ");
            out.extend_from_slice(e.0.as_str().unwrap_or("credentials").as_bytes());
            out.push(b' ');
            out.extend_from_slice(e.1.as_str().as_bytes());
        } else {
            let creators = b.node.creators.borrow().len();
            let (colour, what) = match creators {
                0 => (p.dim, "  unlinked".to_string()),
                n => (p.bad, format!("  collision: {n} creating events")),
            };
            out.extend_from_slice(colour.as_bytes());
            out.extend_from_slice(what.as_bytes());
            out.extend_from_slice(p.reset.as_bytes());
        }
        if !b.entries.is_empty() {
            self.push_activity(out, &b.entries, p);
        }
    }

    /// The activity of the sessions `ids`, added up.
    fn push_activity(&self, out: &mut Vec<u8>, ids: &[u64], p: &Palette) {
        let Activity {
            first,
            last,
            calls,
            errors,
            services,
            more_services: more,
        } = Activity::sum(ids.iter().map(|id| &self.entries[id].activity));
        out.extend_from_slice(format!("  {} call{}", calls, if calls == 1 { "" } else { "s" }).as_bytes());
        if errors > 0 {
            out.extend_from_slice(p.error.as_bytes());
            out.extend_from_slice(
                format!(", {} error{}", errors, if errors == 1 { "" } else { "s" }).as_bytes(),
            );
            out.extend_from_slice(p.reset.as_bytes());
        }
        out.extend_from_slice(b"  ");
        out.extend_from_slice(p.dim.as_bytes());
        write_iso(out, first);
        out.extend_from_slice(" … ".as_bytes());
        write_iso(out, last);
        out.extend_from_slice(p.reset.as_bytes());
        for s in &services {
            out.push(b' ');
            push_sanitized(out, s);
        }
        if more > 0 {
            out.extend_from_slice(format!(" +{more}").as_bytes());
        }
        let mut any = false;
        for (i, name) in misuse::NAMES.iter().enumerate() {
            let n: u32 = ids.iter().map(|id| self.entries[id].signals[i]).sum();
            if n > 0 {
                out.extend_from_slice(if any { b", ".as_slice() } else { b"  " });
                if !any {
                    out.extend_from_slice(p.bad.as_bytes());
                    out.extend_from_slice(b"signals: ");
                }
                any = true;
                out.extend_from_slice(format!("{name} ×{n}").as_bytes());
            }
        }
        if any {
            out.extend_from_slice(p.reset.as_bytes());
        }
    }
}
