//! Access keys AWS hands out again after the first session expired, to someone else, and an
//! AssumeRoot task session beside a real root sign-in: one root ARN, two kinds of session.

use crate::collide::FEDERATED_NAMES;
use crate::gen::Gen;
use crate::ident::{Actor, Ident};
use crate::mint::{Ask, Via};
use crate::org::Kind;
use crate::{api::Mix, Origin};

impl Gen {
    /// Recycled key number `k`: a first session (someone's) is handed a key, expires, and 1 to
    /// 3 hours later a session of someone else is handed the same key. In turn: AssumeRoot task
    /// sessions on one member account (15 minutes), federation tokens of one name, CI sessions
    /// of one role (`GitHubActions`), GetSessionToken sessions.
    pub fn recycled(&mut self, k: usize, start: i64, end: i64) {
        let span = end - start;
        let gap = self.rng.range(3600, 3 * 3600).min(span / 2).max(1200);
        let t1 = self.rng.range(start + 1500, (end - gap - 900).max(start + 1500));
        let t2 = t1 + gap;
        match k % 4 {
            0 => self.recycled_root(k, t1, t2),
            1 => self.recycled_federation(k, t1, t2),
            2 => self.recycled_ci(k, t1, t2),
            _ => self.recycled_session_token(k, t1, t2),
        }
    }

    /// Two IAM users of the management account, each through `ops`, AssumeRoot on one member
    /// account hours apart, both handed one key: same root ARN, same key, two creation dates.
    fn recycled_root(&mut self, k: usize, t1: i64, t2: i64) {
        let users = self.management_users();
        let target = 1 + self.rng.below(self.org.accounts.len() - 1);
        let key = self.temp_key(target);
        for (u, t) in users.iter().zip([t1, t2]) {
            let name = session_name_of(u);
            let t0 = t - self.rng.range(30, 600);
            let (ops, _) = self.role_session(u, t0, "ops", &name);
            let mut root = self.assume_root(&ops.tagged("recycled-root", k), t, target, Some(key.clone()));
            let calls = self.rng.range(2, 8) as usize;
            self.burst(&mut root, t, calls, 40.0);
        }
    }

    /// One federated user name, hours apart, from two IAM users of one account, one key.
    fn recycled_federation(&mut self, k: usize, t1: i64, t2: i64) {
        let (acct, users) = self.two_users_of_one_account();
        let name = *self.rng.pick(&FEDERATED_NAMES);
        let arn = format!(
            "arn:aws:sts::{}:federated-user/{name}",
            self.org.accounts[acct].id
        );
        let key = self.temp_key(acct);
        for (u, t) in users.iter().zip([t1, t2]) {
            let t = self.creation_second(&arn, t);
            let (mut s, _) = self.federation_with(
                &u.tagged("recycled-federation", k),
                t,
                name,
                3600,
                Some(key.clone()),
            );
            let calls = self.rng.range(3, 12) as usize;
            self.burst(&mut s, t, calls, 60.0);
        }
    }

    /// Two repositories' jobs on one deploy role hours apart, both `GitHubActions`, one key:
    /// same session ARN and key, two creation dates.
    fn recycled_ci(&mut self, k: usize, t1: i64, t2: i64) {
        if self.org.pipelines.is_empty() {
            return;
        }
        let pl = &self.org.pipelines[k % self.org.pipelines.len()];
        let (role, subject) = (pl.role, pl.subject.clone());
        let home = self.org.roles[role].acct;
        let provider = self.org.accounts[home].github_oidc.clone();
        let other = format!(
            "repo:corp/{}:ref:refs/heads/main",
            self.rng.pick(&["tools", "docs"])
        );
        let key = self.temp_key(home);
        for (s, t) in [subject, other].iter().zip([t1, t2]) {
            let ip = self.org.fp.runner_ip(&mut self.rng);
            let ua = format!(
                "aws-sdk-nodejs/2.{}.0 linux/v20.{}.0 configure-aws-credentials-for-github-actions promise",
                1500 + self.rng.below(90),
                self.rng.range(9, 12)
            );
            let client = Actor {
                id: Ident::WebId {
                    pid: format!("{provider}:sts.amazonaws.com:{s}"),
                    name: s.clone(),
                    idp: provider.clone(),
                },
                home,
                ip,
                ua,
                tls13: true,
                mix: Mix::Deploy,
                console: None,
                origin: Some(Origin {
                    kind: "WebIdentityUser".into(),
                    name: Some(s.clone()),
                    ..Origin::default()
                }),
                person: Some(s.clone()),
                collision: false,
                trap: None,
            };
            let arn = format!(
                "arn:aws:sts::{}:assumed-role/{}/GitHubActions",
                self.org.accounts[home].id, self.org.roles[role].name
            );
            let t = self.creation_second(&arn, t);
            let ask = Ask {
                role,
                sess: "GitHubActions".into(),
                source_identity: None,
                duration: 3600,
                mix: Mix::Deploy,
                key: Some(key.clone()),
                via: Via::Web(&provider),
                web_attrs: None,
                owner_only: false,
            };
            let (mut c, t) = self.assume(&client.tagged("recycled-ci", k), t, ask);
            c.ua = self.org.fp.terraform(&mut self.rng);
            let calls = self.rng.range(5, 30) as usize;
            self.burst(&mut c, t, calls, 4.0);
        }
    }

    /// GetSessionToken for 15 minutes by one IAM user, hours later by another, one key.
    fn recycled_session_token(&mut self, k: usize, t1: i64, t2: i64) {
        let users = match self.two_people(|p| p.kind == Kind::Iam) {
            Some((pa, pb)) => [pa, pb].map(|p| self.client(p).0),
            None => self.two_users_of_one_account().1,
        };
        let key = self.temp_key(users[0].home);
        for (i, (u, t)) in users.iter().zip([t1, t2]).enumerate() {
            let life = if i == 0 { 900 } else { 3600 };
            let mut s =
                self.session_token_with(&u.tagged("recycled-session-token", k), t, life, Some(key.clone()));
            let calls = self.rng.range(3, 10) as usize;
            self.burst(&mut s, t, calls, 40.0);
        }
    }

    /// The root user of a member account signs in to its console while someone of the
    /// management account runs an AssumeRoot task on that account: two sessions of one root
    /// ARN, told apart by `assumedRoot`. Every other time AWS hands the task the key the
    /// console session is using at that moment.
    pub fn root_beside_assume_root(&mut self, k: usize, t: i64) {
        const KIND: &str = "root-beside-assume-root";
        let target = 1 + self.rng.below(self.org.accounts.len() - 1);
        let acct = self.org.accounts[target].id.clone();
        let arn = format!("arn:aws:iam::{acct}:root");
        let (holder, _) = self.client(0);
        let root = Actor {
            id: Ident::Root {
                acct,
                key: None,
                created: None,
                assumed: false,
            },
            home: target,
            origin: Some(Origin {
                kind: "Root".into(),
                arn: Some(arn.clone()),
                ..Origin::default()
            }),
            person: Some(arn),
            ..holder
        };
        let browser = self.org.fp.browser(&mut self.rng);
        let Some(mut console) = self.console_login(&root.tagged(KIND, k), &browser, t, true) else {
            return;
        };
        let console_key = match &console.id {
            Ident::Root { key, .. } => key.clone(),
            _ => None,
        };
        // Before the console's first key rotates (2 minutes at the earliest).
        let ta = t + self.rng.range(5, 100);
        let user = self.management_users()[0].clone();
        let name = session_name_of(&user);
        let t0 = ta - self.rng.range(30, 600);
        let (ops, _) = self.role_session(&user, t0, "ops", &name);
        let key = if k % 2 == 1 { console_key } else { None };
        let mut task = self.assume_root(&ops.tagged(KIND, k), ta, target, key);
        let calls = self.rng.range(5, 20) as usize;
        self.burst(&mut console, t, calls, 30.0);
        let calls = self.rng.range(3, 10) as usize;
        self.burst(&mut task, ta, calls, 20.0);
    }

    /// Two IAM users of the management account (where AssumeRoot is called from): people
    /// when there are two, else made-up administrators.
    fn management_users(&mut self) -> [Actor; 2] {
        match self.two_people(|p| p.kind == Kind::Iam && p.acct == 0) {
            Some((pa, pb)) => [pa, pb].map(|p| self.client(p).0),
            None => ["platform-admin", "security-admin"].map(|n| self.twin(0, n).0),
        }
    }
}

/// The session name an IAM user's own profile would use: its user name.
fn session_name_of(u: &Actor) -> String {
    match &u.id {
        Ident::IamUser { name, .. } => name.clone(),
        _ => "session".into(),
    }
}
