//! SIEM exports: a JSON object that kept the raw CloudTrail record in a string field.
//!
//! Elastic keeps it in `event.original` (nested as `{"event":{"original":…}}`, or flat with a
//! dotted key), a Splunk export in `_raw` (inside `result` for the REST export's
//! `{"preview":…,"result":{…}}` lines), a log shipper often in `message`. The string is read as
//! if it had been given alone, and written out decoded.
//!
//! An export that kept only the SIEM's normalised fields (`aws.cloudtrail.*`, ECS `user.*`, …) is
//! not read: lineage needs fields that normalisation drops or renames (the session's
//! creationDate, the key a creating call issued), and guessing them would make up links. Such a
//! record is rejected, and stderr says once which field to export instead.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::atomic::{AtomicBool, Ordering};

/// The fields of a non-CloudTrail object a SIEM export may hold.
#[derive(Deserialize, Default)]
pub struct Fields<'a> {
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "event.original")]
    event_original: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "_raw")]
    raw: Option<&'a RawValue>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
    #[serde(borrow, default)]
    aws: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "event.dataset")]
    event_dataset: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sourcetype: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EventObject<'a> {
    #[serde(borrow, default)]
    original: Option<&'a RawValue>,
    #[serde(borrow, default)]
    dataset: Option<&'a RawValue>,
}

/// What a SIEM export holds.
pub enum Found<'a> {
    /// The raw record, as a JSON string literal (quotes and escapes included).
    Raw(&'a RawValue),
    /// A normalised CloudTrail record without the raw one; names the SIEM.
    NoRaw(&'static str),
    Nothing,
}

impl<'a> Fields<'a> {
    pub fn find(&self) -> Found<'a> {
        let nested = self
            .event
            .and_then(|e| serde_json::from_str::<EventObject<'a>>(e.get()).ok());
        let candidates = [
            self.event_original,
            nested.as_ref().and_then(|e| e.original),
            self.raw,
            self.result
                .and_then(|r| serde_json::from_str::<Fields<'a>>(r.get()).ok()?.raw),
            self.message,
        ];
        // Only a string that holds a JSON object: a `message` of plain text is not a record.
        if let Some(raw) = candidates
            .into_iter()
            .flatten()
            .find(|r| r.get().starts_with("\"{"))
        {
            return Found::Raw(raw);
        }
        let dataset = self
            .event_dataset
            .or(nested.as_ref().and_then(|e| e.dataset))
            .map(RawValue::get);
        let elastic_fields = self.aws.is_some_and(|a| a.get().contains("\"cloudtrail\""));
        if dataset == Some("\"aws.cloudtrail\"") || elastic_fields {
            return Found::NoRaw("Elastic");
        }
        let splunk = |f: &Fields<'_>| f.sourcetype.map(RawValue::get) == Some("\"aws:cloudtrail\"");
        let in_result = self
            .result
            .and_then(|r| serde_json::from_str::<Fields<'_>>(r.get()).ok());
        if splunk(self) || in_result.as_ref().is_some_and(splunk) {
            return Found::NoRaw("Splunk");
        }
        Found::Nothing
    }
}

static TOLD: AtomicBool = AtomicBool::new(false);

/// `--quiet`: the note is not written (as no other message is). Set before reading starts.
pub(crate) fn keep_quiet() {
    TOLD.store(true, Ordering::Relaxed);
}

/// Says once per process how to export the raw record instead.
pub fn tell_how_to_export(siem: &str) {
    if TOLD.swap(true, Ordering::Relaxed) {
        return;
    }
    crate::message::line(format_args!(
        "ctail-filter: note: {siem} export without the raw CloudTrail record: lineage needs the record \
         as CloudTrail wrote it, not the SIEM's normalised fields. Export `event.original` (Elastic: \
         enable \"Preserve original event\" in the AWS integration, then include event.original) or \
         `_raw` (Splunk: `... | fields _raw` before exporting as JSON)."
    ));
}
