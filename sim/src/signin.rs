//! Console and portal events (ConsoleLogin, SwitchRole, sso GetRoleCredentials) and unattributable service events.

use crate::api::Mix;
use crate::event::{resources, Ev, Who};
use crate::gen::Gen;
use crate::ident::{Actor, Console, Ident};
use crate::ids;
use crate::json::W;

impl Gen {
    /// ConsoleLogin by an IAM user or root (`a` carries the identity without a key). A failure is
    /// logged and returns None; a success returns the console session with rotating keys.
    pub fn console_login(&mut self, a: &Actor, browser: &str, t: i64, ok: bool) -> Option<Actor> {
        let acct = a.id.account().to_owned();
        let t = if ok {
            self.creation_second(&a.id.arn(), t)
        } else {
            t
        };
        let who = if ok {
            Who::Id(&a.id, None)
        } else {
            // Failed sign-ins show no ARN and an empty key, as in AWS's examples.
            let mut w = W::with_capacity(160);
            w.open().str(
                "type",
                if matches!(a.id, Ident::Root { .. }) {
                    "Root"
                } else {
                    "IAMUser"
                },
            );
            w.str("principalId", &a.id.principal_id())
                .str("accountId", &acct)
                .str("accessKeyId", "");
            if let Ident::IamUser { name, .. } = &a.id {
                w.str("userName", name);
            }
            w.end();
            Who::Raw(w.done())
        };
        let mfa = matches!(a.id, Ident::Root { .. }) || self.rng.chance(0.6);
        let login = format!(
            "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_{}",
            ids::hex(&mut self.rng, 16)
        );
        let mut x = W::with_capacity(200);
        x.open().str("LoginTo", &login);
        x.str("MobileVersion", "No")
            .str("MFAUsed", if mfa { "Yes" } else { "No" })
            .end();
        let eid = self.uuid();
        let mut ev = Ev::api(
            who,
            t,
            "signin.amazonaws.com",
            "ConsoleLogin",
            "us-east-1",
            &a.ip,
            browser,
            &acct,
            eid,
        );
        if !ok {
            // CloudTrail writes only errorMessage for a failed sign-in (an empty code is left out).
            ev.error = Some(("", "Failed authentication".into()));
        }
        ev.resp = Some(format!(
            "{{\"ConsoleLogin\":\"{}\"}}",
            if ok { "Success" } else { "Failure" }
        ));
        ev.extra = Some(x.done());
        ev.read_only = Some(false);
        ev.event_type = "AwsConsoleSignIn";
        ev.tls = Some((true, "signin.aws.amazon.com".into()));
        self.emit(&ev, Some(a), ok);
        if !ok {
            return None;
        }
        let mut id = a.id.clone();
        let key = self.temp_key(a.home);
        match &mut id {
            Ident::IamUser {
                key: k,
                created,
                mfa: m,
                ..
            } => {
                (*k, *created, *m) = (Some(key), Some(t), mfa);
            }
            Ident::Root { key: k, created, .. } => {
                (*k, *created) = (Some(key), Some(t));
            }
            _ => unreachable!("console login by {:?}", a.id),
        }
        let mut s = a.child(id, a.home, Mix::Console);
        s.ua = "AWS Internal".into();
        s.console = Some(Console {
            key_until: t + self.rng.range(120, 900),
            browser: browser.to_owned(),
        });
        Some(s)
    }

    /// SwitchRole from a console user session: the record already shows the new role session,
    /// named after the user, and itself mints it.
    pub fn switch_role(&mut self, a: &Actor, t: i64, role: usize) -> (Actor, i64) {
        self.switch_role_with(a, t, role, None)
    }

    /// SwitchRole from a console session (an IAM user's, or a federated role session's, whose
    /// session name the new session keeps). `key`: a recycled key, and the second `t` exactly.
    pub fn switch_role_with(&mut self, a: &Actor, t: i64, role: usize, key: Option<String>) -> (Actor, i64) {
        let name = match &a.id {
            Ident::IamUser { name, .. } => name,
            Ident::Assumed { sess, .. } => sess,
            _ => unreachable!("SwitchRole by {:?}", a.id),
        };
        let r = &self.org.roles[role];
        let (racct, rname, rid, rarn) = (r.acct, r.name.clone(), r.id.clone(), r.arn.clone());
        let racct_id = self.org.accounts[racct].id.clone();
        let region = self.org.accounts[racct].region;
        let arn = format!("arn:aws:sts::{racct_id}:assumed-role/{rname}/{name}");
        let t = match &key {
            Some(_) => {
                self.force_second(&arn, t);
                t
            }
            None => self.creation_second(&arn, t),
        };
        let key = key.unwrap_or_else(|| self.temp_key(racct));
        let id = Ident::Assumed {
            acct: racct_id.clone(),
            role_id: rid,
            role_name: rname,
            role_arn: rarn,
            sess: name.clone(),
            key,
            created: t,
            source_identity: None,
            ec2: None,
            web: None,
            web_attrs: None,
        };
        let browser = a.console.as_ref().map_or(a.ua.as_str(), |c| c.browser.as_str());
        let mut x = W::with_capacity(200);
        x.open().str("SwitchFrom", &a.id.arn());
        x.str(
            "RedirectTo",
            &format!("https://{region}.console.aws.amazon.com/console/home?region={region}#"),
        )
        .end();
        let eid = self.uuid();
        let mut ev = Ev::api(
            Who::Id(&id, None),
            t,
            "signin.amazonaws.com",
            "SwitchRole",
            "us-east-1",
            &a.ip,
            browser,
            &racct_id,
            eid,
        );
        ev.resp = Some("{\"SwitchRole\":\"Success\"}".into());
        ev.extra = Some(x.done());
        ev.read_only = Some(false);
        ev.event_type = "AwsConsoleSignIn";
        ev.tls = Some((true, "signin.aws.amazon.com".into()));
        self.emit(&ev, Some(a), true);
        let mut s = a.child(id, racct, Mix::Console);
        s.console = Some(Console {
            key_until: t + self.rng.range(120, 900),
            browser: browser.to_owned(),
        });
        (s, t)
    }

    /// ConsoleLogin of a federated role session `a` (a SAML sign-in to the console): the record
    /// shows the role session itself; the console then runs on that session, rotating its keys.
    pub fn console_login_federated(&mut self, a: &Actor, browser: &str, t: i64) -> Actor {
        let acct = a.id.account().to_owned();
        let login = format!(
            "https://console.aws.amazon.com/console/home?region={}#",
            self.org.accounts[a.home].region
        );
        let mut x = W::with_capacity(160);
        x.open().str("LoginTo", &login);
        x.str("MobileVersion", "No").str("MFAUsed", "No").end();
        let eid = self.uuid();
        let mut ev = Ev::api(
            Who::Id(&a.id, None),
            t,
            "signin.amazonaws.com",
            "ConsoleLogin",
            "us-east-1",
            &a.ip,
            browser,
            &acct,
            eid,
        );
        ev.resp = Some("{\"ConsoleLogin\":\"Success\"}".into());
        ev.extra = Some(x.done());
        ev.read_only = Some(false);
        ev.event_type = "AwsConsoleSignIn";
        ev.tls = Some((true, "signin.aws.amazon.com".into()));
        // It mints nothing: the console session is the role session the sign-in names.
        self.emit(&ev, Some(a), false);
        let mut s = a.clone();
        s.mix = Mix::Console;
        s.ua = "AWS Internal".into();
        s.console = Some(Console {
            // The console's first call already carries a key of its own.
            key_until: t,
            browser: browser.to_owned(),
        });
        s
    }

    /// Identity Center's GetRoleCredentials in the identity account (an AwsServiceEvent);
    /// `a` is the user's client, carrying the truth.
    pub fn sso_role_credentials(&mut self, a: &Actor, t: i64, user_id: &str, perm_set: &str, member: usize) {
        let mgmt = self.org.accounts[0].id.clone();
        let region = self.org.accounts[0].region;
        let mut w = W::with_capacity(300);
        w.open();
        // Older records have no type (or "Unknown"); onBehalfOf is what identifies the user.
        if self.rng.chance(0.7) {
            w.str("type", "IdentityCenterUser");
        }
        w.str("accountId", &mgmt).obj("onBehalfOf").str("userId", user_id);
        w.str("identityStoreArn", &self.org.store_arn).end();
        w.str(
            "credentialId",
            &ids::b64(&mut self.rng, 60).replace(['+', '/'], "-"),
        )
        .end();
        let mut d = W::with_capacity(80);
        d.open()
            .str("role_name", perm_set)
            .str("account_id", &self.org.accounts[member].id)
            .end();
        let (eid, rid) = (self.uuid(), self.uuid());
        let mut ev = Ev::api(
            Who::Raw(w.done()),
            t,
            "sso.amazonaws.com",
            "GetRoleCredentials",
            region,
            &a.ip,
            &a.ua,
            &mgmt,
            eid,
        );
        ev.request_id = Some(rid);
        ev.read_only = Some(false);
        ev.event_type = "AwsServiceEvent";
        ev.details = Some(d.done());
        ev.tls = Some((true, format!("portal.sso.{region}.amazonaws.com")));
        self.emit(&ev, Some(a), true);
    }

    /// An AwsServiceEvent whose userIdentity has only accountId and invokedBy: nobody to attribute.
    pub fn service_event(&mut self, acct: usize, t: i64) {
        let a = &self.org.accounts[acct];
        let (id, region) = (a.id.clone(), a.region);
        let key = format!("arn:aws:kms:{region}:{id}:key/{}", self.rng.pick(&a.res.keys));
        let kind = self.rng.below(3);
        let (source, name, by) = match kind {
            0 => ("kms.amazonaws.com", "RotateKey", "AWS Internal"),
            1 => (
                "ec2.amazonaws.com",
                "SharedSnapshotVolumeCreated",
                "ec2.amazonaws.com",
            ),
            _ => (
                "backup.amazonaws.com",
                "BackupJobCompleted",
                "backup.amazonaws.com",
            ),
        };
        let mut w = W::with_capacity(80);
        w.open().str("accountId", &id).str("invokedBy", by).end();
        let eid = self.uuid();
        let mut ev = Ev::api(Who::Raw(w.done()), t, source, name, region, by, by, &id, eid);
        ev.read_only = Some(false);
        ev.event_type = "AwsServiceEvent";
        match kind {
            0 => {
                ev.resources = Some(resources(&[(&id, "AWS::KMS::Key", &key)]));
                ev.details = Some(format!("{{\"keyId\":\"{}\"}}", &key[key.len() - 36..]));
            }
            1 => {
                ev.shared = Some(self.uuid());
                ev.details = Some(format!(
                    "{{\"snapshotId\":\"snap-0{}\"}}",
                    ids::hex(&mut self.rng, 16)
                ));
            }
            _ => {
                let job = ids::uuid(&mut self.rng).to_uppercase();
                ev.details = Some(format!(
                    "{{\"backupJobId\":\"{job}\",\"backupVaultName\":\"Default\",\"state\":\"COMPLETED\",\"resourceType\":\"DynamoDB\",\"bytesTransferred\":{}}}",
                    self.rng.range(10_000, 90_000_000)
                ));
            }
        }
        self.emit(&ev, None, false);
    }
}
