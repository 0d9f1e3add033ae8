//! Workloads that run all the time: EC2 instance profiles, Lambda functions, and service events.

use crate::api::Mix;
use crate::gen::Gen;
use crate::ident::{Actor, Ident};
use crate::Origin;

impl Gen {
    /// An instance for `[start, end)`: an instance-profile session every hour (EC2 rotates them),
    /// and about `calls` calls in between.
    pub fn instance_life(&mut self, i: usize, start: i64, end: i64, calls: usize) {
        let inst = &self.org.instances[i];
        let (id, role, arn) = (inst.id.clone(), inst.role, inst.arn.clone());
        let client = Actor {
            id: Ident::Service {
                by: "ec2.amazonaws.com",
            },
            home: self.org.roles[role].acct,
            ip: inst.ip.clone(),
            ua: inst.ua.clone(),
            tls13: false,
            mix: Mix::Instance,
            console: None,
            origin: Some(Origin {
                kind: "AWSService".into(),
                name: Some("ec2.amazonaws.com".into()),
                instance: Some(id.clone()),
                ..Origin::default()
            }),
            person: Some(id.clone()),
            collision: false,
            trap: None,
        };
        let gap = (end - start) as f64 / calls.max(1) as f64;
        let mut t = start + self.rng.range(0, 300);
        let mut refresh = t;
        let mut session: Option<Actor> = None;
        while t < end {
            if t >= refresh {
                // Credentials are valid ~6 h but the instance picks up new ones about hourly.
                let life = 6 * 3600 + self.rng.range(0, 1800);
                let (s, c) = self.service_assume(
                    &client,
                    "ec2.amazonaws.com",
                    t,
                    role,
                    &id,
                    life,
                    Some(arn.clone()),
                );
                session = Some(s);
                t = c;
                refresh = c + 3600 + self.rng.range(-300, 300);
            }
            t += 1 + self.rng.exp(gap) as i64;
            if t >= end {
                break;
            }
            if t >= refresh {
                continue;
            }
            if let Some(s) = session.as_mut() {
                self.call(s, t);
            }
        }
    }

    /// A function for `[start, end)`: each execution environment assumes the role at cold start
    /// (session name = function name) and is recycled after an hour or two.
    pub fn function_life(&mut self, f: usize, start: i64, end: i64, calls: usize) {
        let func = &self.org.functions[f];
        let (name, role) = (func.name.clone(), func.role);
        let client = Actor {
            id: Ident::Service {
                by: "lambda.amazonaws.com",
            },
            home: self.org.roles[role].acct,
            ip: func.ip.clone(),
            ua: func.ua.clone(),
            tls13: false,
            mix: Mix::Lambda,
            console: None,
            origin: Some(Origin {
                kind: "AWSService".into(),
                name: Some("lambda.amazonaws.com".into()),
                ..Origin::default()
            }),
            person: None,
            collision: false,
            trap: None,
        };
        // Invocations make 1-4 calls each, 2.5 on average.
        let gap = (end - start) as f64 / (calls.max(1) as f64 / 2.5);
        let mut t = start + self.rng.range(0, 600);
        let mut env: Option<(Actor, i64)> = None;
        while t < end {
            // (`is_none_or` would read better but needs Rust 1.82; the workspace targets 1.80.)
            if !matches!(&env, Some((_, until)) if t < *until) {
                let (s, c) =
                    self.service_assume(&client, "lambda.amazonaws.com", t, role, &name, 12 * 3600, None);
                env = Some((s, c + self.rng.range(1800, 7200)));
                t = c;
            }
            if let Some((s, _)) = env.as_mut() {
                let n = self.rng.range(1, 4) as usize;
                let mut tc = t;
                for _ in 0..n {
                    self.call(s, tc);
                    tc += self.rng.range(0, 1);
                }
            }
            t += 1 + self.rng.exp(gap) as i64;
        }
    }

    /// About `n` service events per account, spread over `[start, end)`.
    pub fn service_events(&mut self, start: i64, end: i64, n: usize) {
        for acct in 0..self.org.accounts.len() {
            for _ in 0..n {
                let t = self.rng.range(start, end - 1);
                self.service_event(acct, t);
            }
        }
    }
}
