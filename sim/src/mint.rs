//! STS creating events (§3): AssumeRole (cross-account twice), SAML, web identity, session and federation tokens.

use crate::api::Mix;
use crate::event::{resources, Ev, Who};
use crate::gen::Gen;
use crate::ident::{Actor, Ident};
use crate::ids;
use crate::json::W;

/// How the new session's caller federated in (decides the event name and response extras).
#[derive(Clone, Copy)]
pub enum Via<'a> {
    /// Plain AssumeRole by an existing session or user.
    Role,
    /// AssumeRoleWithSAML: (provider ARN, name qualifier, issuer).
    Saml(&'a str, &'a str, &'a str),
    /// AssumeRoleWithWebIdentity: provider ARN.
    Web(&'a str),
}

/// What to ask STS for.
pub struct Ask<'a> {
    pub role: usize,
    pub sess: String,
    pub source_identity: Option<String>,
    pub duration: i64,
    pub mix: Mix,
    /// A recycled access key to hand out (collision injection); None mints a fresh one.
    pub key: Option<String>,
    pub via: Via<'a>,
    /// `webIdFederationData.attributes` the session's calls show (Cognito).
    pub web_attrs: Option<String>,
    /// Log only the role owner's copy of a cross-account call (the caller's copy is missing).
    pub owner_only: bool,
}

/// `"credentials":{accessKeyId, sessionToken, expiration}` with the non-ISO expiration.
fn credentials(w: &mut W, g: &mut Gen, key: &str, expires: i64) {
    w.obj("credentials")
        .str("accessKeyId", key)
        .str("sessionToken", &ids::session_token(&mut g.rng));
    w.str("expiration", &ids::aws_date(expires)).end();
}

fn sts_host(g: &mut Gen, region: &str) -> (String, &'static str) {
    // The CLI and SDKs mostly use the global endpoint (logged in us-east-1), some the regional one.
    if g.rng.chance(0.7) {
        ("sts.amazonaws.com".into(), "us-east-1")
    } else {
        (format!("sts.{region}.amazonaws.com"), "")
    }
}

impl Gen {
    /// Mints a role session for `a`; returns it and its creation time (possibly a second later
    /// than `t` to keep sessions distinct). Cross-account calls are logged twice.
    pub fn assume(&mut self, a: &Actor, t: i64, ask: Ask) -> (Actor, i64) {
        let r = &self.org.roles[ask.role];
        let (racct, rname, rid, rarn) = (r.acct, r.name.clone(), r.id.clone(), r.arn.clone());
        let racct_id = self.org.accounts[racct].id.clone();
        let region = self.org.accounts[racct].region;
        let src = ask
            .source_identity
            .or_else(|| a.id.source_identity().map(str::to_owned));
        let arn = format!("arn:aws:sts::{racct_id}:assumed-role/{rname}/{}", ask.sess);
        let t = match &ask.key {
            Some(_) => {
                self.force_second(&arn, t);
                t
            }
            None => self.creation_second(&arn, t),
        };
        let key = ask.key.clone().unwrap_or_else(|| self.temp_key(racct));

        let mut req = W::with_capacity(200);
        req.open().str("roleArn", &rarn).str("roleSessionName", &ask.sess);
        if let Via::Saml(idp, ..) = ask.via {
            req.str("sAMLAssertionID", &format!("_{}", ids::hex(&mut self.rng, 32)));
            req.str("principalArn", idp);
        }
        req.opt_str("sourceIdentity", src.as_deref());
        if ask.duration != 3600 || self.rng.chance(0.4) {
            req.num("durationSeconds", ask.duration);
        }
        req.end();

        let mut resp = W::with_capacity(1200);
        resp.open();
        credentials(&mut resp, self, &key, t + ask.duration);
        let subject = a.id.arn();
        match ask.via {
            Via::Role => {}
            Via::Saml(_, qualifier, issuer) => {
                resp.str("subjectType", "persistent")
                    .str("issuer", issuer)
                    .str("nameQualifier", qualifier);
            }
            Via::Web(_) => {
                resp.str("subjectFromWebIdentityToken", &subject);
            }
        }
        resp.obj("assumedRoleUser")
            .str("assumedRoleId", &format!("{rid}:{}", ask.sess));
        resp.str("arn", &arn)
            .end()
            .opt_str("sourceIdentity", src.as_deref());
        match ask.via {
            Via::Role => {}
            Via::Saml(..) => {
                resp.str("subject", &subject)
                    .str("audience", "https://signin.aws.amazon.com/saml");
            }
            Via::Web(provider) => {
                resp.str("provider", provider)
                    .str("audience", "sts.amazonaws.com");
            }
        }
        resp.end();

        let name = match ask.via {
            Via::Role => "AssumeRole",
            Via::Saml(..) => "AssumeRoleWithSAML",
            Via::Web(_) => "AssumeRoleWithWebIdentity",
        };
        let caller_acct = match a.id.account() {
            "" => racct_id.clone(),
            x => x.to_owned(),
        };
        let cross = caller_acct != racct_id;
        let (host, global) = sts_host(self, region);
        let region = if global.is_empty() { region } else { global };
        let (eid, rid_req) = (self.uuid(), self.uuid());
        let shared = cross.then(|| self.uuid());
        let mut res = vec![(racct_id.as_str(), "AWS::IAM::Role", rarn.as_str())];
        if let Via::Saml(idp, ..) = ask.via {
            res.push((racct_id.as_str(), "AWS::IAM::SAMLProvider", idp));
        }
        let mut ev = Ev::api(
            Who::Id(&a.id, None),
            t,
            "sts.amazonaws.com",
            name,
            region,
            &a.ip,
            &a.ua,
            &caller_acct,
            eid,
        );
        ev.req = Some(req.done());
        ev.resp = Some(resp.done());
        ev.request_id = Some(rid_req);
        ev.resources = Some(resources(&res));
        ev.shared = shared;
        ev.tls = Some((a.tls13, host));
        if !(cross && ask.owner_only) {
            self.emit(&ev, Some(a), true);
        }
        if cross {
            // The role owner's copy: the caller shrinks to its account and principal id (§4).
            let mut w = W::with_capacity(120);
            w.open()
                .str("type", "AWSAccount")
                .str("principalId", &a.id.principal_id());
            w.str("accountId", &caller_acct).end();
            ev.who = Who::Raw(w.done());
            ev.recipient = &racct_id;
            self.emit(&ev, Some(a), true);
        }

        let web = match ask.via {
            Via::Web(p) => Some(p.to_owned()),
            _ => None,
        };
        let id = Ident::Assumed {
            acct: racct_id.clone(),
            role_id: rid,
            role_name: rname,
            role_arn: rarn,
            sess: ask.sess,
            key,
            created: t,
            source_identity: src,
            ec2: None,
            web,
            web_attrs: ask.web_attrs,
        };
        (a.child(id, racct, ask.mix), t)
    }

    /// A refused AssumeRole: logged, creates nothing.
    pub fn assume_denied(&mut self, a: &Actor, t: i64, role: usize) {
        let rarn = self.org.roles[role].arn.clone();
        let msg = format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {rarn}",
            a.id.arn()
        );
        let (eid, rid) = (self.uuid(), self.uuid());
        let acct = a.id.account().to_owned();
        let mut ev = Ev::api(
            Who::Id(&a.id, None),
            t,
            "sts.amazonaws.com",
            "AssumeRole",
            "us-east-1",
            &a.ip,
            &a.ua,
            &acct,
            eid,
        );
        ev.error = Some(("AccessDenied", msg));
        ev.request_id = Some(rid);
        ev.tls = Some((a.tls13, "sts.amazonaws.com".into()));
        self.emit(&ev, Some(a), false);
    }

    /// GetSessionToken (MFA): the child is the same IAM user with an ASIA key and a creationDate.
    pub fn session_token(&mut self, a: &Actor, t: i64, duration: i64) -> Actor {
        self.session_token_with(a, t, duration, None)
    }

    /// GetSessionToken handing out `key` when given (a recycled key), else a fresh one.
    pub fn session_token_with(&mut self, a: &Actor, t: i64, duration: i64, key: Option<String>) -> Actor {
        let Ident::IamUser { acct, pid, name, .. } = &a.id else {
            unreachable!("GetSessionToken by a non-user")
        };
        let key = key.unwrap_or_else(|| self.temp_key(a.home));
        let mut req = W::with_capacity(120);
        req.open().num("durationSeconds", duration);
        req.str("serialNumber", &format!("arn:aws:iam::{acct}:mfa/{name}"))
            .end();
        let mut resp = W::with_capacity(900);
        resp.open();
        credentials(&mut resp, self, &key, t + duration);
        resp.end();
        let (eid, rid) = (self.uuid(), self.uuid());
        let mut ev = Ev::api(
            Who::Id(&a.id, None),
            t,
            "sts.amazonaws.com",
            "GetSessionToken",
            "us-east-1",
            &a.ip,
            &a.ua,
            acct,
            eid,
        );
        ev.req = Some(req.done());
        ev.resp = Some(resp.done());
        ev.request_id = Some(rid);
        ev.tls = Some((a.tls13, "sts.amazonaws.com".into()));
        self.emit(&ev, Some(a), true);
        let id = Ident::IamUser {
            acct: acct.clone(),
            pid: pid.clone(),
            name: name.clone(),
            key: Some(key),
            created: Some(t),
            mfa: true,
        };
        a.child(id, a.home, a.mix)
    }

    /// GetFederationToken: the child is a FederatedUser issued by the IAM user.
    pub fn federation(&mut self, a: &Actor, t: i64, fed_name: &str, duration: i64) -> (Actor, i64) {
        self.federation_with(a, t, fed_name, duration, None)
    }

    /// GetFederationToken handing out `key` when given: a recycled key, and the second `t`
    /// exactly (the collision injections share it on purpose).
    pub fn federation_with(
        &mut self,
        a: &Actor,
        t: i64,
        fed_name: &str,
        duration: i64,
        key: Option<String>,
    ) -> (Actor, i64) {
        let Ident::IamUser { acct, pid, name, .. } = &a.id else {
            unreachable!("federation by a non-user")
        };
        let arn = format!("arn:aws:sts::{acct}:federated-user/{fed_name}");
        let t = match &key {
            Some(_) => {
                self.force_second(&arn, t);
                t
            }
            None => self.creation_second(&arn, t),
        };
        let key = key.unwrap_or_else(|| self.temp_key(a.home));
        let mut req = W::with_capacity(300);
        req.open().str("name", fed_name).num("durationSeconds", duration);
        req.str("policy", "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\",\"s3:List*\",\"ec2:Describe*\"],\"Resource\":\"*\"}]}");
        req.end();
        let mut resp = W::with_capacity(900);
        resp.open();
        credentials(&mut resp, self, &key, t + duration);
        resp.obj("federatedUser")
            .str("federatedUserId", &format!("{acct}:{fed_name}"))
            .str("arn", &arn);
        resp.end().num("packedPolicySize", self.rng.range(5, 12)).end();
        let (eid, rid) = (self.uuid(), self.uuid());
        let mut ev = Ev::api(
            Who::Id(&a.id, None),
            t,
            "sts.amazonaws.com",
            "GetFederationToken",
            "us-east-1",
            &a.ip,
            &a.ua,
            acct,
            eid,
        );
        ev.read_only = Some(false);
        ev.req = Some(req.done());
        ev.resp = Some(resp.done());
        ev.request_id = Some(rid);
        ev.tls = Some((a.tls13, "sts.amazonaws.com".into()));
        self.emit(&ev, Some(a), true);
        let id = Ident::Federated {
            acct: acct.clone(),
            name: fed_name.to_owned(),
            key,
            created: t,
            issuer_pid: pid.clone(),
            issuer_name: name.clone(),
        };
        (a.child(id, a.home, Mix::ReadOnly), t)
    }

    /// AssumeRoot by a management-account session `a`: a root task session on member account
    /// `target` (at most 900 s), logged in the caller's account; the child is `Root` with
    /// `assumedRoot`, known by its key only. `key`: a recycled key to hand out.
    pub fn assume_root(&mut self, a: &Actor, t: i64, target: usize, key: Option<String>) -> Actor {
        const TASKS: [&str; 3] = [
            "S3UnlockBucketPolicy",
            "IAMDeleteRootUserCredentials",
            "SQSUnlockQueuePolicy",
        ];
        let target_id = self.org.accounts[target].id.clone();
        let key = key.unwrap_or_else(|| self.temp_key(target));
        let duration = 900;
        let task = *self.rng.pick(&TASKS);
        let mut req = W::with_capacity(200);
        req.open().str("targetPrincipal", &target_id);
        req.obj("taskPolicyArn")
            .str("arn", &format!("arn:aws:iam::aws:policy/root-task/{task}"))
            .end();
        req.num("durationSeconds", duration).end();
        let mut resp = W::with_capacity(900);
        resp.open();
        credentials(&mut resp, self, &key, t + duration);
        resp.end();
        let caller_acct = a.id.account().to_owned();
        let (eid, rid) = (self.uuid(), self.uuid());
        let mut ev = Ev::api(
            Who::Id(&a.id, None),
            t,
            "sts.amazonaws.com",
            "AssumeRoot",
            "us-east-1",
            &a.ip,
            &a.ua,
            &caller_acct,
            eid,
        );
        ev.req = Some(req.done());
        ev.resp = Some(resp.done());
        ev.request_id = Some(rid);
        ev.tls = Some((a.tls13, "sts.us-east-1.amazonaws.com".into()));
        self.emit(&ev, Some(a), true);
        let id = Ident::Root {
            acct: target_id,
            key: Some(key),
            created: Some(t),
            assumed: true,
        };
        a.child(id, target, Mix::Admin)
    }

    /// A service (EC2 for an instance profile, Lambda for a function) assuming a role; the shape
    /// follows the real records: AWSService caller, credentials only, sharedEventID, no TLS.
    /// `client` is the workload that will use the session (its IP, UA and truth).
    #[allow(clippy::too_many_arguments)]
    pub fn service_assume(
        &mut self,
        client: &Actor,
        by: &'static str,
        t: i64,
        role: usize,
        sess: &str,
        duration: i64,
        ec2: Option<String>,
    ) -> (Actor, i64) {
        let r = &self.org.roles[role];
        let (racct, rname, rid, rarn) = (r.acct, r.name.clone(), r.id.clone(), r.arn.clone());
        let racct_id = self.org.accounts[racct].id.clone();
        let region = self.org.accounts[racct].region;
        let arn = format!("arn:aws:sts::{racct_id}:assumed-role/{rname}/{sess}");
        let t = self.creation_second(&arn, t);
        let key = self.temp_key(racct);
        let mut req = W::with_capacity(200);
        req.open()
            .str("roleArn", &rarn)
            .str("roleSessionName", sess)
            .end();
        let mut resp = W::with_capacity(1000);
        resp.open();
        credentials(&mut resp, self, &key, t + duration);
        resp.end();
        let caller = Ident::Service { by };
        let (eid, rid_req, shared) = (self.uuid(), self.uuid(), self.uuid());
        let mut ev = Ev::api(
            Who::Id(&caller, None),
            t,
            "sts.amazonaws.com",
            "AssumeRole",
            region,
            by,
            by,
            &racct_id,
            eid,
        );
        ev.req = Some(req.done());
        ev.resp = Some(resp.done());
        ev.request_id = Some(rid_req);
        ev.resources = Some(resources(&[(&racct_id, "AWS::IAM::Role", &rarn)]));
        ev.shared = Some(shared);
        self.emit(&ev, Some(client), true);
        let id = Ident::Assumed {
            acct: racct_id,
            role_id: rid,
            role_name: rname,
            role_arn: rarn,
            sess: sess.to_owned(),
            key,
            created: t,
            source_identity: None,
            ec2,
            web: None,
            web_attrs: None,
        };
        (client.child(id, racct, client.mix), t)
    }
}
