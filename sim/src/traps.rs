//! Hard cases of issue 12: the dispatcher, what the traps share, and the traps about lineage
//! rather than collisions (owner-only copies, spoofed sourceIdentity, role juggling, MFA tokens
//! across accounts, a console session ARN two people share).

use crate::api::Mix;
use crate::collide::TWIN_NAMES;
use crate::gen::Gen;
use crate::ident::{Actor, Ident};
use crate::ids;
use crate::mint::{Ask, Via};
use crate::org::{Kind, Person, OKTA_ROLES};
use crate::Origin;

/// Roles sessions of which two people use one after the other under one name.
const OWNER_ONLY_SESSION: &str = "botocore-session";
/// Hops of the role-juggling chains, in turn: around the 64 at which chains are cut.
const JUGGLING_HOPS: [usize; 4] = [63, 64, 65, 70];

impl Gen {
    /// Injects every trap of the configuration between `start` and `end`.
    pub fn traps(&mut self, start: i64, end: i64) {
        let tr = self.traps.clone();
        // Room before t for sign-ins (up to 25 minutes), after it for calls.
        let lo = start + 1500;
        let hi = (end - 900).max(lo);
        let at = |g: &mut Gen| g.rng.range(lo, hi);
        for k in 0..tr.saml {
            let t = at(self);
            self.saml_collision(k, t);
        }
        for k in 0..tr.web {
            let t = at(self);
            self.web_collision(k, t);
        }
        for k in 0..tr.federation {
            let t = at(self);
            self.federation_collision(k, t);
        }
        for k in 0..tr.switch {
            let t = at(self);
            self.switch_collision(k, t);
        }
        for k in 0..tr.session_token {
            let t = at(self);
            self.session_token_collision(k, t);
        }
        for k in 0..tr.spoofed_collision {
            let t = at(self);
            self.spoofed_collision(k, t);
        }
        for k in 0..tr.recycled {
            self.recycled(k, start, end);
        }
        for k in 0..tr.root {
            let t = at(self);
            self.root_beside_assume_root(k, t);
        }
        for k in 0..tr.owner_only {
            // The second person may come hours later.
            let t = self.rng.range(lo, (end - 5 * 3600).max(lo));
            self.owner_only(k, t);
        }
        for k in 0..tr.spoofed_source_identity {
            let t = at(self);
            self.spoofed_source_identity(k, t);
        }
        for k in 0..tr.juggling {
            let t = at(self);
            self.juggling(k, t);
        }
        for k in 0..tr.mfa_across {
            let t = at(self);
            self.mfa_across(k, t);
        }
        for k in 0..tr.console_shared {
            let t = at(self);
            self.console_shared(k, t);
        }
    }

    /// Two different people for whom `pred` holds, or None when there are fewer.
    pub fn two_people(&mut self, pred: impl Fn(&Person) -> bool) -> Option<(usize, usize)> {
        let idx: Vec<usize> = (0..self.org.people.len())
            .filter(|&i| pred(&self.org.people[i]))
            .collect();
        if idx.len() < 2 {
            return None;
        }
        let a = self.rng.below(idx.len());
        let b = (a + 1 + self.rng.below(idx.len() - 1)) % idx.len();
        Some((idx[a], idx[b]))
    }

    /// A jump host both people of a pair work from, with the first one's tool: same address,
    /// same user agent.
    pub fn shared_host(&mut self, p: usize) -> (String, String) {
        let ip = self.org.fp.aws_ip(&mut self.rng);
        (ip, self.org.people[p].tools[0].ua.clone())
    }

    /// Person `p` signed in their own way a minute to 25 before `t`, after a call or two: a
    /// session to act from, without sourceIdentity. `host` replaces their address and agent.
    pub fn signed_in(&mut self, p: usize, t: i64, host: Option<&(String, String)>) -> Actor {
        let (mut client, style) = self.client(p);
        if let Some((ip, ua)) = host {
            (client.ip, client.ua) = (ip.clone(), ua.clone());
        }
        let t0 = t - self.rng.range(60, 1500);
        let (mut s, t1) = self.establish(p, t0, &client, style, false);
        let calls = self.rng.range(1, 2) as usize;
        self.burst(&mut s, t1, calls, 10.0);
        s
    }

    /// IAM user `name` of account `acct`, made up on first use (names that exist in several
    /// accounts: `admin`, `breakglass`), with long-term keys, and its browser.
    pub fn twin(&mut self, acct: usize, name: &str) -> (Actor, String) {
        if let Some(t) = self.twins.get(&(acct, name.to_owned())) {
            return t.clone();
        }
        let infix = self.org.accounts[acct].infix.clone();
        let acct_id = self.org.accounts[acct].id.clone();
        let pid = ids::principal_id(&mut self.rng, "AIDA", &infix);
        let key = ids::access_key(&mut self.rng, "AKIA", &infix);
        let ip = self.org.fp.home_ip(&mut self.rng);
        let tool = self.org.fp.tool(&mut self.rng, false);
        let browser = self.org.fp.browser(&mut self.rng);
        let arn = format!("arn:aws:iam::{acct_id}:user/{name}");
        let a = Actor {
            id: Ident::IamUser {
                acct: acct_id,
                pid,
                name: name.to_owned(),
                key: Some(key),
                created: None,
                mfa: false,
            },
            home: acct,
            ip,
            ua: tool.ua,
            tls13: tool.tls13,
            mix: Mix::Admin,
            console: None,
            origin: Some(Origin {
                kind: "IAMUser".into(),
                arn: Some(arn.clone()),
                name: Some(name.to_owned()),
                ..Origin::default()
            }),
            // The name alone would select both twins.
            person: Some(arn),
            collision: false,
            trap: None,
        };
        self.twins
            .insert((acct, name.to_owned()), (a.clone(), browser.clone()));
        (a, browser)
    }

    /// Two IAM users of one account with their long-term keys: people when two share an
    /// account, else two made-up service users of the management account.
    pub fn two_users_of_one_account(&mut self) -> (usize, [Actor; 2]) {
        let n = self.org.accounts.len();
        let accts: Vec<usize> = (0..n)
            .filter(|&a| {
                let users = self
                    .org
                    .people
                    .iter()
                    .filter(|p| p.kind == Kind::Iam && p.acct == a);
                users.count() >= 2
            })
            .collect();
        if !accts.is_empty() {
            let acct = *self.rng.pick(&accts);
            if let Some((pa, pb)) = self.two_people(|p| p.kind == Kind::Iam && p.acct == acct) {
                return (acct, [pa, pb].map(|p| self.client(p).0));
            }
        }
        let users = ["svc-reporting", "svc-billing"].map(|name| self.twin(0, name).0);
        (0, users)
    }

    /// A role session of `client` on role `rname` of its own account, named `sess` (a
    /// management-account session to call AssumeRoot from, a first hop).
    pub fn role_session(&mut self, client: &Actor, t: i64, rname: &str, sess: &str) -> (Actor, i64) {
        let role = self.org.role(client.home, rname);
        let ask = Ask {
            role,
            sess: sess.to_owned(),
            source_identity: None,
            duration: 3600,
            mix: Mix::Admin,
            key: None,
            via: Via::Role,
            web_attrs: None,
            owner_only: false,
        };
        self.assume(client, t, ask)
    }

    /// Account `m`'s IRSA role and its cluster's OIDC provider, made on first use.
    pub fn eks(&mut self, m: usize) -> (usize, String) {
        let key = format!("eks:{m}");
        if !self.memo.contains_key(&key) {
            let a = &self.org.accounts[m];
            let provider = format!(
                "arn:aws:iam::{}:oidc-provider/oidc.eks.{}.amazonaws.com/id/{}",
                a.id,
                a.region,
                ids::hex(&mut self.rng, 32).to_uppercase()
            );
            self.org.add_role(&mut self.rng, m, "eks-app-role");
            self.memo.insert(key.clone(), provider);
        }
        (self.org.role(m, "eks-app-role"), self.memo[&key].clone())
    }

    /// Account `m`'s Cognito unauthenticated role and identity pool id, made on first use.
    pub fn cognito(&mut self, m: usize) -> (usize, String) {
        let key = format!("cognito:{m}");
        if !self.memo.contains_key(&key) {
            let pool = format!("{}:{}", self.org.accounts[m].region, ids::uuid(&mut self.rng));
            self.org.add_role(&mut self.rng, m, "Cognito_appUnauth_Role");
            self.memo.insert(key.clone(), pool);
        }
        (
            self.org.role(m, "Cognito_appUnauth_Role"),
            self.memo[&key].clone(),
        )
    }

    /// Two people use role `deploy` of one member account under one session name, so one
    /// principal id (`AROA…:botocore-session`), an hour or hours apart; from it each assumes a
    /// role of another account whose caller's copy is missing: only the role owner's
    /// `AWSAccount` copy, naming that principal id, is logged. In turn, the second person
    /// starts while the first session lives, just after it expired (while its last copy may
    /// still be in flight), and hours later.
    pub fn owner_only(&mut self, k: usize, t: i64) {
        const KIND: &str = "owner-only";
        let Some((pa, pb)) = self.two_people(|_| true) else {
            return;
        };
        let n = self.org.accounts.len();
        let m1 = 1 + self.rng.below(n - 1);
        let m2 = 1 + (m1 + self.rng.below(n - 2)) % (n - 1);
        let shared_role = self.org.role(m1, "deploy");
        let rname = *self.rng.pick(&["ReadOnly", "audit"]);
        let target = self.org.role(m2, rname);
        let variant = k % 3;
        let mut t_start = t;
        let mut first: Option<(i64, i64)> = None;
        for p in [pa, pb] {
            if let Some((ta, tx)) = first {
                t_start = match variant {
                    0 => tx + self.rng.range(60, 600),
                    1 => ta + 3600 + self.rng.range(30, 400),
                    _ => ta + self.rng.range(2 * 3600, 4 * 3600),
                };
            }
            let parent = self.signed_in(p, t_start, None).tagged(KIND, k);
            let ask = Ask {
                role: shared_role,
                sess: OWNER_ONLY_SESSION.into(),
                source_identity: None,
                duration: 3600,
                mix: Mix::Deploy,
                key: None,
                via: Via::Role,
                web_attrs: None,
                owner_only: false,
            };
            let (mut s, ts) = self.assume(&parent, t_start, ask);
            let calls = self.rng.range(1, 3) as usize;
            self.burst(&mut s, ts, calls, 20.0);
            // The cross-account hop near the end of the session's hour, or well inside it.
            let tx = ts
                + if variant == 1 && first.is_none() {
                    self.rng.range(3300, 3550)
                } else {
                    self.rng.range(120, 1800)
                };
            let ask = Ask {
                role: target,
                sess: OWNER_ONLY_SESSION.into(),
                source_identity: None,
                duration: 3600,
                mix: Mix::ReadOnly,
                key: None,
                via: Via::Role,
                web_attrs: None,
                owner_only: true,
            };
            let (mut c, tc) = self.assume(&s, tx, ask);
            let calls = self.rng.range(3, 12) as usize;
            self.burst(&mut c, tc, calls, 30.0);
            first = first.or(Some((ts, tc)));
        }
    }

    /// Someone assumes a role setting sourceIdentity to another person's name (the role's
    /// trust policy allows any value); it is carried into every session chained from it.
    pub fn spoofed_source_identity(&mut self, k: usize, t: i64) {
        let Some((victim, actor)) = self.two_people(|_| true) else {
            return;
        };
        let name = self.org.people[victim].name.clone();
        let parent = self
            .signed_in(actor, t, None)
            .tagged("spoofed-source-identity", k);
        let m = 1 + self.rng.below(self.org.accounts.len() - 1);
        let rname = *self.rng.pick(&["Admin", "deploy"]);
        let ask = Ask {
            role: self.org.role(m, rname),
            sess: name.split('@').next().unwrap_or(&name).to_owned(),
            source_identity: Some(name),
            duration: 3600,
            mix: crate::people::mix_for(rname),
            key: None,
            via: Via::Role,
            web_attrs: None,
            owner_only: false,
        };
        let (mut s, ts) = self.assume(&parent, t, ask);
        let calls = self.rng.range(5, 20) as usize;
        let t = self.burst(&mut s, ts, calls, 20.0);
        if self.rng.chance(0.5) {
            self.chain(&s, t, crate::agents::Style::Named, actor);
        }
    }

    /// Role juggling: hop between one role of each of two accounts 63, 64, 65 or 70 times
    /// (each hop a new one-hour session), a call now and then, then work from the last one.
    pub fn juggling(&mut self, k: usize, t: i64) {
        let p = self.rng.below(self.org.people.len());
        let hops = JUGGLING_HOPS[k % JUGGLING_HOPS.len()];
        let n = self.org.accounts.len();
        let m1 = 1 + self.rng.below(n - 1);
        let m2 = 1 + (m1 + self.rng.below(n - 2)) % (n - 1);
        let roles = [self.org.role(m1, "Admin"), self.org.role(m2, "Admin")];
        let mut cur = self.signed_in(p, t, None).tagged("juggling", k);
        let mut t = t;
        for h in 0..hops {
            t += self.rng.range(2, 12);
            let sess = self.session_name(crate::agents::Style::Named, p, t);
            let ask = Ask {
                role: roles[h % 2],
                sess,
                source_identity: None,
                duration: 3600,
                mix: Mix::Admin,
                key: None,
                via: Via::Role,
                web_attrs: None,
                owner_only: false,
            };
            let (next, tn) = self.assume(&cur, t, ask);
            cur = next;
            t = tn;
            if self.rng.chance(0.3) {
                t = self.burst(&mut cur, t, 1, 3.0);
            }
        }
        let calls = self.rng.range(5, 15) as usize;
        self.burst(&mut cur, t, calls, 20.0);
    }

    /// IAM users of one name in two accounts get MFA session tokens in one second and are
    /// handed one recycled key; each then assumes `ops` in a third account (logged twice).
    pub fn mfa_across(&mut self, k: usize, t: i64) {
        let n = self.org.accounts.len();
        let a = self.rng.below(n);
        let b = (a + 1 + self.rng.below(n - 1)) % n;
        let c = (0..n).find(|&c| c != a && c != b).expect("three accounts");
        let name = *self.rng.pick(&TWIN_NAMES);
        let key = self.temp_key(a);
        let ops = self.org.role(c, "ops");
        for acct in [a, b] {
            let (u, _) = self.twin(acct, name);
            let mut s = self.session_token_with(&u.tagged("mfa-across", k), t, 43_200, Some(key.clone()));
            let calls = self.rng.range(1, 5) as usize;
            let ts = self.burst(&mut s, t, calls, 20.0);
            let ask = Ask {
                role: ops,
                sess: name.to_owned(),
                source_identity: None,
                duration: 3600,
                mix: Mix::Admin,
                key: None,
                via: Via::Role,
                web_attrs: None,
                owner_only: false,
            };
            let tx = ts + self.rng.range(10, 300);
            let (mut x, tx) = self.assume(&s, tx, ask);
            let calls = self.rng.range(3, 15) as usize;
            self.burst(&mut x, tx, calls, 20.0);
        }
    }

    /// Two Okta users whose IdP sends one shared RoleSessionName sign in to the console minutes
    /// apart (two sessions of one ARN, two creation dates); then the first one switches role.
    /// `SwitchFrom` names the ARN the two share.
    pub fn console_shared(&mut self, k: usize, t: i64) {
        let Some((pa, pb)) = self.two_people(|p| p.kind == Kind::Saml) else {
            return;
        };
        let n = self.org.accounts.len();
        let m = self.rng.below(n);
        let role = self.org.role(m, OKTA_ROLES[0]);
        let (idp, q) = self.org.accounts[m].okta.clone();
        let issuer = self.org.okta_issuer.clone();
        let sess = *self.rng.pick(&["engineering", "platform", "sre"]);
        let mut consoles = Vec::with_capacity(2);
        let mut tt = t;
        for p in [pa, pb] {
            let (mut c, _) = self.client(p);
            let name = self.org.people[p].name.clone();
            let browser = self.org.people[p].browser.clone();
            c.ua = browser.clone();
            c.id = Ident::Saml {
                pid: format!("{q}:{name}"),
                name,
                idp: idp.clone(),
            };
            let ask = Ask {
                role,
                sess: sess.to_owned(),
                source_identity: None,
                duration: 28_800,
                mix: Mix::Console,
                key: None,
                via: Via::Saml(&idp, &q, &issuer),
                web_attrs: None,
                owner_only: false,
            };
            let (s, ts) = self.assume(&c.tagged("console-shared", k), tt, ask);
            let mut console = self.console_login_federated(&s, &browser, ts + 1);
            let calls = self.rng.range(3, 15) as usize;
            self.burst(&mut console, ts + 1, calls, 30.0);
            consoles.push(console);
            tt += self.rng.range(60, 1200);
        }
        let m2 = 1 + self.rng.below(n - 1);
        let rname = *self.rng.pick(&["Admin", "ReadOnly"]);
        let target = self.org.role(m2, rname);
        let ts = tt + self.rng.range(60, 900);
        let (mut r, ts) = self.switch_role_with(&consoles[0], ts, target, None);
        let calls = self.rng.range(5, 20) as usize;
        self.burst(&mut r, ts, calls, 25.0);
    }
}
