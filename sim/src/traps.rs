//! Hard cases of issue 12: the dispatcher and what the traps share.

use crate::api::Mix;
use crate::gen::Gen;
use crate::ident::{Actor, Ident};
use crate::ids;
use crate::mint::{Ask, Via};
use crate::org::{Kind, Person};
use crate::Origin;

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
}
