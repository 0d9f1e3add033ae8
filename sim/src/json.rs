//! Minimal JSON writer: keeps CloudTrail's key order and avoids building a serde_json::Value per event.

use std::fmt::Write;

/// Appends compact JSON to a String. Commas are tracked with one flag: after any complete value a
/// comma is due, after an opening brace or bracket it is not, so no stack is needed.
#[derive(Default)]
pub struct W {
    pub s: String,
    comma: bool,
}

impl W {
    pub fn clear(&mut self) {
        self.s.clear();
        self.comma = false;
    }

    pub fn with_capacity(n: usize) -> Self {
        W {
            s: String::with_capacity(n),
            comma: false,
        }
    }

    /// Writes `{` as a value (top level or array item); close with [`W::end`].
    pub fn open(&mut self) -> &mut Self {
        self.sep();
        self.s.push('{');
        self.comma = false;
        self
    }

    /// Writes `"k":{`; close with [`W::end`].
    pub fn obj(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.s.push('{');
        self.comma = false;
        self
    }

    pub fn end(&mut self) -> &mut Self {
        self.s.push('}');
        self.comma = true;
        self
    }

    /// Writes `"k":[`; close with [`W::end_arr`].
    pub fn arr(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.s.push('[');
        self.comma = false;
        self
    }

    pub fn end_arr(&mut self) -> &mut Self {
        self.s.push(']');
        self.comma = true;
        self
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        esc(&mut self.s, v);
        self.comma = true;
        self
    }

    pub fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        if let Some(v) = v {
            self.str(k, v);
        }
        self
    }

    /// A string as an array item.
    pub fn item(&mut self, v: &str) -> &mut Self {
        self.sep();
        esc(&mut self.s, v);
        self.comma = true;
        self
    }

    /// A value that is already JSON (number, bool, null, or a pre-rendered object).
    pub fn raw(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        self.s.push_str(v);
        self.comma = true;
        self
    }

    /// Pre-rendered JSON, or `null` when absent (CloudTrail writes `"responseElements":null`).
    pub fn raw_or_null(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        self.raw(k, v.unwrap_or("null"))
    }

    pub fn num(&mut self, k: &str, v: i64) -> &mut Self {
        self.key(k);
        let _ = write!(self.s, "{v}");
        self.comma = true;
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.raw(k, if v { "true" } else { "false" })
    }

    pub fn done(self) -> String {
        self.s
    }

    fn sep(&mut self) {
        if self.comma {
            self.s.push(',');
        }
    }

    /// Keys are literals of this crate, never in need of escaping: skip the scan.
    fn key(&mut self, k: &str) {
        self.sep();
        self.s.push('"');
        self.s.push_str(k);
        self.s.push_str("\":");
    }
}

/// Writes `v` as a JSON string literal.
pub fn esc(out: &mut String, v: &str) {
    out.push('"');
    // Fast path: simulated text is almost always plain ASCII without quotes or backslashes.
    // A fold without early exit lets the compiler vectorise the scan.
    let special = v
        .bytes()
        .fold(false, |acc, b| acc | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if !special {
        out.push_str(v);
    } else {
        for c in v.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::W;

    #[test]
    fn nested_and_escaped() {
        let mut w = W::default();
        w.open().str("a", "x\"y\n").obj("b").num("n", -3).arr("l");
        w.item("p").open().bool("t", true).end().end_arr();
        w.end().raw_or_null("r", None).end();
        let s = w.done();
        assert_eq!(s, r#"{"a":"x\"y\n","b":{"n":-3,"l":["p",{"t":true}]},"r":null}"#);
        serde_json::from_str::<serde_json::Value>(&s).unwrap();
    }
}
