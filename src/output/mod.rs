//! Output: records with the annotation spliced in, block-buffered; rejects; messages.

pub mod activity;
pub mod annotate;
pub mod dot;
pub mod graph;
pub mod mermaid;
pub mod summary;
pub mod text;
pub mod view;

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// Bytes buffered before a write to stdout, unless input goes idle first.
const BLOCK: usize = 64 * 1024;

/// Standard output, block-buffered by hand: one `write` per block, a flush whenever the input has
/// nothing more ready (the pipeline's call), or per record with `--line-buffered`.
pub struct Output<W: Write> {
    buf: Vec<u8>,
    sink: W,
    line_buffered: bool,
    pub records: u64,
    pub bytes: u64,
}

impl<W: Write> Output<W> {
    pub fn new(sink: W, line_buffered: bool) -> Self {
        Output {
            buf: Vec::with_capacity(BLOCK + 16 * 1024),
            sink,
            line_buffered,
            records: 0,
            bytes: 0,
        }
    }

    /// The buffer to write the next record into; call [`Output::end_record`] after.
    #[inline]
    pub fn buf(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Ends a record written into [`Output::buf`] (its newline included).
    #[inline]
    pub fn end_record(&mut self, len: usize) -> io::Result<()> {
        self.records += 1;
        self.bytes += len as u64;
        if self.line_buffered || self.buf.len() >= BLOCK {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.sink.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.sink.flush()
    }
}

/// `--reject FILE`: bad records, verbatim, one per line, so nothing read is lost.
pub struct Reject {
    file: BufWriter<File>,
}

impl Reject {
    pub fn create(path: &std::path::Path) -> io::Result<Self> {
        Ok(Reject {
            file: BufWriter::new(File::create(path)?),
        })
    }

    pub fn write(&mut self, bytes: &[u8], end: bool) -> io::Result<()> {
        self.file.write_all(bytes)?;
        if end {
            self.file.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// How many bad-record messages are printed before they are only counted.
const SHOWN: u64 = 20;

/// Messages on stderr: `ctail-filter: FILE:LINE: what`, rate-limited.
#[derive(Default)]
pub struct Reporter {
    pub quiet: bool,
    pub bad_records: u64,
    pub warnings: u64,
}

impl Reporter {
    pub fn bad_record(&mut self, input: &str, line: u64, what: &dyn std::fmt::Display) {
        self.bad_records += 1;
        if self.quiet {
            return;
        }
        if self.bad_records <= SHOWN {
            crate::eprintln_locked!("ctail-filter: {input}:{line}: {what}");
        } else if self.bad_records == SHOWN + 1 {
            crate::eprintln_locked!(
                "ctail-filter: more bad records follow; only their count is reported (see --stats)"
            );
        }
    }

    pub fn warning(&mut self, what: &str) {
        self.warnings += 1;
        if !self.quiet && self.warnings <= SHOWN {
            crate::eprintln_locked!("ctail-filter: warning: {what}");
        }
    }

    /// Said at the end, so a count that was cut short is not mistaken for the whole.
    pub fn finish(&self) {
        if !self.quiet && self.bad_records > SHOWN {
            crate::eprintln_locked!(
                "ctail-filter: {} bad records in all ({} shown)",
                self.bad_records,
                SHOWN
            );
        }
    }

    /// Fatal errors are printed even with `--quiet`.
    pub fn error(&self, what: &dyn std::fmt::Display) {
        crate::eprintln_locked!("ctail-filter: {what}");
    }
}
