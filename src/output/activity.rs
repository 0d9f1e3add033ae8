//! What one session did, added up call by call: first and last call, calls, errors and the
//! services it touched. Shared by the views that keep it per session (summary, dot, mermaid), so
//! every one of them counts the same way and keeps as little.

use crate::event::Event;
use crate::time::{parse_time, Epoch};

/// Distinct services listed per session before the rest are only counted.
const SERVICES: usize = 8;

/// One session's calls, bounded: a few numbers and at most [`SERVICES`] short names.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub first: Epoch,
    pub last: Epoch,
    pub calls: u64,
    pub errors: u64,
    pub services: Vec<Box<str>>,
    /// Services beyond the first [`SERVICES`], counted.
    pub more_services: u64,
}

impl Activity {
    /// Counts one call.
    pub fn add(&mut self, ev: &Event<'_>) {
        let t = ev.time_str().and_then(parse_time).unwrap_or(0);
        if self.calls == 0 {
            (self.first, self.last) = (t, t);
        }
        self.first = self.first.min(t);
        self.last = self.last.max(t);
        self.calls += 1;
        self.errors += u64::from(ev.error_code.get().is_some());
        if let Some(s) = ev.event_source.get() {
            let s = s.strip_suffix(".amazonaws.com").unwrap_or(s);
            if !self.services.iter().any(|x| &**x == s) {
                if self.services.len() < SERVICES {
                    self.services.push(s.into());
                } else {
                    self.more_services += 1;
                }
            }
        }
    }

    /// Adds up several sessions' activity: calls and errors summed, the time span joined, the
    /// services listed once each, in name order.
    pub fn sum<'a>(all: impl Iterator<Item = &'a Activity>) -> Activity {
        let mut total = Activity::default();
        for a in all.filter(|a| a.calls > 0) {
            if total.calls == 0 {
                (total.first, total.last) = (a.first, a.last);
            }
            total.first = total.first.min(a.first);
            total.last = total.last.max(a.last);
            total.calls += a.calls;
            total.errors += a.errors;
            total.more_services += a.more_services;
            total.services.extend(a.services.iter().cloned());
        }
        total.services.sort_unstable();
        total.services.dedup();
        total
    }
}
