//! What people and CI pipelines do: episodes of work through every sign-in path of the organisation.

use crate::agents::Style;
use crate::api::Mix;
use crate::gen::Gen;
use crate::ident::{Actor, Ident};
use crate::mint::{Ask, Via};
use crate::org::{Kind, MEMBER_ROLES, OKTA_ROLES, PERMISSION_SETS};
use crate::Origin;

/// The kind of work a role is for.
pub fn mix_for(role: &str) -> Mix {
    if role.contains("ReadOnly") || role == "audit" || role.ends_with("readonly") || role.contains("Data") {
        Mix::ReadOnly
    } else if role == "deploy" || role.starts_with("github") {
        Mix::Deploy
    } else {
        Mix::Admin
    }
}

impl Gen {
    /// A person's client (IP, tool) with their ground truth; the identity is the IAM user for IAM
    /// users and a placeholder otherwise (replaced by the federation step).
    pub fn client(&mut self, p: usize) -> (Actor, Style) {
        let person = &self.org.people[p];
        let ip = self.rng.pick(&person.ips).clone();
        let tool = self.rng.pick(&person.tools).clone();
        let id = match person.kind {
            Kind::Iam => Ident::IamUser {
                acct: self.org.accounts[person.acct].id.clone(),
                pid: person.pid.clone(),
                name: person.name.clone(),
                key: Some(self.rng.pick(&person.keys).clone()),
                created: None,
                mfa: false,
            },
            _ => Ident::Service { by: "placeholder" },
        };
        let actor = Actor {
            id,
            home: person.acct,
            ip,
            ua: tool.ua,
            tls13: tool.tls13,
            mix: Mix::Admin,
            console: None,
            origin: Some(self.org.origin(person)),
            person: Some(person.selector()),
            collision: false,
            trap: None,
        };
        (actor, tool.style)
    }

    /// The role session name a tool would pick (or, with the shared-names trap, one that
    /// shared scripts hard-code, whoever runs them).
    pub fn session_name(&mut self, style: Style, p: usize, t: i64) -> String {
        if self.traps.shared_names > 0.0 && self.rng.chance(self.traps.shared_names) {
            return (*self.rng.pick(&crate::collide::SHARED_NAMES)).to_owned();
        }
        match style {
            // botocore names the session after the client's creation time, a moment before the call.
            Style::Botocore => format!("botocore-session-{}", t - self.rng.range(0, 2)),
            Style::GoSdk => format!("aws-go-sdk-{t}{:09}", self.rng.below(1_000_000_000)),
            Style::Named => {
                let n = &self.org.people[p].name;
                n.split('@').next().unwrap_or(n).to_owned()
            }
        }
    }

    /// The person's first role session: IAM user → `ops`, Okta → an Okta role, Identity Center →
    /// a permission set (GetRoleCredentials, then AssumeRoleWithSAML in the member account).
    /// `source_identity`: whether the person may set one (30% do).
    pub fn establish(
        &mut self,
        p: usize,
        t: i64,
        client: &Actor,
        style: Style,
        source_identity: bool,
    ) -> (Actor, i64) {
        let (kind, name, user_id) = {
            let person = &self.org.people[p];
            (person.kind, person.name.clone(), person.user_id.clone())
        };
        let n_acct = self.org.accounts.len();
        match kind {
            Kind::Iam => {
                let ops = self.org.role(client.home, "ops");
                let sess = self.session_name(style, p, t);
                let src = (source_identity && self.rng.chance(0.3)).then(|| name.clone());
                let ask = Ask {
                    role: ops,
                    sess,
                    source_identity: src,
                    duration: 3600,
                    mix: Mix::Admin,
                    key: None,
                    via: Via::Role,
                    web_attrs: None,
                    owner_only: false,
                };
                self.assume(client, t, ask)
            }
            Kind::Saml => {
                let acct = self.rng.below(n_acct);
                let rname = if self.rng.chance(0.6) {
                    OKTA_ROLES[0]
                } else {
                    OKTA_ROLES[1]
                };
                let role = self.org.role(acct, rname);
                let (idp, q) = self.org.accounts[acct].okta.clone();
                let issuer = self.org.okta_issuer.clone();
                let mut c = client.clone();
                c.id = Ident::Saml {
                    pid: format!("{q}:{name}"),
                    name: name.clone(),
                    idp: idp.clone(),
                };
                let src = (source_identity && self.rng.chance(0.3)).then(|| name.clone());
                let duration = *self.rng.pick(&[3600, 3600, 28_800, 43_200]);
                let ask = Ask {
                    role,
                    sess: name,
                    source_identity: src,
                    duration,
                    mix: mix_for(rname),
                    key: None,
                    via: Via::Saml(&idp, &q, &issuer),
                    web_attrs: None,
                    owner_only: false,
                };
                self.assume(&c, t, ask)
            }
            Kind::IdC => {
                let ps = self.rng.weighted(&[3, 3, 2, 1]);
                let member = if self.rng.chance(0.1) {
                    0
                } else {
                    1 + self.rng.below(n_acct - 1)
                };
                self.sso_role_credentials(client, t, &user_id, PERMISSION_SETS[ps], member);
                let role = self.org.sso_roles[member][ps];
                let (idp, q) = self.org.accounts[member].sso.clone();
                let issuer = self.org.sso_issuer.clone();
                let mut c = client.clone();
                c.id = Ident::Saml {
                    pid: format!("{q}:{name}"),
                    name: name.clone(),
                    idp: idp.clone(),
                };
                let duration = *self.rng.pick(&[3600, 14_400, 28_800, 43_200]);
                let t = t + self.rng.range(0, 2);
                let ask = Ask {
                    role,
                    sess: name,
                    source_identity: None,
                    duration,
                    mix: mix_for(PERMISSION_SETS[ps]),
                    key: None,
                    via: Via::Saml(&idp, &q, &issuer),
                    web_attrs: None,
                    owner_only: false,
                };
                self.assume(&c, t, ask)
            }
        }
    }

    /// From a role session, hop into a role of another account (logged twice), then maybe a
    /// third hop. Returns the time of the last call.
    pub fn chain(&mut self, parent: &Actor, t: i64, style: Style, p: usize) -> i64 {
        let n_acct = self.org.accounts.len();
        let mut m = 1 + self.rng.below(n_acct - 1);
        if m == parent.home {
            m = 1 + m % (n_acct - 1);
        }
        let rname = *self.rng.pick(&MEMBER_ROLES[..3]);
        let role = self.org.role(m, rname);
        let t = t + self.rng.range(1, 20);
        let sess = self.session_name(style, p, t);
        let ask = Ask {
            role,
            sess,
            source_identity: None,
            duration: 3600,
            mix: mix_for(rname),
            key: None,
            via: Via::Role,
            web_attrs: None,
            owner_only: false,
        };
        let (mut c, t) = self.assume(parent, t, ask);
        let n = self.rng.range(3, 25) as usize;
        let mut t = self.burst(&mut c, t, n, 20.0);
        if self.rng.chance(0.25) {
            let m2 = 1 + (m + self.rng.below(n_acct - 2)) % (n_acct - 1);
            let rname = *self.rng.pick(&["audit", "ReadOnly"]);
            let role = self.org.role(m2, rname);
            let t2 = t + self.rng.range(1, 30);
            let sess = self.session_name(style, p, t2);
            let ask = Ask {
                role,
                sess,
                source_identity: None,
                duration: 3600,
                mix: Mix::ReadOnly,
                key: None,
                via: Via::Role,
                web_attrs: None,
                owner_only: false,
            };
            let (mut c3, t2) = self.assume(&c, t2, ask);
            let n = self.rng.range(3, 15) as usize;
            t = self.burst(&mut c3, t2, n, 20.0);
        }
        t
    }

    /// One stretch of work by person `p` starting at `t`.
    pub fn episode(&mut self, p: usize, t: i64) {
        let (mut a, style) = self.client(p);
        if self.org.people[p].kind != Kind::Iam {
            let (mut s, t) = self.establish(p, t, &a, style, true);
            let n = self.rng.range(5, 40) as usize;
            let t = self.burst(&mut s, t, n, 25.0);
            if self.rng.chance(0.3) {
                self.chain(&s, t, style, p);
            }
            return;
        }
        match self.rng.weighted(&[22, 8, 5, 37, 25]) {
            0 => {
                let n = self.rng.range(5, 40) as usize;
                self.burst(&mut a, t, n, 15.0);
            }
            1 => {
                let mut s = self.session_token(&a, t, 43_200);
                let n = self.rng.range(5, 30) as usize;
                let t = self.burst(&mut s, t, n, 20.0);
                if self.rng.chance(0.3) {
                    self.chain(&s, t, style, p);
                }
            }
            2 => {
                let name = format!(
                    "{}-{}",
                    self.org.people[p].name,
                    self.rng.pick(&["temp", "report", "vendor"])
                );
                let (mut s, t) = self.federation(&a, t, &name, 43_200);
                let n = self.rng.range(3, 20) as usize;
                self.burst(&mut s, t, n, 20.0);
            }
            3 => {
                let n = self.rng.range(0, 2) as usize;
                let mut t = self.burst(&mut a, t, n, 5.0);
                if self.rng.chance(0.06) {
                    let role = self.org.role(1, "Admin");
                    self.assume_denied(&a, t, role);
                    t += self.rng.range(1, 5);
                }
                let (mut ops, t) = self.establish(p, t + 1, &a, style, true);
                let n = self.rng.range(2, 12) as usize;
                let t = self.burst(&mut ops, t, n, 20.0);
                if self.rng.chance(0.7) {
                    self.chain(&ops, t, style, p);
                }
            }
            _ => self.console(p, a, t),
        }
    }

    /// Console work by an IAM user: sign-in (sometimes after a failure), calls with rotating
    /// keys, and sometimes a SwitchRole into a member account.
    fn console(&mut self, p: usize, mut a: Actor, mut t: i64) {
        if let Ident::IamUser { key, .. } = &mut a.id {
            *key = None;
        }
        let browser = self.org.people[p].browser.clone();
        if self.rng.chance(0.08) {
            self.console_login(&a, &browser, t, false);
            t += self.rng.range(15, 90);
        }
        let Some(mut s) = self.console_login(&a, &browser, t, true) else {
            return;
        };
        let n = self.rng.range(10, 60) as usize;
        let t = self.burst(&mut s, t, n, 25.0);
        if self.rng.chance(0.4) {
            let m = 1 + self.rng.below(self.org.accounts.len() - 1);
            let rname = *self.rng.pick(&["Admin", "ReadOnly"]);
            let role = self.org.role(m, rname);
            let t = t + self.rng.range(5, 60);
            let (mut r, t) = self.switch_role(&s, t, role);
            let n = self.rng.range(10, 50) as usize;
            self.burst(&mut r, t, n, 25.0);
        }
    }

    /// Break-glass root sign-in to the management account (rare).
    pub fn root_console(&mut self, t: i64) {
        let (mut a, _) = self.client(0);
        let acct = self.org.accounts[0].id.clone();
        let arn = format!("arn:aws:iam::{acct}:root");
        a.id = Ident::Root {
            acct,
            key: None,
            created: None,
            assumed: false,
        };
        a.home = 0;
        a.origin = Some(Origin {
            kind: "Root".into(),
            arn: Some(arn.clone()),
            ..Origin::default()
        });
        a.person = Some(arn);
        let browser = self.org.people[0].browser.clone();
        if let Some(mut s) = self.console_login(&a, &browser, t, true) {
            let n = self.rng.range(3, 15) as usize;
            self.burst(&mut s, t, n, 30.0);
        }
    }

    /// A GitHub Actions job: AssumeRoleWithWebIdentity from a fresh runner, then a deploy.
    pub fn pipeline_run(&mut self, i: usize, t: i64) {
        let pl = &self.org.pipelines[i];
        let (subject, role, tool_ua) = (pl.subject.clone(), pl.role, pl.ua.clone());
        let provider = self.org.accounts[self.org.roles[role].acct].github_oidc.clone();
        let ip = self.org.fp.runner_ip(&mut self.rng);
        let client = Actor {
            id: Ident::WebId {
                pid: format!("{provider}:sts.amazonaws.com:{subject}"),
                name: subject.clone(),
                idp: provider.clone(),
            },
            home: self.org.roles[role].acct,
            ip,
            ua: format!(
                "aws-sdk-nodejs/2.{}.0 linux/v20.{}.0 configure-aws-credentials-for-github-actions promise",
                1500 + self.rng.below(90),
                self.rng.range(9, 12)
            ),
            tls13: true,
            mix: Mix::Deploy,
            console: None,
            origin: Some(Origin {
                kind: "WebIdentityUser".into(),
                name: Some(subject.clone()),
                ..Origin::default()
            }),
            person: Some(subject),
            collision: false,
            trap: None,
        };
        let ask = Ask {
            role,
            sess: "GitHubActions".into(),
            source_identity: None,
            duration: 3600,
            mix: Mix::Deploy,
            key: None,
            via: Via::Web(&provider),
            web_attrs: None,
            owner_only: false,
        };
        let (mut s, t) = self.assume(&client, t, ask);
        s.ua = tool_ua;
        let n = self.rng.range(10, 60) as usize;
        self.burst(&mut s, t, n, 4.0);
    }
}
