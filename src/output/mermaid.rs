//! `--format mermaid`: the session graph ([`super::graph::Model`]) as a Mermaid flowchart, for
//! Markdown that GitHub and wikis render.
//!
//! Labels are double-quoted, and Mermaid renders them as HTML: every ASCII character other than
//! letters, digits, space and `.,:/_-@+=*~` is written as a numeric entity (`#34;` for `"`,
//! `#60;` for `<`, `#35;` for `#` itself), so a label can neither end early, nor open a tag, nor
//! start Markdown. Ids are our own (hex ids, indices), never an event's string.

use super::graph::{Cluster, Model, Vertex};
use std::fmt::Write as _;

const WARN: &str = "#d97706";
const SIGNAL: &str = "#dc2626";

/// Writes the model as one `flowchart`.
pub fn write(out: &mut Vec<u8>, m: &Model) {
    let mut s = String::new();
    for line in &m.caption {
        // A comment ends at the line's end; the caption is ours, with counts.
        let _ = writeln!(s, "%% {}", line.replace(['\n', '\r'], " "));
    }
    s.push_str("flowchart LR\n");
    let mut classes: [Vec<&str>; 5] = Default::default();
    for (i, c) in m.clusters.iter().enumerate() {
        cluster(&mut s, i, c, &mut classes);
    }
    let mut warn_links = Vec::new();
    for (i, l) in m.links.iter().enumerate() {
        let arrow = if l.heuristic { "-.->" } else { "-->" };
        let _ = write!(s, "  {} {arrow}|\"", l.from);
        lines(&mut s, &l.label);
        let _ = writeln!(s, "\"| {}", l.to);
        if l.collision {
            warn_links.push(i.to_string());
        }
    }
    s.push_str("  classDef origin fill:#dbeafe,stroke:#1e3a8a,stroke-width:2px\n");
    s.push_str("  classDef group fill:#ffffff,stroke:#374151,stroke-width:3px\n");
    s.push_str("  classDef unlinked fill:#ffffff,stroke:#6b7280,stroke-dasharray:5 3,color:#4b5563\n");
    let _ = writeln!(s, "  classDef collision stroke:{WARN},stroke-width:2px");
    let _ = writeln!(s, "  classDef signal stroke:{SIGNAL},stroke-width:4px");
    for (name, ids) in ["origin", "group", "unlinked", "collision", "signal"]
        .iter()
        .zip(&classes)
    {
        if !ids.is_empty() {
            let _ = writeln!(s, "  class {} {name}", ids.join(","));
        }
    }
    if !warn_links.is_empty() {
        let _ = writeln!(
            s,
            "  linkStyle {} stroke:{WARN},stroke-width:2px,color:{WARN}",
            warn_links.join(",")
        );
    }
    out.extend_from_slice(s.as_bytes());
}

fn cluster<'m>(s: &mut String, i: usize, c: &'m Cluster, classes: &mut [Vec<&'m str>; 5]) {
    let _ = write!(s, "  subgraph a{i}[\"");
    escape(s, &c.label);
    s.push_str("\"]\n");
    for v in &c.vertices {
        vertex(s, "    ", v, classes);
    }
    if !c.unlinked.is_empty() {
        let _ = writeln!(s, "    subgraph a{i}u[\"unlinked: creating event not seen\"]");
        for v in &c.unlinked {
            vertex(s, "      ", v, classes);
        }
        s.push_str("    end\n");
    }
    s.push_str("  end\n");
}

fn vertex<'m>(s: &mut String, indent: &str, v: &'m Vertex, classes: &mut [Vec<&'m str>; 5]) {
    let (open, close) = if v.origin {
        ("([\"", "\"])")
    } else if v.count > 1 {
        ("[[\"", "\"]]")
    } else {
        ("(\"", "\")")
    };
    let _ = write!(s, "{indent}{}{open}", v.id);
    lines(s, &v.lines);
    s.push_str(close);
    s.push('\n');
    // Several may apply; later classes are declared later and win where they overlap.
    let applies = [v.origin, v.count > 1, v.unlinked, v.collision, v.signals > 0];
    for (ids, _) in classes.iter_mut().zip(applies).filter(|(_, on)| *on) {
        ids.push(&v.id);
    }
}

fn lines(s: &mut String, lines: &[String]) {
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            s.push_str("<br>");
        }
        escape(s, l);
    }
}

/// Escapes `text` for the inside of a double-quoted Mermaid label.
pub fn escape(s: &mut String, text: &str) {
    for c in text.chars() {
        let plain = c.is_ascii_alphanumeric() || " .,:/_-@+=*~".contains(c) || !c.is_ascii();
        if plain && !c.is_control() {
            s.push(c);
        } else {
            let _ = write!(s, "#{};", c as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(t: &str) -> String {
        let mut s = String::new();
        escape(&mut s, t);
        s
    }

    #[test]
    fn nothing_leaves_the_label() {
        assert_eq!(esc("ops/alice"), "ops/alice");
        assert_eq!(esc("a\"b"), "a#34;b");
        assert_eq!(esc("<br>#1;"), "#60;br#62;#35;1#59;");
        assert_eq!(esc("]|`{}"), "#93;#124;#96;#123;#125;");
        assert_eq!(esc("Zürich"), "Zürich");
    }
}
