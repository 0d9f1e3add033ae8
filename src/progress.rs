//! The progress line of a backfill: files done of total, events, MB/s and the time left, drawn in
//! place on stderr a few times a second. Only on a terminal and without `--quiet` (the command
//! line decides: [`crate::Config::progress`]), and only when FILEs are read: a live tail has no
//! end to count down to.

use crate::input::{Source, FILE_BYTES_READ};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Redraws per second at most.
const HZ: u8 = 4;
/// The message is rebuilt no more often than this (formatting it is the only cost).
const EVERY: Duration = Duration::from_millis(1000 / HZ as u64);

pub struct Progress {
    bar: ProgressBar,
    /// Index of each FILE among the sources, to count the files done.
    files: Vec<usize>,
    started: Instant,
    last: Option<Instant>,
}

impl Progress {
    /// A progress line over the FILEs among `sources` (their bytes on disk set the time left).
    pub fn start(sources: &[Source]) -> Option<Progress> {
        let files: Vec<usize> = (0..sources.len())
            .filter(|&i| matches!(sources[i], Source::File(_)))
            .collect();
        if files.is_empty() {
            return None;
        }
        let total: u64 = files
            .iter()
            .filter_map(|&i| match &sources[i] {
                Source::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
                _ => None,
            })
            .sum();
        let bar = ProgressBar::with_draw_target(Some(total.max(1)), ProgressDrawTarget::stderr_with_hz(HZ));
        let style = ProgressStyle::with_template("{wide_msg} {percent:>3}% ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        if let Ok(mut shown) = crate::message::PROGRESS.lock() {
            *shown = Some(bar.clone());
        }
        Some(Progress {
            bar,
            files,
            started: Instant::now(),
            last: None,
        })
    }

    /// The engine is at source `current` (files before it are done), having taken `events`
    /// records and `bytes` bytes of input (inflated).
    pub fn update(&mut self, current: usize, events: u64, bytes: u64) {
        let now = Instant::now();
        if self.last.is_some_and(|l| now.duration_since(l) < EVERY) {
            return;
        }
        self.last = Some(now);
        let done = self.files.partition_point(|&i| i < current);
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_position(FILE_BYTES_READ.load(Ordering::Relaxed));
        self.bar.set_message(format!(
            "{done}/{} files, {events} events, {:.0} MB/s",
            self.files.len(),
            bytes as f64 / 1e6 / secs
        ));
    }

    /// Clears the line (the output, `--stats` and messages are what stays on the terminal).
    pub fn finish(&self) {
        if let Ok(mut shown) = crate::message::PROGRESS.lock() {
            *shown = None;
        }
        self.bar.finish_and_clear();
    }
}
