//! Borrowed, lenient view of the fields of a CloudTrail record that attribution reads.
//!
//! Real records hold numbers where strings belong, `null` where objects belong, duplicate keys and
//! keys that differ only in case. None of that may cost us the event, so every field here decodes
//! leniently: a value of the wrong type reads as absent instead of failing the whole record, and a
//! duplicate key keeps the last value (as `jq` does). Only broken JSON is an error. Strings borrow
//! from the input unless they hold escapes; unknown fields are skipped without allocating.

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

pub(crate) mod fast;
pub(crate) use fast::{Element, Elements};

/// A string field: absent, `null`, `""` or of another type all read as `None` through [`Str::get`].
/// Integers and booleans are kept as their text (account ids arrive as numbers in some sources).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Str<'a>(pub Option<Cow<'a, str>>);

impl<'a> Str<'a> {
    /// The value, if present and not empty.
    #[inline]
    pub fn get(&self) -> Option<&str> {
        match &self.0 {
            Some(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    pub fn from_static(s: &'static str) -> Self {
        Str(Some(Cow::Borrowed(s)))
    }
}

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Str::from_static(if v { "true" } else { "false" }))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Str(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Str(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Str(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Str(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every string field of a decoded record, in a fixed order: lets a decoded event cross a thread
/// as the places of its strings and be rebuilt there without parsing again (`--threads`).
pub trait StrFields<'a> {
    fn each_str<F: FnMut(&Str<'a>)>(&self, f: &mut F);
    fn fill_strs<F: FnMut() -> Str<'a>>(&mut self, next: &mut F);
}

impl<'a> StrFields<'a> for Str<'a> {
    fn each_str<F: FnMut(&Str<'a>)>(&self, f: &mut F) {
        f(self)
    }
    fn fill_strs<F: FnMut() -> Str<'a>>(&mut self, next: &mut F) {
        *self = next();
    }
}

/// Raw values (envelopes, an old annotation) have done their work before a record crosses.
impl<'a> StrFields<'a> for Option<&'a RawValue> {
    fn each_str<F: FnMut(&Str<'a>)>(&self, _: &mut F) {}
    fn fill_strs<F: FnMut() -> Str<'a>>(&mut self, _: &mut F) {}
}

/// Skips any value, through `deserialize_any` so that serde_json's nesting limit (128) applies:
/// `IgnoredAny` skips without one, and a record nested thousands deep would pass through us only
/// to stop `jq` downstream (jq 1.6 refuses depth 256). No recursion deeper than that limit.
pub(crate) struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Skip;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_unit<E>(self) -> Result<Skip, E> {
                Ok(Skip)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Skip, A::Error> {
                drain_seq(seq).map(|()| Skip)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Skip, A::Error> {
                drain_map(map).map(|()| Skip)
            }
        }
        d.deserialize_any(V)
    }
}

/// Skips the rest of an array. Used where an object or string was expected.
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Skip>()?.is_some() {}
    Ok(())
}

/// Skips the rest of an object. Used where a string was expected.
pub(crate) fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, Skip>()?.is_some() {}
    Ok(())
}

/// Decodes a map's next value into `slot`. Never inlined on purpose: one copy per field type
/// instead of one per field keeps the decoder small enough for the instruction cache, which
/// measured faster than inlining (62 string fields, each arm a full JSON parse).
#[inline(never)]
fn next_into<'de, A: MapAccess<'de>, T: Deserialize<'de>>(map: &mut A, slot: &mut T) -> Result<(), A::Error> {
    *slot = map.next_value()?;
    Ok(())
}

/// Declares a struct of lenient fields with a hand-written `Deserialize`: keys match exactly, the
/// last duplicate wins, unknown keys are skipped, and a value that is not an object gives the default.
macro_rules! lenient_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal, )* }) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        // Each field is the CloudTrail key written beside it in the declaration.
        #[allow(missing_docs)]
        pub struct $name<'a> {
            $( $(#[$fmeta])* pub $field: $ty, )*
            _borrow: PhantomData<&'a str>,
        }

                impl<'a> StrFields<'a> for $name<'a> {
            fn each_str<F: FnMut(&Str<'a>)>(&self, f: &mut F) {
                $( StrFields::each_str(&self.$field, f); )*
            }
            fn fill_strs<F: FnMut() -> Str<'a>>(&mut self, next: &mut F) {
                $( StrFields::fill_strs(&mut self.$field, next); )*
            }
        }

        impl<'de> Deserialize<'de> for $name<'de> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[allow(non_camel_case_types)]
                enum Field { $( $field, )* __unknown }
                struct FieldVisitor;
                impl<'de> Visitor<'de> for FieldVisitor {
                    type Value = Field;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E>(self, v: &str) -> Result<Field, E> {
                        Ok(match v { $( $key => Field::$field, )* _ => Field::__unknown })
                    }
                }
                impl<'de> Deserialize<'de> for Field {
                    fn deserialize<D2: Deserializer<'de>>(d: D2) -> Result<Self, D2::Error> {
                        d.deserialize_identifier(FieldVisitor)
                    }
                }
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $name<'de>;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str("any JSON value")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<Field>()? {
                            match key {
                                $( Field::$field => next_into(&mut map, &mut out.$field)?, )*
                                Field::__unknown => { map.next_value::<Skip>()?; }
                            }
                        }
                        Ok(out)
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                        drain_seq(seq).map(|()| Self::Value::default())
                    }
                    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> { Ok(Self::Value::default()) }
                    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> { Ok(Self::Value::default()) }
                    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> { Ok(Self::Value::default()) }
                    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> { Ok(Self::Value::default()) }
                    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> { Ok(Self::Value::default()) }
                    fn visit_unit<E>(self) -> Result<Self::Value, E> { Ok(Self::Value::default()) }
                    fn visit_none<E>(self) -> Result<Self::Value, E> { Ok(Self::Value::default()) }
                }
                d.deserialize_any(V)
            }
        }

        impl<'a> fast::Scan<'a> for $name<'a> {
            fn scan(sc: &mut fast::Scanner<'a>) -> Result<Self, fast::Bail> {
                let mut out = Self::default();
                if sc.peek() != Some(b'{') {
                    sc.skip()?;
                    return Ok(out);
                }
                if sc.enter_object()? {
                    loop {
                        match sc.key()? {
                            $( $key => out.$field = fast::Scan::scan(sc)?, )*
                            _ => sc.skip()?,
                        }
                        if !sc.next_member()? {
                            break;
                        }
                    }
                }
                Ok(out)
            }
        }
    };
}

lenient_struct! {
    /// One CloudTrail record, or an envelope around one (EventBridge, kcat, lookup-events).
    pub struct Event {
        event_version: Str<'a> = "eventVersion",
        user_identity: UserIdentity<'a> = "userIdentity",
        event_time: Str<'a> = "eventTime",
        /// Logstash replaces `eventTime` with this in some public data sets.
        at_timestamp: Str<'a> = "@timestamp",
        event_source: Str<'a> = "eventSource",
        event_name: Str<'a> = "eventName",
        source_ip: Str<'a> = "sourceIPAddress",
        user_agent: Str<'a> = "userAgent",
        error_code: Str<'a> = "errorCode",
        request_parameters: RequestParameters<'a> = "requestParameters",
        response_elements: ResponseElements<'a> = "responseElements",
        additional_event_data: AdditionalEventData<'a> = "additionalEventData",
        service_event_details: ServiceEventDetails<'a> = "serviceEventDetails",
        event_id: Str<'a> = "eventID",
        event_type: Str<'a> = "eventType",
        recipient_account_id: Str<'a> = "recipientAccountId",
        shared_event_id: Str<'a> = "sharedEventID",
        session_credential_from_console: Str<'a> = "sessionCredentialFromConsole",
        /// The call came through a VPC endpoint: from inside a VPC (misuse signals).
        vpc_endpoint_id: Str<'a> = "vpcEndpointId",
        /// Our own annotation, when a record passes through ctail-filter twice.
        ctail: Option<&'a RawValue> = "ctail",
        /// Set by the reader, never read from input (no record has this key): `"ocsf"` when
        /// the fields were mapped back from an OCSF record, which lacks some of them.
        shape: Str<'a> = "\0ctail-shape",
        // Envelopes.
        detail: Option<&'a RawValue> = "detail",
        detail_type: Str<'a> = "detail-type",
        payload: Option<&'a RawValue> = "payload",
        cloud_trail_event: Option<&'a RawValue> = "CloudTrailEvent",
    }
}

lenient_struct! {
    /// `userIdentity`: the caller.
    pub struct UserIdentity {
        kind: Str<'a> = "type",
        principal_id: Str<'a> = "principalId",
        arn: Str<'a> = "arn",
        account_id: Str<'a> = "accountId",
        access_key_id: Str<'a> = "accessKeyId",
        user_name: Str<'a> = "userName",
        invoked_by: Str<'a> = "invokedBy",
        identity_provider: Str<'a> = "identityProvider",
        credential_id: Str<'a> = "credentialId",
        session_context: SessionContext<'a> = "sessionContext",
        on_behalf_of: OnBehalfOf<'a> = "onBehalfOf",
        in_scope_of: InScopeOf<'a> = "inScopeOf",
    }
}

lenient_struct! {
    pub struct SessionContext {
        session_issuer: SessionIssuer<'a> = "sessionIssuer",
        attributes: SessionAttributes<'a> = "attributes",
        source_identity: Str<'a> = "sourceIdentity",
        ec2_role_delivery: Str<'a> = "ec2RoleDelivery",
        web_id_federation_data: WebIdFederationData<'a> = "webIdFederationData",
        assumed_root: Str<'a> = "assumedRoot",
    }
}

lenient_struct! {
    /// Web identity sessions name their provider and token claims on every call.
    pub struct WebIdFederationData {
        federated_provider: Str<'a> = "federatedProvider",
        attributes: WebIdAttributes<'a> = "attributes",
    }
}

/// `webIdFederationData.attributes`: claims keyed by provider (`cognito-identity.amazonaws.com:sub`,
/// `accounts.google.com:sub`, …). Only the subject is kept: the value of the key ending in `:sub`.
#[derive(Debug, Default)]
pub struct WebIdAttributes<'a> {
    pub subject: Str<'a>,
}

impl<'a> StrFields<'a> for WebIdAttributes<'a> {
    fn each_str<F: FnMut(&Str<'a>)>(&self, f: &mut F) {
        f(&self.subject)
    }
    fn fill_strs<F: FnMut() -> Str<'a>>(&mut self, next: &mut F) {
        self.subject = next();
    }
}

impl<'de> Deserialize<'de> for WebIdAttributes<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WebIdAttributes<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of claims")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = WebIdAttributes::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key.ends_with(":sub") {
                        out.subject = map.next_value()?;
                    } else {
                        map.next_value::<Skip>()?;
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| WebIdAttributes::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(WebIdAttributes::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(WebIdAttributes::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(WebIdAttributes::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(WebIdAttributes::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(WebIdAttributes::default())
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(WebIdAttributes::default())
            }
        }
        d.deserialize_any(V)
    }
}

impl<'a> fast::Scan<'a> for WebIdAttributes<'a> {
    fn scan(sc: &mut fast::Scanner<'a>) -> Result<Self, fast::Bail> {
        let mut out = Self::default();
        if sc.peek() != Some(b'{') {
            sc.skip()?;
            return Ok(out);
        }
        if sc.enter_object()? {
            loop {
                if sc.key()?.ends_with(":sub") {
                    out.subject = fast::Scan::scan(sc)?;
                } else {
                    sc.skip()?;
                }
                if !sc.next_member()? {
                    break;
                }
            }
        }
        Ok(out)
    }
}

lenient_struct! {
    pub struct SessionIssuer {
        kind: Str<'a> = "type",
        principal_id: Str<'a> = "principalId",
        arn: Str<'a> = "arn",
        account_id: Str<'a> = "accountId",
        user_name: Str<'a> = "userName",
    }
}

lenient_struct! {
    pub struct SessionAttributes {
        creation_date: Str<'a> = "creationDate",
        mfa_authenticated: Str<'a> = "mfaAuthenticated",
    }
}

lenient_struct! {
    /// Identity Center: the user a portal call was made for.
    pub struct OnBehalfOf {
        user_id: Str<'a> = "userId",
        identity_store_arn: Str<'a> = "identityStoreArn",
    }
}

lenient_struct! {
    /// EC2 instance-profile credentials name the instance they were issued to.
    pub struct InScopeOf {
        issuer_type: Str<'a> = "issuerType",
        credentials_issued_to: Str<'a> = "credentialsIssuedTo",
    }
}

lenient_struct! {
    pub struct RequestParameters {
        role_arn: Str<'a> = "roleArn",
        role_session_name: Str<'a> = "roleSessionName",
        source_identity: Str<'a> = "sourceIdentity",
        /// GetFederationToken's federated user name.
        name: Str<'a> = "name",
        duration_seconds: Str<'a> = "durationSeconds",
        target_principal: Str<'a> = "targetPrincipal",
        // Doors closed on live sessions (misuse signals): UpdateAccessKey / DeleteAccessKey,
        // DeleteUser, PutRolePolicy `AWSRevokeOlderSessions`.
        access_key_id: Str<'a> = "accessKeyId",
        user_name: Str<'a> = "userName",
        status: Str<'a> = "status",
        role_name: Str<'a> = "roleName",
        policy_name: Str<'a> = "policyName",
    }
}

lenient_struct! {
    pub struct ResponseElements {
        credentials: Credentials<'a> = "credentials",
        assumed_role_user: AssumedRoleUser<'a> = "assumedRoleUser",
        federated_user: FederatedUserElem<'a> = "federatedUser",
        subject: Str<'a> = "subject",
        issuer: Str<'a> = "issuer",
        name_qualifier: Str<'a> = "nameQualifier",
        subject_from_web_identity_token: Str<'a> = "subjectFromWebIdentityToken",
        provider: Str<'a> = "provider",
        source_identity: Str<'a> = "sourceIdentity",
        console_login: Str<'a> = "ConsoleLogin",
        switch_role: Str<'a> = "SwitchRole",
        get_signin_token: Str<'a> = "GetSigninToken",
    }
}

lenient_struct! {
    pub struct Credentials {
        access_key_id: Str<'a> = "accessKeyId",
        expiration: Str<'a> = "expiration",
    }
}

lenient_struct! {
    pub struct AssumedRoleUser {
        arn: Str<'a> = "arn",
        assumed_role_id: Str<'a> = "assumedRoleId",
    }
}

lenient_struct! {
    pub struct FederatedUserElem {
        arn: Str<'a> = "arn",
        federated_user_id: Str<'a> = "federatedUserId",
    }
}

lenient_struct! {
    pub struct AdditionalEventData {
        switch_from: Str<'a> = "SwitchFrom",
        redirect_to: Str<'a> = "RedirectTo",
    }
}

lenient_struct! {
    /// Service events: sso GetRoleCredentials names the role and account it handed out.
    pub struct ServiceEventDetails {
        role_name: Str<'a> = "role_name",
        account_id: Str<'a> = "account_id",
    }
}

impl UserIdentity<'_> {
    /// When the caller's session began (`sessionContext.attributes.creationDate`), if it says.
    pub(crate) fn session_start(&self) -> Option<crate::time::Epoch> {
        self.session_context
            .attributes
            .creation_date
            .get()
            .and_then(crate::time::parse_time)
    }
}

impl<'a> Event<'a> {
    /// Whether this object is a CloudTrail record rather than an envelope or something else.
    pub fn looks_like_cloudtrail(&self) -> bool {
        (self.event_name.get().is_some()
            || self.event_source.get().is_some()
            || self.event_id.get().is_some()
            || self.event_version.get().is_some()
            || self.event_time.get().is_some())
            && self.notification_source().is_none()
    }

    /// The `aws:s3` of a record that AWS's event notifications and Lambda's event sources write
    /// (S3, SQS, Kinesis, DynamoDB): it has eventVersion, eventSource, eventName and eventTime
    /// too, even a userIdentity, but CloudTrail's eventSource is always a service's host name
    /// (`s3.amazonaws.com`).
    pub fn notification_source(&self) -> Option<&str> {
        self.event_source.get().filter(|s| s.starts_with("aws:"))
    }

    /// The event time as given (`eventTime`, else Logstash's `@timestamp`).
    pub fn time_str(&self) -> Option<&str> {
        self.event_time.get().or_else(|| self.at_timestamp.get())
    }
}

/// Decodes one record. Fails only on JSON that is not well-formed (or nested too deeply).
///
/// The common record takes the scanner in `event/fast.rs`; whatever it is unsure of, serde_json reads
/// (and words the error for).
pub fn decode(text: &str) -> Result<Event<'_>, serde_json::Error> {
    match fast::decode(text) {
        Ok(event) => Ok(event),
        Err(fast::Bail) => decode_with_serde(text),
    }
}

/// Decodes one record with serde_json alone: the authority the fast path is tested against.
pub fn decode_with_serde(text: &str) -> Result<Event<'_>, serde_json::Error> {
    serde_json::from_str(text)
}

/// Every string field's value, in a fixed order: what the tests and the fuzz target compare the
/// fast path and serde_json by.
pub fn field_values(event: &Event<'_>) -> Vec<Option<String>> {
    let mut v = Vec::new();
    event.each_str(&mut |s| v.push(s.0.as_deref().map(str::to_owned)));
    v
}

/// The fast path alone: `None` where it leaves the record to serde_json. For the tests and the
/// fuzz target that hold it to [`decode_with_serde`].
pub fn decode_fast(text: &str) -> Option<Event<'_>> {
    fast::decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_read_as_absent() {
        let e = decode(r#"{"eventName":5,"userIdentity":"x","eventTime":null,"recipientAccountId":123456789012,"responseElements":[1,{"a":2}]}"#).unwrap();
        assert_eq!(e.event_name.get(), Some("5"));
        assert!(e.user_identity.arn.get().is_none());
        assert!(e.event_time.get().is_none());
        assert_eq!(e.recipient_account_id.get(), Some("123456789012"));
        assert!(e.response_elements.credentials.access_key_id.get().is_none());
    }

    #[test]
    fn duplicate_keys_keep_the_last_and_case_matters() {
        let e = decode(r#"{"eventName":"A","EventName":"B","eventName":"C"}"#).unwrap();
        assert_eq!(e.event_name.get(), Some("C"));
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let e = decode(r#"{"eventName":"AssumeRole","eventSource":"s\u0074s"}"#).unwrap();
        assert!(matches!(e.event_name.0, Some(Cow::Borrowed(_))));
        assert_eq!(e.event_source.get(), Some("sts"));
    }

    #[test]
    fn broken_json_is_an_error() {
        assert!(decode(r#"{"eventName":"#).is_err());
        assert!(decode(&"[".repeat(10_000)).is_err());
        let deep = format!(
            "{{\"eventName\":\"A\",\"x\":{}{}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(decode(&deep).unwrap_err().to_string().contains("recursion limit"));
        let ok = format!(
            "{{\"eventName\":\"A\",\"x\":{}{}}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn envelope_fields_hand_back_raw_ranges() {
        let text = r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"X"}}"#;
        let e = decode(text).unwrap();
        assert_eq!(e.detail.unwrap().get(), r#"{"eventName":"X"}"#);
        assert!(!e.looks_like_cloudtrail());
    }
}
