//! Injected collisions (§6) through every creating path: two people, one session identity
//! (same ARN and second, one recycled key), and nothing logged, or little, to tell them apart.

use crate::api::Mix;
use crate::gen::Gen;
use crate::ident::{Actor, Ident};
use crate::json::W;
use crate::mint::{Ask, Via};
use crate::org::{Kind, OKTA_ROLES};
use crate::people::mix_for;
use crate::Origin;

/// Session names that shared tooling hard-codes, which is how real collisions happen.
pub const SHARED_NAMES: [&str; 4] = ["deploy", "terraform", "maintenance", "admin-session"];

impl Gen {
    /// Collision pair number `k` at about `t`. Every third pair is indistinguishable: both people
    /// work from the same jump host with the same tool, so IP and user agent match too.
    pub fn collision(&mut self, k: usize, t: i64) {
        let n = self.org.people.len();
        if n < 2 {
            return;
        }
        let pa = self.rng.below(n);
        let pb = (pa + 1 + self.rng.below(n - 1)) % n;
        let indistinguishable = k % 3 == 2;
        let host = indistinguishable.then(|| {
            let ip = self.org.fp.aws_ip(&mut self.rng);
            let ua = self.org.people[pa].tools[0].ua.clone();
            (ip, ua)
        });
        let m = 1 + self.rng.below(self.org.accounts.len() - 1);
        let rname = *self.rng.pick(&["deploy", "Admin"]);
        let role = self.org.role(m, rname);
        let sess = (*self.rng.pick(&SHARED_NAMES)).to_owned();

        // Each person first signs in their own way, some minutes before.
        let mut parents = Vec::with_capacity(2);
        for p in [pa, pb] {
            let (mut client, style) = self.client(p);
            if let Some((ip, ua)) = &host {
                (client.ip, client.ua) = (ip.clone(), ua.clone());
            }
            let t0 = t - self.rng.range(60, 1500);
            // No sourceIdentity: it would survive into the child and tell the two apart.
            let (mut s, t1) = self.establish(p, t0, &client, style, false);
            let calls = self.rng.range(1, 2) as usize;
            self.burst(&mut s, t1, calls, 10.0);
            parents.push(s);
        }

        let arn = format!(
            "arn:aws:sts::{}:assumed-role/{rname}/{sess}",
            self.org.accounts[m].id
        );
        let t = self.creation_second(&arn, t);
        let key = self.temp_key(m);
        let mut children = Vec::with_capacity(2);
        for parent in &parents {
            let ask = Ask {
                role,
                sess: sess.clone(),
                source_identity: None,
                duration: 3600,
                mix: mix_for(rname),
                key: Some(key.clone()),
                via: Via::Role,
                web_attrs: None,
                owner_only: false,
            };
            let (mut child, _) = self.assume(&parent.tagged("assume-role-collision", k), t, ask);
            child.collision = true;
            children.push(child);
        }
        for mut child in children {
            let calls = self.rng.range(5, 25) as usize;
            self.burst(&mut child, t, calls, 30.0);
        }
    }
}

/// Values an identity provider may be configured to send as RoleSessionName for everybody.
const SHARED_SAML_NAMES: [&str; 3] = ["engineering", "platform", "sre"];
/// Service accounts of pods that share one IRSA role.
const SERVICE_ACCOUNTS: [&str; 4] = [
    "system:serviceaccount:payments:api",
    "system:serviceaccount:reports:worker",
    "system:serviceaccount:search:indexer",
    "system:serviceaccount:checkout:web",
];
/// Repositories outside the organisation's regular pipelines that a deploy role also trusts.
const OTHER_REPOS: [&str; 4] = ["tools", "docs", "mobile", "sandbox-app"];
/// Federated user names that scripts hard-code.
pub const FEDERATED_NAMES: [&str; 3] = ["vendor-access", "support", "reporting"];
/// IAM user names that exist in several accounts.
pub const TWIN_NAMES: [&str; 3] = ["admin", "ops-admin", "breakglass"];

impl Gen {
    /// Both `parents` assume `role` as `sess` in one second and are handed one key: two sessions
    /// nothing logged tells apart (except what `attrs`, their `webIdFederationData.attributes`,
    /// may say). Returns the two sessions, marked as collided and tagged `kind` number `k`.
    #[allow(clippy::too_many_arguments)]
    fn pair_assume(
        &mut self,
        (kind, k): (&'static str, usize),
        parents: &[Actor; 2],
        t: i64,
        role: usize,
        sess: &str,
        via: Via<'_>,
        mix: Mix,
        source_identity: Option<&str>,
        attrs: [Option<String>; 2],
    ) -> Vec<Actor> {
        let r = &self.org.roles[role];
        let arn = format!(
            "arn:aws:sts::{}:assumed-role/{}/{sess}",
            self.org.accounts[r.acct].id, r.name
        );
        let acct = r.acct;
        let t = self.creation_second(&arn, t);
        let key = self.temp_key(acct);
        let mut children = Vec::with_capacity(2);
        for (parent, attrs) in parents.iter().zip(attrs) {
            let ask = Ask {
                role,
                sess: sess.to_owned(),
                source_identity: source_identity.map(str::to_owned),
                duration: 3600,
                mix,
                key: Some(key.clone()),
                via,
                web_attrs: attrs,
                owner_only: false,
            };
            let (mut child, _) = self.assume(&parent.tagged(kind, k), t, ask);
            child.collision = true;
            children.push(child);
        }
        children
    }

    /// A client that federates with an OIDC token for `subject` (CI job, pod, app user).
    fn oidc_client(&mut self, subject: &str, provider: &str, home: usize, ip: String, ua: String) -> Actor {
        Actor {
            id: Ident::WebId {
                pid: format!("{provider}:sts.amazonaws.com:{subject}"),
                name: subject.to_owned(),
                idp: provider.to_owned(),
            },
            home,
            ip,
            ua,
            tls13: true,
            mix: Mix::Deploy,
            console: None,
            origin: Some(Origin {
                kind: "WebIdentityUser".into(),
                name: Some(subject.to_owned()),
                ..Origin::default()
            }),
            person: Some(subject.to_owned()),
            collision: false,
            trap: None,
        }
    }

    /// The user agent of the GitHub action that fetches credentials.
    fn gha_agent(&mut self) -> String {
        format!(
            "aws-sdk-nodejs/2.{}.0 linux/v20.{}.0 configure-aws-credentials-for-github-actions promise",
            1500 + self.rng.below(90),
            self.rng.range(9, 12)
        )
    }

    /// Two Okta users whose IdP sends one shared RoleSessionName, in one second, one key. Every
    /// third pair works from one jump host with one tool (same address and agent).
    pub fn saml_collision(&mut self, k: usize, t: i64) {
        let Some((pa, pb)) = self.two_people(|p| p.kind == Kind::Saml) else {
            return;
        };
        let host = (k % 3 == 2).then(|| self.shared_host(pa));
        let m = self.rng.below(self.org.accounts.len());
        let role = self.org.role(m, OKTA_ROLES[0]);
        let (idp, q) = self.org.accounts[m].okta.clone();
        let issuer = self.org.okta_issuer.clone();
        let sess = *self.rng.pick(&SHARED_SAML_NAMES);
        let parents = [pa, pb].map(|p| {
            let (mut c, _) = self.client(p);
            if let Some((ip, ua)) = &host {
                (c.ip, c.ua) = (ip.clone(), ua.clone());
            }
            let name = self.org.people[p].name.clone();
            c.id = Ident::Saml {
                pid: format!("{q}:{name}"),
                name,
                idp: idp.clone(),
            };
            c
        });
        let via = Via::Saml(&idp, &q, &issuer);
        let children = self.pair_assume(
            ("saml-collision", k),
            &parents,
            t,
            role,
            sess,
            via,
            mix_for(OKTA_ROLES[0]),
            None,
            [None, None],
        );
        for mut c in children {
            let n = self.rng.range(5, 25) as usize;
            self.burst(&mut c, t, n, 30.0);
        }
    }

    /// Web identity collisions, in turn: two CI repositories, two IRSA pods, two Cognito users.
    pub fn web_collision(&mut self, k: usize, t: i64) {
        match k % 3 {
            0 => self.ci_collision(k, t),
            1 => self.irsa_collision(k, t),
            _ => self.cognito_collision(k, t),
        }
    }

    /// Jobs of two repositories trusted by one deploy role start in one second: both sessions
    /// are `GitHubActions`. Every other pair runs on one self-hosted runner (same address and agent).
    fn ci_collision(&mut self, k: usize, t: i64) {
        if self.org.pipelines.is_empty() {
            return;
        }
        let pl = &self.org.pipelines[k % self.org.pipelines.len()];
        let (role, subject_a, ua_a) = (pl.role, pl.subject.clone(), pl.ua.clone());
        let subject_b = format!("repo:corp/{}:ref:refs/heads/main", self.rng.pick(&OTHER_REPOS));
        let home = self.org.roles[role].acct;
        let provider = self.org.accounts[home].github_oidc.clone();
        let runner = ((k / 3) % 2 == 1).then(|| {
            let ip = self.org.fp.aws_ip(&mut self.rng);
            (ip, self.gha_agent())
        });
        let parents = [subject_a, subject_b].map(|s| {
            let (ip, ua) = match &runner {
                Some(r) => r.clone(),
                None => (self.org.fp.runner_ip(&mut self.rng), self.gha_agent()),
            };
            self.oidc_client(&s, &provider, home, ip, ua)
        });
        let children = self.pair_assume(
            ("ci-collision", k),
            &parents,
            t,
            role,
            "GitHubActions",
            Via::Web(&provider),
            Mix::Deploy,
            None,
            [None, None],
        );
        for (i, mut c) in children.into_iter().enumerate() {
            c.ua = if i == 0 {
                ua_a.clone()
            } else {
                self.org.fp.terraform(&mut self.rng)
            };
            let n = self.rng.range(10, 40) as usize;
            self.burst(&mut c, t, n, 4.0);
        }
    }

    /// Two pods of different service accounts sharing one IRSA role start in one second:
    /// botocore names both sessions `botocore-session-<second>`, and both leave through the
    /// cluster's NAT address. Every other pair runs one image (same agent).
    fn irsa_collision(&mut self, k: usize, t: i64) {
        let m = 1 + self.rng.below(self.org.accounts.len() - 1);
        let (role, provider) = self.eks(m);
        let sa = self.rng.below(SERVICE_ACCOUNTS.len());
        let sb = (sa + 1 + self.rng.below(SERVICE_ACCOUNTS.len() - 1)) % SERVICE_ACCOUNTS.len();
        let nat = self.org.fp.aws_ip(&mut self.rng);
        let image = ((k / 3) % 2 == 1).then(|| self.org.fp.lambda_runtime(&mut self.rng));
        let parents = [sa, sb].map(|s| {
            let ua = match &image {
                Some(ua) => ua.clone(),
                None => self.org.fp.lambda_runtime(&mut self.rng),
            };
            self.oidc_client(SERVICE_ACCOUNTS[s], &provider, m, nat.clone(), ua)
        });
        let sess = format!("botocore-session-{t}");
        let children = self.pair_assume(
            ("irsa-collision", k),
            &parents,
            t,
            role,
            &sess,
            Via::Web(&provider),
            Mix::Lambda,
            None,
            [None, None],
        );
        for mut c in children {
            let n = self.rng.range(10, 40) as usize;
            self.burst(&mut c, t, n, 20.0);
        }
    }

    /// Two app users of one Cognito identity pool get credentials in one second. In the enhanced
    /// flow Cognito itself calls STS (the creating calls come from `cognito-identity.amazonaws.com`)
    /// and names every session `CognitoIdentityCredentials`; what tells the two apart is the
    /// identity each call names in `webIdFederationData.attributes`. (Attribute names follow
    /// AWS's userIdentity reference; the caller's principalId layout is a guess.)
    fn cognito_collision(&mut self, k: usize, t: i64) {
        const COGNITO: &str = "cognito-identity.amazonaws.com";
        let m = 1 + self.rng.below(self.org.accounts.len() - 1);
        let (role, pool) = self.cognito(m);
        let region = self.org.accounts[m].region;
        let subjects = [0, 1].map(|_| format!("{region}:{}", crate::ids::uuid(&mut self.rng)));
        let parents = subjects.clone().map(|s| {
            let mut c = self.oidc_client(&s, COGNITO, m, COGNITO.into(), COGNITO.into());
            if let Ident::WebId { pid, .. } = &mut c.id {
                *pid = format!("{COGNITO}:{pool}:{s}");
            }
            c
        });
        let attrs = subjects.clone().map(|s| {
            let mut w = W::with_capacity(200);
            w.open()
                .str(&format!("{COGNITO}:amr"), "[\"unauthenticated\"]")
                .str(&format!("{COGNITO}:aud"), &pool);
            w.str(&format!("{COGNITO}:sub"), &s).end();
            Some(w.done())
        });
        let children = self.pair_assume(
            ("cognito-collision", k),
            &parents,
            t,
            role,
            "CognitoIdentityCredentials",
            Via::Web(COGNITO),
            Mix::Lambda,
            None,
            attrs,
        );
        // The app's own calls come from each user's phone; one app version, every other pair.
        let app = ((k / 3) % 2 == 1).then(|| self.mobile_agent());
        for mut c in children {
            c.ip = self.org.fp.home_ip(&mut self.rng);
            c.ua = app.clone().unwrap_or_else(|| self.mobile_agent());
            let n = self.rng.range(5, 20) as usize;
            self.burst(&mut c, t, n, 30.0);
        }
    }

    fn mobile_agent(&mut self) -> String {
        if self.rng.chance(0.5) {
            format!(
                "aws-sdk-iOS/2.{}.{} iOS/17.{} en_US",
                self.rng.range(30, 36),
                self.rng.range(0, 9),
                self.rng.range(0, 5)
            )
        } else {
            format!(
                "aws-sdk-android/2.{}.{} Linux/5.10 Dalvik/2.1.0/0 en_US",
                self.rng.range(70, 78),
                self.rng.range(0, 9)
            )
        }
    }

    /// Two IAM users of one account call GetFederationToken for one name in one second. Two in
    /// three pairs are handed one recycled key; the third, two keys. The calls of the federated
    /// users still name their own issuer (`sessionContext.sessionIssuer`).
    pub fn federation_collision(&mut self, k: usize, t: i64) {
        let (acct, mut users) = self.two_users_of_one_account();
        if k % 3 == 2 {
            let (ip, ua) = (self.org.fp.aws_ip(&mut self.rng), users[0].ua.clone());
            for u in &mut users {
                (u.ip, u.ua) = (ip.clone(), ua.clone());
            }
        }
        let name = *self.rng.pick(&FEDERATED_NAMES);
        let arn = format!(
            "arn:aws:sts::{}:federated-user/{name}",
            self.org.accounts[acct].id
        );
        let t = self.creation_second(&arn, t);
        let recycled = k % 3 != 1;
        let shared = self.temp_key(acct);
        for u in &users {
            let key = if recycled {
                shared.clone()
            } else {
                self.temp_key(acct)
            };
            let (mut s, _) =
                self.federation_with(&u.tagged("federation-collision", k), t, name, 43_200, Some(key));
            s.collision = recycled;
            let n = self.rng.range(5, 20) as usize;
            self.burst(&mut s, t, n, 30.0);
        }
    }

    /// Two IAM users of one name in two accounts, each in the console, switch into one role in
    /// one second: one session ARN (named after the user), one creationDate, one key. Every third
    /// pair works from one jump host with one browser.
    pub fn switch_collision(&mut self, k: usize, t: i64) {
        let n = self.org.accounts.len();
        let a = self.rng.below(n);
        let b = (a + 1 + self.rng.below(n - 1)) % n;
        let name = *self.rng.pick(&TWIN_NAMES);
        let m = 1 + self.rng.below(n - 1);
        let rname = *self.rng.pick(&["Admin", "ReadOnly"]);
        let role = self.org.role(m, rname);
        let host = (k % 3 == 2).then(|| self.org.fp.aws_ip(&mut self.rng));
        let mut sessions = Vec::with_capacity(2);
        let mut shared_browser = None;
        for acct in [a, b] {
            let (mut u, mut browser) = self.twin(acct, name);
            if let Some(ip) = &host {
                u.ip = ip.clone();
                browser = shared_browser.get_or_insert(browser).clone();
            }
            if let Ident::IamUser { key, .. } = &mut u.id {
                *key = None;
            }
            let t0 = t - self.rng.range(60, 1500);
            let Some(mut s) = self.console_login(&u, &browser, t0, true) else {
                return;
            };
            let calls = self.rng.range(1, 3) as usize;
            self.burst(&mut s, t0, calls, 20.0);
            sessions.push(s);
        }
        let arn = format!(
            "arn:aws:sts::{}:assumed-role/{rname}/{name}",
            self.org.accounts[m].id
        );
        let t = self.creation_second(&arn, t);
        let key = self.temp_key(m);
        let mut children = Vec::with_capacity(2);
        for s in &sessions {
            let (mut r, _) =
                self.switch_role_with(&s.tagged("switch-collision", k), t, role, Some(key.clone()));
            r.collision = true;
            children.push(r);
        }
        for mut r in children {
            let calls = self.rng.range(10, 40) as usize;
            self.burst(&mut r, t, calls, 25.0);
        }
    }

    /// Two IAM users handed one recycled key by GetSessionToken within minutes, both alive.
    pub fn session_token_collision(&mut self, k: usize, t: i64) {
        let users = match self.two_people(|p| p.kind == Kind::Iam) {
            Some((pa, pb)) => [pa, pb].map(|p| self.client(p).0),
            None => {
                let (_, users) = self.two_users_of_one_account();
                users
            }
        };
        let key = self.temp_key(users[0].home);
        let mut tt = t;
        for u in &users {
            let mut s = self.session_token_with(
                &u.tagged("session-token-collision", k),
                tt,
                43_200,
                Some(key.clone()),
            );
            let n = self.rng.range(5, 25) as usize;
            self.burst(&mut s, tt, n, 30.0);
            tt += self.rng.range(0, 600);
        }
    }

    /// An AssumeRole collision whose two creators both set sourceIdentity to the first person's
    /// name: it survives into both sessions and is true for one of them only.
    pub fn spoofed_collision(&mut self, k: usize, t: i64) {
        let Some((pa, pb)) = self.two_people(|_| true) else {
            return;
        };
        let host = (k % 2 == 1).then(|| self.shared_host(pa));
        let parents = [pa, pb].map(|p| self.signed_in(p, t, host.as_ref()));
        let victim = self.org.people[pa].name.clone();
        let m = 1 + self.rng.below(self.org.accounts.len() - 1);
        let rname = *self.rng.pick(&["deploy", "Admin"]);
        let role = self.org.role(m, rname);
        let sess = *self.rng.pick(&SHARED_NAMES);
        let children = self.pair_assume(
            ("spoofed-collision", k),
            &parents,
            t,
            role,
            sess,
            Via::Role,
            mix_for(rname),
            Some(&victim),
            [None, None],
        );
        for mut c in children {
            let n = self.rng.range(5, 25) as usize;
            self.burst(&mut c, t, n, 30.0);
        }
    }
}
