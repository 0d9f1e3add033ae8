//! One CloudTrail record: the envelope around `userIdentity`, written in the key order AWS uses.

use crate::ident::Ident;
use crate::ids;
use crate::json::W;

/// The caller as it appears in the record.
pub enum Who<'a> {
    /// A known identity, optionally with `invokedBy` (a service acting for it).
    Id(&'a Ident, Option<&'a str>),
    /// A pre-rendered `userIdentity` object (AWSAccount copies, sign-in failures, service events).
    Raw(String),
}

/// Fields of a record; optional ones are left out, not written as null, unless CloudTrail writes
/// null (requestParameters / responseElements).
pub struct Ev<'a> {
    pub who: Who<'a>,
    pub t: i64,
    pub source: &'a str,
    pub name: &'a str,
    pub region: &'a str,
    pub ip: &'a str,
    pub ua: &'a str,
    pub error: Option<(&'a str, String)>,
    pub req: Option<String>,
    pub resp: Option<String>,
    pub extra: Option<String>,
    pub request_id: Option<String>,
    pub event_id: String,
    pub read_only: Option<bool>,
    pub resources: Option<String>,
    pub event_type: &'a str,
    pub api_version: Option<&'a str>,
    pub recipient: &'a str,
    pub shared: Option<String>,
    pub vpce: Option<String>,
    pub details: Option<String>,
    /// (TLS 1.3?, clientProvidedHostHeader)
    pub tls: Option<(bool, String)>,
    pub console: bool,
}

impl<'a> Ev<'a> {
    /// An ordinary successful API call with nothing optional set yet.
    #[allow(clippy::too_many_arguments)]
    pub fn api(
        who: Who<'a>,
        t: i64,
        source: &'a str,
        name: &'a str,
        region: &'a str,
        ip: &'a str,
        ua: &'a str,
        recipient: &'a str,
        event_id: String,
    ) -> Self {
        Ev {
            who,
            t,
            source,
            name,
            region,
            ip,
            ua,
            error: None,
            req: None,
            resp: None,
            extra: None,
            request_id: None,
            event_id,
            read_only: Some(true),
            resources: None,
            event_type: "AwsApiCall",
            api_version: None,
            recipient,
            shared: None,
            vpce: None,
            details: None,
            tls: None,
            console: false,
        }
    }

    #[cfg(test)]
    pub fn render(&self) -> String {
        let mut w = W::with_capacity(2048);
        self.render_into(&mut w);
        w.done()
    }

    /// Writes the record into `w`, cleared first: the generator reuses one buffer and copies
    /// out an exactly sized string, which keeps a million held events cheap.
    pub fn render_into(&self, w: &mut W) {
        w.clear();
        w.open().str("eventVersion", "1.08");
        match &self.who {
            Who::Id(id, by) => id.render(w, *by),
            Who::Raw(s) => {
                w.raw("userIdentity", s);
            }
        }
        w.str("eventTime", &ids::iso(self.t))
            .str("eventSource", self.source);
        w.str("eventName", self.name).str("awsRegion", self.region);
        w.str("sourceIPAddress", self.ip).str("userAgent", self.ua);
        if let Some((code, msg)) = &self.error {
            if !code.is_empty() {
                w.str("errorCode", code);
            }
            w.str("errorMessage", msg);
        }
        w.raw_or_null("requestParameters", self.req.as_deref());
        w.raw_or_null("responseElements", self.resp.as_deref());
        if let Some(x) = &self.extra {
            w.raw("additionalEventData", x);
        }
        w.opt_str("requestID", self.request_id.as_deref())
            .str("eventID", &self.event_id);
        if let Some(ro) = self.read_only {
            w.bool("readOnly", ro);
        }
        if let Some(r) = &self.resources {
            w.raw("resources", r);
        }
        w.str("eventType", self.event_type)
            .opt_str("apiVersion", self.api_version);
        w.bool("managementEvent", true)
            .str("recipientAccountId", self.recipient);
        w.opt_str("sharedEventID", self.shared.as_deref());
        w.opt_str("vpcEndpointId", self.vpce.as_deref());
        if let Some(d) = &self.details {
            w.raw("serviceEventDetails", d);
        }
        w.str("eventCategory", "Management");
        if let Some((v13, host)) = &self.tls {
            let (v, c) = if *v13 {
                ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
            } else {
                ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
            };
            w.obj("tlsDetails").str("tlsVersion", v).str("cipherSuite", c);
            w.str("clientProvidedHostHeader", host).end();
        }
        if self.console {
            w.str("sessionCredentialFromConsole", "true");
        }
        w.end();
    }
}

/// `[{"accountId":…,"type":…,"ARN":…}]`; an empty type is left out, as SSM does.
pub fn resources(items: &[(&str, &str, &str)]) -> String {
    let mut w = W::with_capacity(160);
    w.s.push('[');
    for (acct, ty, arn) in items {
        w.open().str("accountId", acct);
        if !ty.is_empty() {
            w.str("type", ty);
        }
        w.str("ARN", arn).end();
    }
    w.s.push(']');
    w.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_order() {
        let id = Ident::Service {
            by: "ec2.amazonaws.com",
        };
        let mut ev = Ev::api(
            Who::Id(&id, None),
            1_714_521_600,
            "sts.amazonaws.com",
            "AssumeRole",
            "us-east-1",
            "ec2.amazonaws.com",
            "ec2.amazonaws.com",
            "111122223333",
            "e".into(),
        );
        ev.resources = Some(resources(&[("111122223333", "AWS::IAM::Role", "arn:x")]));
        ev.shared = Some("s".into());
        let s = ev.render();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["userIdentity"]["invokedBy"], "ec2.amazonaws.com");
        let keys = [
            "eventTime",
            "requestParameters",
            "eventID",
            "resources",
            "eventType",
            "sharedEventID",
        ];
        let pos: Vec<usize> = keys
            .iter()
            .map(|k| s.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(pos.windows(2).all(|p| p[0] < p[1]), "{s}");
    }
}
