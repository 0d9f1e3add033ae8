//! `--dedupe`: drop a record whose (eventID, recipientAccountId) was seen recently.
//!
//! Memory is bounded: two generations of ids; when the young one is full, the old one is
//! forgotten. So at least `capacity` and at most twice that many recent ids are remembered
//! (CloudTrail's duplicates arrive close together: a re-delivered file, an overlapping source).

use std::collections::HashSet;

pub struct Dedupe {
    young: HashSet<u64>,
    old: HashSet<u64>,
    capacity: usize,
    pub dropped: u64,
}

impl Dedupe {
    pub fn new(capacity: usize) -> Self {
        Dedupe {
            young: HashSet::new(),
            old: HashSet::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    /// Whether `id` was seen before; remembers it either way. `0` (no eventID) is never a duplicate.
    pub fn seen(&mut self, id: u64) -> bool {
        if id == 0 {
            return false;
        }
        if self.young.contains(&id) || self.old.contains(&id) {
            self.dropped += 1;
            return true;
        }
        if self.young.len() >= self.capacity {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(id);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_between_capacity_and_twice_it() {
        let mut d = Dedupe::new(3);
        for i in 1..=7 {
            assert!(!d.seen(i));
        }
        // 4..=6 are the old generation now, 7 the young one; 1..=3 are forgotten.
        assert!(d.seen(4) && d.seen(7));
        assert!(!d.seen(1));
        assert!(!d.seen(0) && !d.seen(0));
        assert_eq!(d.dropped, 2);
    }
}
