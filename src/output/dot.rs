//! `--format dot`: the session graph ([`super::graph::Model`]) in Graphviz's DOT language.
//!
//! Every label is a double-quoted string: a quote or backslash in it is escaped (a backslash
//! doubled, so `\N`, `\G` or `\l` from an event stay text), and `&` is written `&amp;`, since
//! Graphviz reads HTML entities even in plain labels. Node and cluster ids are our own (hex ids,
//! indices), never an event's string, so nothing from an event stands outside a quoted label.

use super::graph::{Cluster, Link, Model, Vertex};

const WARN: &str = "#d97706";
const SIGNAL: &str = "#dc2626";

/// Writes the model as one `digraph`.
pub fn write(out: &mut Vec<u8>, m: &Model) {
    out.extend_from_slice(b"digraph ctail {\n");
    out.extend_from_slice(
        b"  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, labelloc=t, labeljust=l, label=",
    );
    // The caption's lines left-justified (`\\l` ends each), the labels' centred.
    out.push(b'"');
    for line in &m.caption {
        escape(out, line);
        out.extend_from_slice(b"\\l");
    }
    out.push(b'"');
    out.extend_from_slice(b"];\n");
    out.extend_from_slice(
        b"  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", fontsize=10];\n",
    );
    out.extend_from_slice(b"  edge [fontname=\"Helvetica\", fontsize=9, color=\"#374151\"];\n");
    for (i, c) in m.clusters.iter().enumerate() {
        cluster(out, i, c);
    }
    for l in &m.links {
        link(out, l);
    }
    out.extend_from_slice(b"}\n");
}

fn cluster(out: &mut Vec<u8>, i: usize, c: &Cluster) {
    out.extend_from_slice(format!("  subgraph cluster_{i} {{\n    label=").as_bytes());
    quoted(out, &[c.label.as_str()]);
    out.extend_from_slice(b";\n    style=\"rounded,filled\"; fillcolor=\"#f3f4f6\"; color=\"#9ca3af\";\n");
    for v in &c.vertices {
        vertex(out, "    ", v);
    }
    if !c.unlinked.is_empty() {
        out.extend_from_slice(format!("    subgraph cluster_{i}_unlinked {{\n").as_bytes());
        out.extend_from_slice(
            b"      label=\"unlinked: creating event not seen\"; style=\"dashed\"; color=\"#6b7280\";\n",
        );
        for v in &c.unlinked {
            vertex(out, "      ", v);
        }
        out.extend_from_slice(b"    }\n");
    }
    out.extend_from_slice(b"  }\n");
}

fn vertex(out: &mut Vec<u8>, indent: &str, v: &Vertex) {
    out.extend_from_slice(format!("{indent}\"{}\" [label=", v.id).as_bytes());
    let lines: Vec<&str> = v.lines.iter().map(String::as_str).collect();
    quoted(out, &lines);
    if v.origin {
        out.extend_from_slice(b", style=\"rounded,filled,bold\", fillcolor=\"#dbeafe\"");
    } else if v.count > 1 {
        out.extend_from_slice(b", shape=box3d, style=\"filled\"");
    }
    if v.unlinked {
        out.extend_from_slice(b", style=\"rounded,filled,dashed\", fontcolor=\"#4b5563\"");
    }
    if v.signals > 0 {
        out.extend_from_slice(format!(", color=\"{SIGNAL}\", penwidth=3").as_bytes());
    } else if v.collision {
        out.extend_from_slice(format!(", color=\"{WARN}\", penwidth=2").as_bytes());
    }
    out.extend_from_slice(b"];\n");
}

fn link(out: &mut Vec<u8>, l: &Link) {
    out.extend_from_slice(format!("  \"{}\" -> \"{}\" [label=", l.from, l.to).as_bytes());
    let lines: Vec<&str> = l.label.iter().map(String::as_str).collect();
    quoted(out, &lines);
    if l.heuristic {
        out.extend_from_slice(b", style=dashed");
    }
    if l.collision {
        out.extend_from_slice(format!(", color=\"{WARN}\", fontcolor=\"{WARN}\", penwidth=2").as_bytes());
    }
    out.extend_from_slice(b"];\n");
}

/// `lines` as one DOT string, one centred line each.
fn quoted(out: &mut Vec<u8>, lines: &[&str]) {
    out.push(b'"');
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\\n");
        }
        escape(out, line);
    }
    out.push(b'"');
}

/// Escapes `s` for the inside of a DOT double-quoted string.
pub fn escape(out: &mut Vec<u8>, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '&' => out.extend_from_slice(b"&amp;"),
            // Made visible before; kept out should a caller forget.
            '\n' | '\r' => out.extend_from_slice(b" "),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut out = Vec::new();
        escape(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn nothing_leaves_the_string() {
        assert_eq!(esc(r#"a"b"#), r#"a\"b"#);
        assert_eq!(esc(r"\N\"), r"\\N\\");
        assert_eq!(esc("x&lt;y"), "x&amp;lt;y");
        assert_eq!(esc("<b>]; x=\"y"), "<b>]; x=\\\"y");
    }
}
