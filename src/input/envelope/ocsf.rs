//! Amazon Security Lake: CloudTrail management events converted to OCSF (API Activity, class
//! 6003; the published mapping also uses Authentication 3002, Account Change 3001 and the
//! pre-1.0 API Activity 3005), as JSON lines (what Athena, Spark or DuckDB write when a table
//! such as `cloud_trail_mgmt_2_0` is exported).
//!
//! The record is mapped back to the CloudTrail fields lineage reads, following the published
//! CloudTrail→OCSF mapping (ocsf/examples, `mappings/markdown/AWS/v1.1.0/CloudTrail`), into a
//! small CloudTrail-shaped JSON object that the ordinary decoder then reads. Rare enough to take
//! this slower path; the CloudTrail fast path never comes here. The OCSF record itself is what
//! is written out, with the annotation appended.
//!
//! Nothing is guessed. What the mapping drops (the `sessionIssuer` type, name and principal id;
//! `sourceIdentity`; `ec2RoleDelivery`; `webIdFederationData` claims; `sharedEventID` unless the
//! exporter kept it under `unmapped`) stays absent, and lineage weakens the links that would
//! have been checked against it (see `session::evidence::Call::unverified`).

use super::{splice_point, Item, Record, RecordError, Unwrapper};
use crate::event::{decode, Event, Str};
use serde_json::{Map, Value};

/// `Event::shape` of a record read from OCSF.
pub const SHAPE: &str = "ocsf";

/// The OCSF classes a CloudTrail management event is converted to.
const CLASSES: [u64; 4] = [6003, 3001, 3002, 3005];

/// Whether `v` is an OCSF record made from a CloudTrail event.
fn is_cloudtrail(v: &Value) -> bool {
    let class = v.get("class_uid").and_then(Value::as_u64);
    if !class.is_some_and(|c| CLASSES.contains(&c)) {
        return false;
    }
    let product = at(v, &["metadata", "product", "name"]).and_then(Value::as_str);
    let service = at(v, &["api", "service", "name"]).and_then(Value::as_str);
    product == Some("CloudTrail") || service.is_some_and(|s| s.ends_with(".amazonaws.com"))
}

/// Writes the CloudTrail fields `text` (an OCSF record) maps back to into `out`, as one JSON
/// object. `false` (and `out` untouched) when `text` is not an OCSF record of a CloudTrail event.
pub fn to_cloudtrail(text: &str, out: &mut Vec<u8>) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    if !is_cloudtrail(&v) {
        return false;
    }
    let ct = map_back(&v);
    out.clear();
    serde_json::to_writer(&mut *out, &ct).is_ok()
}

fn map_back(v: &Value) -> Value {
    let mut ct = Map::new();
    put(
        &mut ct,
        "eventVersion",
        text_of(at(v, &["metadata", "product", "version"])),
    );
    put(&mut ct, "eventTime", event_time(v));
    put(
        &mut ct,
        "eventSource",
        text_of(at(v, &["api", "service", "name"])),
    );
    put(&mut ct, "eventName", text_of(at(v, &["api", "operation"])));
    let source =
        text_of(at(v, &["src_endpoint", "ip"])).or_else(|| text_of(at(v, &["src_endpoint", "domain"])));
    put(&mut ct, "sourceIPAddress", source);
    put(
        &mut ct,
        "userAgent",
        text_of(at(v, &["http_request", "user_agent"])),
    );
    put(
        &mut ct,
        "errorCode",
        text_of(at(v, &["api", "response", "error"])),
    );
    put(
        &mut ct,
        "requestParameters",
        data(at(v, &["api", "request", "data"])),
    );
    put(
        &mut ct,
        "responseElements",
        data(at(v, &["api", "response", "data"])),
    );
    put(&mut ct, "eventID", text_of(at(v, &["metadata", "uid"])));
    put(&mut ct, "eventType", text_of(at(v, &["metadata", "event_code"])));
    put(&mut ct, "userIdentity", user_identity(v).map(Value::Object));
    // Fields the mapping has no place for: `unmapped`, nested or as dotted paths. Only where the
    // mapped fields left them empty.
    if let Some(Value::Object(un)) = v.get("unmapped") {
        for (k, val) in un {
            let path: Vec<&str> = k.split('.').collect();
            merge(&mut ct, &path, val);
        }
    }
    // The account the record was delivered to, when `unmapped` did not keep recipientAccountId.
    if !ct.contains_key("recipientAccountId") {
        put(
            &mut ct,
            "recipientAccountId",
            text_of(at(v, &["cloud", "account", "uid"])),
        );
    }
    Value::Object(ct)
}

fn user_identity(v: &Value) -> Option<Map<String, Value>> {
    let actor = v.get("actor")?;
    let user = actor.get("user");
    let uf = |k: &str| user.and_then(|u| u.get(k));
    let mut ui = Map::new();
    put(&mut ui, "type", text_of(uf("type")));
    // The ARN is `uid` (1.1) or `uuid` (1.0-rc), the principal id `uid_alt` (1.1) or `uid` (1.0-rc):
    // exporters disagree, so each is taken by what it looks like.
    let ids: Vec<String> = ["uid", "uuid", "uid_alt"]
        .iter()
        .filter_map(|k| text_str(uf(k)))
        .collect();
    put(
        &mut ui,
        "arn",
        ids.iter()
            .find(|s| s.starts_with("arn:"))
            .cloned()
            .map(Value::String),
    );
    // Identity Center: uid_alt holds onBehalfOf.userId instead of the principal id, and idp.uid
    // names the identity store.
    // Without its type, a caller that names an identity could be anything, a service acting for
    // it or an Identity Center user included: none of that is read (the caller is then nobody).
    let untyped = text_str(uf("type")).is_none() && (!ids.is_empty() || uf("credential_uid").is_some());
    let idp = actor.get("idp").filter(|_| !untyped);
    let store = text_str(idp.and_then(|i| i.get("uid"))).filter(|s| s.starts_with("arn:aws:identitystore"));
    let other = ids.iter().find(|s| !s.starts_with("arn:")).cloned();
    match (store, other) {
        (Some(store), Some(user_id)) => {
            let mut obo = Map::new();
            obo.insert("userId".into(), Value::String(user_id));
            obo.insert("identityStoreArn".into(), Value::String(store));
            ui.insert("onBehalfOf".into(), Value::Object(obo));
        }
        (None, principal) => put(&mut ui, "principalId", principal.map(Value::String)),
        _ => {}
    }
    put(&mut ui, "userName", text_of(uf("name")));
    put(&mut ui, "accessKeyId", text_of(uf("credential_uid")));
    let account = user
        .and_then(|u| at(u, &["account", "uid"]))
        .or_else(|| uf("account_uid"));
    put(&mut ui, "accountId", text_of(account));
    put(
        &mut ui,
        "invokedBy",
        text_of(actor.get("invoked_by").filter(|_| !untyped)),
    );
    let kind = text_str(uf("type"));
    let idp_name = text_of(idp.and_then(|i| i.get("name")));
    if matches!(kind.as_deref(), Some("SAMLUser" | "WebIdentityUser")) {
        put(&mut ui, "identityProvider", idp_name);
    }
    let session = actor.get("session");
    let sf = |k: &str| session.and_then(|s| s.get(k));
    let mut attributes = Map::new();
    let created = text_of(sf("created_time_dt")).or_else(|| epoch_ms(sf("created_time")));
    put(&mut attributes, "creationDate", created);
    let mfa = sf("is_mfa").or_else(|| sf("mfa")).and_then(Value::as_bool);
    put(
        &mut attributes,
        "mfaAuthenticated",
        mfa.map(|b| Value::String(b.to_string())),
    );
    let mut ctx = Map::new();
    if !attributes.is_empty() {
        ctx.insert("attributes".into(), Value::Object(attributes));
    }
    if let Some(issuer) = text_of(sf("issuer")) {
        let mut si = Map::new();
        si.insert("arn".into(), issuer);
        ctx.insert("sessionIssuer".into(), Value::Object(si));
    }
    if !ctx.is_empty() {
        ui.insert("sessionContext".into(), Value::Object(ctx));
    }
    Some(ui)
}

/// `time` (epoch milliseconds) in CloudTrail's format, else `time_dt` as given.
fn event_time(v: &Value) -> Option<Value> {
    epoch_ms(v.get("time")).or_else(|| text_of(v.get("time_dt")))
}

/// CloudTrail began in 2013: an earlier `time` is not one (0 stands for "not set" in some
/// exporters' output; seconds written where OCSF wants milliseconds land in January 1970).
const EARLIEST_MS: i64 = 946_684_800_000; // 2000-01-01

fn epoch_ms(v: Option<&Value>) -> Option<Value> {
    let ms = v?.as_i64().filter(|&ms| ms >= EARLIEST_MS)?;
    let t = chrono::DateTime::from_timestamp(ms.div_euclid(1000), 0)?;
    Some(Value::String(t.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
}

/// `api.request.data` / `api.response.data`: an object, or the object as a JSON string.
fn data(v: Option<&Value>) -> Option<Value> {
    match v? {
        Value::Object(_) => v.cloned(),
        Value::String(s) => serde_json::from_str::<Value>(s).ok().filter(Value::is_object),
        _ => None,
    }
}

fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

/// A string or number as a JSON string; nothing for empty strings and other types.
fn text_of(v: Option<&Value>) -> Option<Value> {
    text_str(v).map(Value::String)
}

fn text_str(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.into(), v);
    }
}

/// Sets `path` to `val` where nothing is set yet; objects are merged member by member.
fn merge(m: &mut Map<String, Value>, path: &[&str], val: &Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match (m.get_mut(*first), val) {
            (None, _) => {
                m.insert((*first).into(), val.clone());
            }
            (Some(Value::Object(have)), Value::Object(more)) => {
                for (k, v) in more {
                    merge(have, &[k.as_str()], v);
                }
            }
            _ => {}
        }
        return;
    }
    let slot = m.entry(*first).or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(inner) = slot {
        merge(inner, rest, val);
    }
}

/// OCSF, as the unwrapper reads it.
impl Unwrapper {
    /// An OCSF record: read through the CloudTrail fields it maps back to, written as itself.
    pub(super) fn ocsf(
        &mut self,
        bytes: &[u8],
        text: &str,
        outer: &Event<'_>,
        level: usize,
        visit: &mut dyn FnMut(Item<'_, '_>),
    ) {
        let mut buf = self.take(level);
        let mapped = to_cloudtrail(text, &mut buf);
        let decoded = if mapped {
            std::str::from_utf8(&buf).ok().and_then(|t| decode(t).ok())
        } else {
            None
        };
        match decoded {
            Some(mut event) => {
                event.shape = Str::from_static(SHAPE);
                let splice = splice_point(text, outer);
                visit(Item::Record(Record {
                    text,
                    splice,
                    event: &event,
                }));
            }
            None => visit(Item::Bad {
                bytes,
                error: RecordError::NotCloudTrail,
            }),
        }
        self.put(level, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back(text: &str) -> Value {
        let mut out = Vec::new();
        assert!(to_cloudtrail(text, &mut out), "not read: {text}");
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn both_id_layouts() {
        // The 1.1.0 layout (Authentication): uid = ARN, uid_alt = principal id.
        let v = back(
            r#"{"class_uid":3002,"metadata":{"product":{"name":"CloudTrail","version":"1.09"},"uid":"e1"},"time":1709629180000,"actor":{"user":{"account":{"uid":"111122223333"},"name":"mei","type":"IAMUser","uid":"arn:aws:iam::111122223333:user/mei","uid_alt":"AIDAEXAMPLEMEI000001"}},"api":{"operation":"ConsoleLogin","service":{"name":"signin.amazonaws.com"},"response":{"data":"{\"ConsoleLogin\":\"Success\"}"}},"unmapped":{"recipientAccountId":"111122223333","additionalEventData.MobileVersion":"No"}}"#,
        );
        assert_eq!(v["userIdentity"]["arn"], "arn:aws:iam::111122223333:user/mei");
        assert_eq!(v["userIdentity"]["principalId"], "AIDAEXAMPLEMEI000001");
        assert_eq!(v["userIdentity"]["accountId"], "111122223333");
        assert_eq!(v["eventTime"], "2024-03-05T08:59:40Z");
        assert_eq!(v["responseElements"]["ConsoleLogin"], "Success");
        assert_eq!(v["recipientAccountId"], "111122223333");
        assert_eq!(v["additionalEventData"]["MobileVersion"], "No");
        // The 1.0.0-rc.2 layout (API Activity 3005): uid = principal id, uuid = ARN.
        let v = back(
            r#"{"class_uid":3005,"metadata":{"product":{"name":"CloudTrail"}},"actor":{"user":{"account_uid":"444455556666","credential_uid":"AKIAEXAMPLEOPS000001","type":"IAMUser","uid":"AIDAEXAMPLEOPS000001","uuid":"arn:aws:iam::444455556666:user/ops"}},"api":{"operation":"X"}}"#,
        );
        assert_eq!(v["userIdentity"]["arn"], "arn:aws:iam::444455556666:user/ops");
        assert_eq!(v["userIdentity"]["principalId"], "AIDAEXAMPLEOPS000001");
        assert_eq!(v["userIdentity"]["accessKeyId"], "AKIAEXAMPLEOPS000001");
    }

    #[test]
    fn what_was_dropped_stays_absent() {
        let v = back(
            r#"{"class_uid":6003,"metadata":{"product":{"name":"CloudTrail"}},"actor":{"user":{"type":"AssumedRole","uid":"arn:aws:sts::1:assumed-role/r/s"},"session":{"issuer":"arn:aws:iam::1:role/r","created_time":1700000000123}},"api":{"operation":"X"}}"#,
        );
        let ui = &v["userIdentity"];
        assert_eq!(
            ui["sessionContext"]["sessionIssuer"],
            serde_json::json!({"arn":"arn:aws:iam::1:role/r"})
        );
        assert_eq!(
            ui["sessionContext"]["attributes"]["creationDate"],
            "2023-11-14T22:13:20Z"
        );
        assert!(ui["sessionContext"].get("ec2RoleDelivery").is_none());
        assert!(ui["sessionContext"].get("sourceIdentity").is_none());
        assert!(v.get("sharedEventID").is_none());
    }

    #[test]
    fn not_ocsf_cloudtrail() {
        let mut out = Vec::new();
        assert!(!to_cloudtrail(
            r#"{"class_uid":4001,"metadata":{"product":{"name":"CloudTrail"}}}"#,
            &mut out
        ));
        assert!(!to_cloudtrail(
            r#"{"class_uid":6003,"metadata":{"product":{"name":"Okta"}}}"#,
            &mut out
        ));
        assert!(!to_cloudtrail(r#"{"class_uid":"x"}"#, &mut out));
    }
}
