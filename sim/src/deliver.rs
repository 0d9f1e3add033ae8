//! Delivery as a reader sees it (§5): late, out of order, sometimes twice.

use crate::ids;
use crate::rng::Rng;
use crate::SimEvent;

/// How the stream reaches the reader.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub seed: u64,
    /// Longest delay between eventTime and arrival (CloudTrail: about 15 minutes).
    pub max_delay_secs: i64,
    /// Fraction of events delivered a second time, later.
    pub duplicate_rate: f64,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            seed: 1,
            max_delay_secs: 900,
            duplicate_rate: 0.01,
        }
    }
}

/// The stream in arrival order: each event delayed by 0..=max (most near 5 min), duplicates
/// arriving after their first copy. The two copies of a cross-account call are delayed
/// independently, so either may come first.
pub fn deliver(events: &[SimEvent], d: &Delivery) -> Vec<SimEvent> {
    delivery_order(events, d)
        .into_iter()
        .map(|i| events[i].clone())
        .collect()
}

/// Indices into `events` in arrival order (an index appears twice for a duplicate). Lets a
/// caller write a large stream without cloning it.
pub fn delivery_order(events: &[SimEvent], d: &Delivery) -> Vec<usize> {
    arrivals(events, d).into_iter().map(|(_, i)| i).collect()
}

/// As [`delivery_order`], with each event's arrival time (Unix seconds): what a writer of S3
/// trail files groups into files (one per few minutes, named by their delivery time).
pub fn arrivals(events: &[SimEvent], d: &Delivery) -> Vec<(i64, usize)> {
    let mut rng = Rng::new(d.seed);
    let max = d.max_delay_secs.max(0);
    // CloudTrail's ~5 minute typical delay, shrunk when the caller asks for less.
    let typical = (max / 2).min(300) as f64;
    let mut arrivals: Vec<(i64, u64, usize)> = Vec::with_capacity(events.len() + events.len() / 50);
    let mut last = 0;
    for (i, e) in events.iter().enumerate() {
        let t = event_time(&e.json).unwrap_or(last);
        last = t;
        let delay = if rng.chance(0.9) {
            // Mean of three uniforms: a bump centred on the typical delay.
            let bump = (rng.f64() + rng.f64() + rng.f64()) / 3.0;
            (typical * (0.4 + 1.2 * bump)) as i64
        } else {
            rng.range(0, max)
        }
        .clamp(0, max);
        let (at, tie) = (t + delay, rng.u64() >> 1);
        arrivals.push((at, tie, i));
        if d.duplicate_rate > 0.0 && rng.chance(d.duplicate_rate) {
            // Later than the first copy, but still within the maximum delay (so a reader's
            // reordering window covers duplicates too); at the limit, same second, after it.
            if at < t + max {
                arrivals.push((rng.range(at + 1, t + max), rng.u64() >> 1, i));
            } else {
                arrivals.push((at, tie + 1, i));
            }
        }
    }
    // The random second key shuffles events that arrive in the same second.
    arrivals.sort_unstable();
    arrivals.into_iter().map(|(at, _, i)| (at, i)).collect()
}

/// `eventTime` of a record written by this crate.
pub(crate) fn event_time(json: &str) -> Option<i64> {
    const KEY: &str = "\"eventTime\":\"";
    let at = json.find(KEY)? + KEY.len();
    ids::parse_iso(json.get(at..at + 20)?)
}
