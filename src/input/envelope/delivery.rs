//! What AWS's delivery services hand a consumer, around the records or subscription payloads
//! they carry:
//!
//! ```text
//! {"Records":[{"kinesis":{"data":"<base64>",…},"eventSource":"aws:kinesis",…}]}   Lambda, from Kinesis
//! {"Records":[{"SequenceNumber":…,"Data":"<base64>",…}],"NextShardIterator":…}   aws kinesis get-records
//! {"invocationId":…,"deliveryStreamArn":…,"records":[{"recordId":…,"data":"<base64>"}]}
//!                                                          Lambda, transforming for Firehose
//! {"Records":[{"body":"<string>","eventSource":"aws:sqs",…}]}                      Lambda, from SQS
//! {"Records":[{"EventSource":"aws:sns","Sns":{"Message":"<string>",…}}]}           Lambda, from SNS
//! {"Type":"Notification","Message":"<string>",…}                                   SNS, to SQS or HTTP
//! {"Messages":[{"MessageId":…,"ReceiptHandle":…,"Body":"<string>"}]}              aws sqs receive-message
//! {"events":[{"timestamp":…,"message":"<string>",…}],…}       aws logs filter-log-events, get-log-events
//! {"results":[[{"field":"@message","value":"<string>"},…]],"status":…}     aws logs get-query-results
//! ```
//!
//! (Each of `events`' entries is read as a SIEM export's `message` is: [`super::siem`].)
//!
//! Base64 data is inflated when it is gzip (CloudWatch Logs gzips what it sends to a stream) and
//! read as it is otherwise; strings are read as the JSON they hold (an EventBridge event, most
//! often). What comes out is read as any value: a subscription payload, a record, an envelope.
//!
//! A record with an `aws:` eventSource is none of CloudTrail's, whose eventSource is a service's
//! host name: S3's and DynamoDB's notifications have eventVersion, eventName, eventTime and even
//! a userIdentity, and must not be annotated as if they were API calls. They are rejected, saying
//! what they are.

use super::{Item, RecordError, Unwrapper};
use crate::event::Event;
use serde_json::value::RawValue;
use std::sync::atomic::{AtomicBool, Ordering};

/// The members that tell the delivery envelopes apart (all kept raw; read only when they match).
/// Read in a pass of their own, which only says whether the value is one of them: a value that
/// is not (a SIEM's line with two `status` members) must not fail for what it is not.
#[derive(serde::Deserialize)]
struct Delivery<'a> {
    #[serde(borrow, default)]
    results: Option<&'a RawValue>,
    #[serde(borrow, default)]
    status: Option<&'a RawValue>,
    #[serde(borrow, default)]
    kinesis: Option<&'a RawValue>,
    #[serde(borrow, default)]
    body: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "Sns")]
    sns: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "Type")]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "Message")]
    message: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "records")]
    firehose_records: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "deliveryStreamArn")]
    delivery_stream: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "invocationId")]
    invocation: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "recordId")]
    record_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "Data")]
    kinesis_data: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "SequenceNumber")]
    sequence_number: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "events")]
    cli_events: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "Messages")]
    messages: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "Body")]
    sqs_body: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "ReceiptHandle")]
    receipt: Option<&'a RawValue>,
}

#[derive(serde::Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
}

#[derive(serde::Deserialize)]
struct Message<'a> {
    #[serde(borrow, rename = "Message")]
    message: &'a RawValue,
}

impl Unwrapper {
    /// Reads `text` (an object that is not a CloudTrail record; `event`, its decoding) if it is
    /// one of the delivery envelopes above. `false`, nothing visited, if it is not.
    pub(super) fn delivery(
        &mut self,
        bytes: &[u8],
        text: &str,
        event: &Event<'_>,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) -> bool {
        let Ok(d) = serde_json::from_str::<Delivery<'_>>(text) else {
            return false;
        };
        if let Some(source) = event.notification_source() {
            self.event_source_record(bytes, text, source, &d, level, visit);
            return true;
        }
        if let Some(sns) = d.sns {
            match serde_json::from_str::<Message<'_>>(sns.get()) {
                Ok(m) => self.string_value_or(m.message, "an SNS Message is not a string", level, visit),
                Err(_) => visit(Item::Bad {
                    bytes,
                    error: RecordError::BadEnvelope("Sns has no Message"),
                }),
            }
            return true;
        }
        if let (Some(kind), Some(message)) = (d.kind, d.message) {
            if kind.get() == "\"Notification\"" {
                self.string_value_or(message, "an SNS Message is not a string", level, visit);
                return true;
            }
        }
        let firehose = d
            .firehose_records
            .filter(|_| d.delivery_stream.or(d.invocation).is_some());
        let arrays = [
            (firehose, "records is not an array"),
            (d.cli_events, "events is not an array"),
            (d.messages, "Messages is not an array"),
        ];
        if let Some((array, what)) = arrays.into_iter().find_map(|(a, what)| Some((a?, what))) {
            match serde_json::from_str::<Vec<&RawValue>>(array.get()) {
                Ok(items) => self.elements(&items, level, visit),
                Err(_) => visit(Item::Bad {
                    bytes,
                    error: RecordError::BadEnvelope(what),
                }),
            }
            return true;
        }
        if let Some(results) = d.results.filter(|_| d.status.is_some()) {
            self.insights(bytes, results, level, visit);
            return true;
        }
        if let Some(body) = d.sqs_body.filter(|_| d.receipt.is_some()) {
            self.string_value_or(body, "an SQS message's Body is not a string", level, visit);
            return true;
        }
        let data = match (d.data, d.record_id, d.kinesis_data, d.sequence_number) {
            (Some(data), Some(_), _, _) => Some(("Firehose record: data", data)),
            (_, _, Some(data), Some(_)) => Some(("Kinesis record: Data", data)),
            _ => None,
        };
        match data {
            Some((what, data)) => {
                self.data(bytes, what, data, level, visit);
                true
            }
            None => false,
        }
    }

    /// A record that a Lambda's event source or an event notification wrote (`source`: its
    /// `aws:` eventSource): Kinesis' and SQS's carry what they were sent; the others (S3,
    /// DynamoDB) are no CloudTrail.
    fn event_source_record(
        &mut self,
        bytes: &[u8],
        text: &str,
        source: &str,
        d: &Delivery<'_>,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        match (source, d.kinesis, d.body) {
            ("aws:kinesis", Some(kinesis), _) => self.kinesis(bytes, kinesis, level, visit),
            ("aws:sqs", _, Some(body)) => {
                self.string_value_or(body, "an SQS message's body is not a string", level, visit);
            }
            _ => {
                if source == "aws:s3" {
                    tell_how_to_read_objects(text);
                }
                visit(Item::Bad {
                    bytes,
                    error: RecordError::Notification(source.to_owned()),
                })
            }
        }
    }

    /// A Logs Insights query's rows (`aws logs get-query-results`): each row's `@message` is a
    /// record as a string. Rows come newest first unless the query sorts them otherwise; they are
    /// read oldest first (see [`oldest_first_rows`]). A row without `@message` holds only fields
    /// Logs Insights parsed, from which nothing is guessed.
    fn insights(
        &mut self,
        bytes: &[u8],
        results: &RawValue,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        let Ok(rows) = serde_json::from_str::<Vec<&RawValue>>(results.get()) else {
            return visit(Item::Bad {
                bytes,
                error: RecordError::BadEnvelope("results is not an array"),
            });
        };
        let mut rows: Vec<(&RawValue, Row<'_>)> = rows.into_iter().map(|raw| (raw, Row::of(raw))).collect();
        oldest_first_rows(&mut rows);
        for (raw, row) in rows {
            match row.message {
                Some(message) => {
                    let what = "a Logs Insights @message is not a string";
                    self.string_value_or(message, what, level, visit);
                }
                None => visit(Item::Bad {
                    bytes: raw.get().as_bytes(),
                    error: RecordError::BadEnvelope(
                        "a Logs Insights row without @message (add `fields @message` to the query)",
                    ),
                }),
            }
        }
    }

    /// A Kinesis record as Lambda is given it: `kinesis.data`.
    fn kinesis(
        &mut self,
        bytes: &[u8],
        kinesis: &RawValue,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        match serde_json::from_str::<Data<'_>>(kinesis.get()) {
            Ok(Data { data }) => self.data(bytes, "Kinesis record: kinesis.data", data, level, visit),
            Err(_) => visit(Item::Bad {
                bytes,
                error: RecordError::BadEnvelope("kinesis has no data"),
            }),
        }
    }

    /// A record's base64 `data`, opened into this level's buffer and read as a value; `bytes`
    /// (the whole record) is what is rejected when it does not open.
    fn data(
        &mut self,
        bytes: &[u8],
        what: &'static str,
        data: &RawValue,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        let mut buf = self.take(level);
        match self.open_any(data.get(), &mut buf) {
            Ok(()) => self.value(&buf, level + 1, visit),
            Err(e) => visit(Item::Bad {
                bytes,
                error: RecordError::Data(what, e),
            }),
        }
        self.put(level, buf);
    }
}

/// A Logs Insights row: its `@timestamp` (`2024-12-01 10:00:00.000`) and `@message`.
#[derive(Default)]
struct Row<'a> {
    timestamp: Option<&'a str>,
    message: Option<&'a RawValue>,
}

impl<'a> Row<'a> {
    fn of(raw: &'a RawValue) -> Row<'a> {
        #[derive(serde::Deserialize)]
        struct Cell<'a> {
            #[serde(borrow)]
            field: &'a RawValue,
            #[serde(borrow)]
            value: &'a RawValue,
        }
        let mut row = Row::default();
        for cell in serde_json::from_str::<Vec<Cell<'_>>>(raw.get()).unwrap_or_default() {
            match cell.field.get() {
                "\"@message\"" => row.message = Some(cell.value),
                "\"@timestamp\"" => row.timestamp = Some(cell.value.get()),
                _ => {}
            }
        }
        row
    }
}

/// Logs Insights rows, oldest first: when every row has a `@timestamp` of Logs Insights' one
/// fixed width (so that text order is time order), stably by it, after reversing rows that came
/// newest first (the default), so rows of one millisecond keep the order they were logged in.
/// Otherwise as given.
fn oldest_first_rows(rows: &mut [(&RawValue, Row<'_>)]) {
    let stamps: Option<Vec<&str>> = rows.iter().map(|(_, r)| r.timestamp).collect();
    let Some(stamps) = stamps else { return };
    if stamps.iter().any(|t| t.len() != stamps[0].len()) {
        return;
    }
    if stamps.first() > stamps.last() {
        rows.reverse();
    }
    rows.sort_by_key(|(_, r)| r.timestamp);
}

static TOLD: AtomicBool = AtomicBool::new(false);

/// `--quiet`: the note is not written (as no other message is). Set before reading starts.
pub(crate) fn keep_quiet() {
    TOLD.store(true, Ordering::Relaxed);
}

/// Says once per process that S3's notifications (what a queue fed by a trail's bucket holds)
/// name the trail files, and how to read one: with the first notification's bucket and key.
fn tell_how_to_read_objects(notification: &str) {
    if TOLD.swap(true, Ordering::Relaxed) {
        return;
    }
    crate::message::line(format_args!(
        "ctail-filter: note: S3 event notifications name the files CloudTrail wrote, not the events in \
         them: read the objects (aws s3 cp {} - | ctail-filter), or point ctail-filter at a \
         synced copy (aws s3 sync).",
        object_url(notification)
    ));
}

/// `s3://bucket/key` of an S3 notification record, or `s3://BUCKET/KEY`. Keys come URL-encoded;
/// anything else (a control character, a quote, a space) is input that must not reach a terminal
/// or a shell a user pastes into, and then no object is named.
fn object_url(notification: &str) -> String {
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct S3 {
        s3: Object,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Object {
        bucket: Name,
        object: Name,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Name {
        name: String,
        key: String,
    }
    let n = serde_json::from_str::<S3>(notification).unwrap_or_default().s3;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"./_-+%=~".contains(&b))
    };
    match (n.bucket.name.as_str(), n.object.key.as_str()) {
        (bucket, key) if plain(bucket) && plain(key) => format!("s3://{bucket}/{key}"),
        _ => "s3://BUCKET/KEY".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::object_url;

    #[test]
    fn the_note_names_an_object_only_when_it_is_safe_to_show() {
        let record = |bucket: &str, key: &str| {
            serde_json::json!({"eventSource": "aws:s3", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}})
                .to_string()
        };
        let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/01/x_CloudTrail_us-east-1_20261201T0000Z_a.json.gz";
        assert_eq!(object_url(&record("trail", key)), format!("s3://trail/{key}"));
        assert_eq!(object_url(&record("trail", "a%20b+c")), "s3://trail/a%20b+c");
        for (bucket, key) in [
            ("trail", "x\u{1b}]0;pwned\u{7}"),
            ("trail", "a b"),
            ("trail", "$(reboot)"),
            ("trail", "*"),
            ("trail", "it's"),
            ("", "key"),
            ("trail", ""),
        ] {
            assert_eq!(
                object_url(&record(bucket, key)),
                "s3://BUCKET/KEY",
                "{bucket} {key:?}"
            );
        }
        assert_eq!(object_url("{\"s3\":5}"), "s3://BUCKET/KEY");
    }
}
