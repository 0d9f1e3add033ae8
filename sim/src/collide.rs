//! Injected collisions (§6): two people, same role, session name and second, one recycled key.

use crate::gen::Gen;
use crate::mint::{Ask, Via};
use crate::people::mix_for;

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
