//! The output formats, one printer each behind one interface, chosen once from the
//! configuration (as ripgrep's Standard, JSON and Summary printers are): a new format is a new
//! file under `output/` and one line in [`for_format`].

use super::annotate::{write_signals, AnnotationCache};
use super::graph::Graph;
use super::summary::Summary;
use super::text::{write_line, Palette};
use crate::config::Format;
use crate::event::{decode, Event};
use crate::session::misuse::Signal;
use crate::session::resolve::Chain;
use crate::session::Attribution;

/// One call ready to be written: its record, what the engine made of it, and its lineage as
/// resolved now.
pub struct Call<'a> {
    /// The record's original bytes up to the splice point (its closing `}` left off).
    pub text: &'a [u8],
    /// The decoded record, when it goes straight out (`None`: it was held, only its bytes kept).
    pub event: Option<&'a Event<'a>>,
    pub att: &'a Attribution,
    pub chain: &'a Chain,
    /// The annotation's `session`.
    pub session: u64,
    pub source_identity: Option<&'a str>,
    /// Misuse signals on this call (per call: never cached with the chain's annotation).
    pub signals: &'a [Signal],
}

/// A printer.
pub trait View {
    /// Writes one call into `out`; returns whether that made a record of output.
    fn event(&mut self, out: &mut Vec<u8>, call: &Call<'_>) -> bool;
    /// Something asked for what there is so far (SIGUSR1).
    fn on_request(&mut self, _out: &mut Vec<u8>) {}
    /// End of input (or shutdown): what is left to write.
    fn finish(&mut self, _out: &mut Vec<u8>) {}
}

/// The printer for `format`.
pub fn for_format(format: Format, color: bool, max_sessions: usize) -> Box<dyn View> {
    let palette = Palette::new(color);
    match format {
        Format::Json => Box::new(Json::default()),
        Format::Text => Box::new(Text { palette }),
        Format::Summary => Box::new(SummaryView {
            summary: Summary::new(max_sessions),
            palette,
        }),
        Format::Dot => Box::new(GraphView {
            graph: Graph::new(max_sessions),
            write: super::dot::write,
        }),
        Format::Mermaid => Box::new(GraphView {
            graph: Graph::new(max_sessions),
            write: super::mermaid::write,
        }),
    }
}

/// `json`: the original bytes with `"ctail":{…}` spliced in as the last member.
#[derive(Default)]
struct Json {
    annotations: AnnotationCache,
}

impl View for Json {
    fn event(&mut self, out: &mut Vec<u8>, call: &Call<'_>) -> bool {
        out.extend_from_slice(call.text);
        out.push(b',');
        self.annotations
            .write(out, call.session, call.chain, call.source_identity);
        if !call.signals.is_empty() {
            // The cached annotation ends with its `}`: the call's own signals go inside it.
            out.pop();
            write_signals(out, call.signals);
            out.push(b'}');
        }
        out.extend_from_slice(b"}\n");
        true
    }
}

/// `text`: one sanitised line per event.
struct Text {
    palette: Palette,
}

impl View for Text {
    fn event(&mut self, out: &mut Vec<u8>, call: &Call<'_>) -> bool {
        with_event(call, |ev| {
            write_line(out, ev, call.chain, call.signals, &self.palette)
        });
        true
    }
}

/// `summary`: nothing per event; the tree at the end and on request.
struct SummaryView {
    summary: Summary,
    palette: Palette,
}

impl View for SummaryView {
    fn event(&mut self, _out: &mut Vec<u8>, call: &Call<'_>) -> bool {
        if let Some(node) = &call.att.node {
            let summary = &mut self.summary;
            with_event(call, |ev| summary.record(node, call.session, ev, call.signals));
        }
        false
    }

    fn on_request(&mut self, out: &mut Vec<u8>) {
        self.summary.write(out, &self.palette);
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        self.summary.write(out, &self.palette);
    }
}

/// `dot` and `mermaid`: nothing per event; the session graph at the end and on request, in the
/// syntax `write` gives it.
struct GraphView {
    graph: Graph,
    write: fn(&mut Vec<u8>, &super::graph::Model),
}

impl View for GraphView {
    fn event(&mut self, _out: &mut Vec<u8>, call: &Call<'_>) -> bool {
        // The session that made the call: the first hop (a stand-in's real session), else the
        // origin calling with its own credentials.
        let node = call
            .chain
            .hops
            .first()
            .map(|h| &h.node)
            .or(call.chain.origin.as_ref())
            .or(call.att.node.as_ref());
        if let Some(node) = node {
            // The graph marks the sessions of flagged calls (rare: a list only then).
            let names: Vec<&str> = call.signals.iter().map(|s| s.name).collect();
            let graph = &mut self.graph;
            with_event(call, |ev| graph.record(node, ev, &names));
        }
        if let Some(minted) = &call.att.minted {
            self.graph.minted(minted);
        }
        false
    }

    fn on_request(&mut self, out: &mut Vec<u8>) {
        (self.write)(out, &self.graph.model());
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        (self.write)(out, &self.graph.model());
    }
}

/// Runs `f` with the call's decoded record: a held call kept only its bytes, so it is decoded
/// again (it decoded before it was held; were it not to now, the line still goes out, with its
/// lineage and without the record's own fields).
fn with_event<R>(call: &Call<'_>, f: impl FnOnce(&Event<'_>) -> R) -> R {
    if let Some(ev) = call.event {
        return f(ev);
    }
    let mut record = call.text.to_vec();
    record.push(b'}');
    let text = String::from_utf8(record).unwrap_or_default();
    match decode(&text) {
        Ok(ev) => f(&ev),
        Err(_) => f(&Event::default()),
    }
}
