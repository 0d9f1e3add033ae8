//! The least an annotating CloudTrail filter must do, as a yardstick for ctail-filter's speed:
//! read lines into one reused buffer, check UTF-8 once, decode borrowed with
//! `serde_json::from_str` the fields that say which session made the call (userIdentity's type,
//! principalId, arn, accountId, accessKeyId and creationDate) and whether the call creates one
//! (eventSource, eventName), with eventTime and eventID; look the session up in an LRU, splice a
//! small annotation before the final `}` and write. No envelopes, no bad-input handling, no
//! lineage.
//!
//! Built by `benches/compare.sh` (`cargo build --release --example reference`); reads stdin,
//! writes stdout.

use serde::Deserialize;
use std::borrow::Cow;
use std::io::{self, BufRead, BufWriter, Write};
use std::num::NonZeroUsize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Event<'a> {
    #[serde(borrow)]
    user_identity: Option<Identity<'a>>,
    #[serde(borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventID")]
    event_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Identity<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    principal_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize)]
struct SessionContext<'a> {
    #[serde(borrow)]
    attributes: Option<Attributes<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attributes<'a> {
    #[serde(borrow)]
    creation_date: Option<Cow<'a, str>>,
}

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut sessions: lru::LruCache<u64, u64> = lru::LruCache::new(NonZeroUsize::new(100_000).unwrap());
    let mut line = Vec::with_capacity(1 << 16);
    let mut next_id = 0u64;
    let hasher = std::collections::hash_map::RandomState::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        while line.last().is_some_and(|b| b.is_ascii_whitespace()) {
            line.pop();
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            continue;
        };
        let Ok(ev) = serde_json::from_str::<Event>(text) else {
            continue;
        };
        let arn = ev
            .user_identity
            .as_ref()
            .and_then(|u| u.arn.as_deref())
            .unwrap_or("");
        let key = ev
            .user_identity
            .as_ref()
            .and_then(|u| u.access_key_id.as_deref())
            .unwrap_or("");
        let h = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = hasher.build_hasher();
            h.write(arn.as_bytes());
            h.write(key.as_bytes());
            let created = ev
                .user_identity
                .as_ref()
                .and_then(|u| u.session_context.as_ref())
                .and_then(|c| c.attributes.as_ref())
                .and_then(|a| a.creation_date.as_deref());
            h.write(created.unwrap_or("").as_bytes());
            h.finish()
        };
        let id = *sessions.get_or_insert(h, || {
            next_id += 1;
            next_id
        });
        let close = text.len() - 1;
        out.write_all(&line[..close])?;
        write!(out, ",\"x\":{{\"session\":{id},\"arn\":")?;
        serde_json::to_writer(&mut out, arn)?;
        out.write_all(b"}}\n")?;
    }
    out.flush()
}
