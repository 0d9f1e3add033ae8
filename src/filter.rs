//! `--identity PATTERN`: which identities to follow.
//!
//! A pattern is compared, whole and case-sensitively, with every identifying string of a session
//! or principal: ARN, user name, role name, role session name, access key id, principal id, SAML or
//! OIDC subject, Identity Center user id, EC2 instance id, source identity. `*` matches any run of
//! characters (so `arn:aws:iam::*:user/alice` or `botocore-session-*`). The match sticks to the
//! node, and the pipeline follows it down to every session descended from it.

use crate::session::IdentityMatch;

/// The compiled `--identity` patterns.
#[derive(Debug, Clone)]
pub struct Patterns {
    exact: Vec<String>,
    globs: Vec<String>,
}

impl Patterns {
    pub fn new<I: IntoIterator<Item = String>>(patterns: I) -> Option<Self> {
        let (globs, exact): (Vec<String>, Vec<String>) = patterns.into_iter().partition(|p| p.contains('*'));
        (!globs.is_empty() || !exact.is_empty()).then_some(Patterns { exact, globs })
    }
}

impl IdentityMatch for Patterns {
    fn matches(&self, value: &str) -> bool {
        self.exact.iter().any(|p| p == value)
            || self.globs.iter().any(|g| glob(g.as_bytes(), value.as_bytes()))
    }
}

/// Wildcard match with `*` only: no recursion, constant space, and at most pattern × text steps
/// (no exponential backtracking on attacker-chosen values).
fn glob(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() && pat[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pat.len() && pat[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcards() {
        let p = Patterns::new([
            "alice".to_string(),
            "arn:aws:iam::*:user/bob".to_string(),
            "botocore-*".to_string(),
        ])
        .unwrap();
        assert!(p.matches("alice"));
        assert!(!p.matches("Alice"));
        assert!(!p.matches("alice2"));
        assert!(p.matches("arn:aws:iam::123456789012:user/bob"));
        assert!(!p.matches("arn:aws:iam::123456789012:user/bobby"));
        assert!(p.matches("botocore-session-1"));
        assert!(Patterns::new(Vec::<String>::new()).is_none());
    }

    #[test]
    fn glob_edge_cases() {
        assert!(glob(b"*", b""));
        assert!(glob(b"a*b*c", b"aXXbYYc"));
        assert!(!glob(b"a*b*c", b"aXXbYY"));
        assert!(glob(b"**a", b"a"));
        // Pathological pattern stays fast.
        let text = "a".repeat(100_000);
        assert!(!glob(b"*a*a*a*a*a*b", text.as_bytes()));
    }
}
