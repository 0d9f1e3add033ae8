//! Messages on stderr that can never stop the run.
//!
//! `eprintln!` panics when stderr cannot be written (a shipper that closed the command's stderr
//! gets exit 101 and loses the state save). Here a message that cannot be written is lost, and
//! nothing else: the output, the state and the exit status stay what they would have been.

use std::io::Write;

/// Writes one line to stderr, whole (one `write` for the line, under the lock), and ends
/// quietly on any error. Use it through [`eprintln_locked!`](crate::eprintln_locked).
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut text = args.to_string();
    text.push('\n');
    // A closed or full-and-broken stderr is no reason to stop: the message is best effort.
    let write = || {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    };
    // The progress line, if one is drawn, steps aside for the message and is drawn again below.
    match PROGRESS.lock().ok().as_deref().and_then(Option::as_ref) {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// The progress line being drawn on stderr (crate::progress), which messages must not overwrite.
pub(crate) static PROGRESS: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// `eprintln!` that never panics: writes to a locked stderr and ends quietly on any error
/// (ripgrep's `eprintln_locked!`, without its exit on a broken pipe: here stderr closing is
/// not the end of the run).
#[macro_export]
macro_rules! eprintln_locked {
    ($($arg:tt)*) => {
        $crate::message::line(format_args!($($arg)*))
    };
}
