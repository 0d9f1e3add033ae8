//! Generator core: records each event with its truth, and makes ordinary API calls for an actor.

use crate::api::{self, Ctx, Mix};
use crate::event::{Ev, Who};
use crate::ident::{Actor, Ident};
use crate::ids;
use crate::json::W;
use crate::org::Org;
use crate::rng::Rng;
use crate::{TrapTag, Traps, Truth};
use std::collections::{HashMap, HashSet};

/// A generated record before the final time sort.
pub struct Raw {
    pub t: i64,
    pub json: String,
    pub truth: Truth,
}

pub struct Gen {
    pub rng: Rng,
    pub org: Org,
    pub out: Vec<Raw>,
    /// (session ARN, creation second) already handed out: two sessions sharing both are a
    /// collision, which must only happen where the scenario injects one.
    minted: HashSet<(String, i64)>,
    /// Reused render buffer.
    scratch: W,
    /// The hard cases to inject.
    pub traps: Traps,
    /// IAM users made up for traps (same-named users of different accounts), by (account,
    /// name), with their browser.
    pub twins: HashMap<(usize, String), (Actor, String)>,
    /// Identifiers traps make up once and reuse (an account's EKS provider, Cognito pool).
    pub memo: HashMap<String, String>,
}

impl Gen {
    pub fn new(rng: Rng, org: Org, traps: Traps) -> Self {
        Gen {
            rng,
            org,
            out: Vec::new(),
            minted: HashSet::new(),
            scratch: W::with_capacity(4096),
            traps,
            twins: HashMap::new(),
            memo: HashMap::new(),
        }
    }

    /// Records one rendered event. `a` gives the ground truth (None: nobody behind it).
    pub fn push(
        &mut self,
        t: i64,
        json: String,
        event_id: String,
        recipient: String,
        a: Option<&Actor>,
        creates: bool,
    ) {
        let truth = Truth {
            event_id,
            recipient_account: recipient,
            origin: a.and_then(|a| a.origin.clone()),
            person: a.and_then(|a| a.person.clone()),
            collision: a.is_some_and(|a| a.collision),
            creates,
            trap: a.and_then(|a| a.trap).map(|(kind, case)| TrapTag {
                kind: kind.to_owned(),
                case,
            }),
            misuse: None,
        };
        self.out.push(Raw { t, json, truth });
    }

    /// Renders and records `ev`.
    pub fn emit(&mut self, ev: &Ev, a: Option<&Actor>, creates: bool) {
        ev.render_into(&mut self.scratch);
        let json = self.scratch.s.clone(); // exact capacity
        self.push(
            ev.t,
            json,
            ev.event_id.clone(),
            ev.recipient.to_owned(),
            a,
            creates,
        );
    }

    /// The first second at or after `t` in which no other session named `arn` was created, so
    /// that accidental collisions never happen (real clients would differ by a second or two).
    pub fn creation_second(&mut self, arn: &str, mut t: i64) -> i64 {
        while self.minted.contains(&(arn.to_owned(), t)) {
            t += 1;
        }
        self.minted.insert((arn.to_owned(), t));
        t
    }

    /// Claims `t` for `arn` without moving it (the injected collisions share it on purpose).
    pub fn force_second(&mut self, arn: &str, t: i64) {
        self.minted.insert((arn.to_owned(), t));
    }

    pub fn uuid(&mut self) -> String {
        ids::uuid(&mut self.rng)
    }

    /// A fresh temporary key in account `acct`'s key space.
    pub fn temp_key(&mut self, acct: usize) -> String {
        ids::access_key(&mut self.rng, "ASIA", &self.org.accounts[acct].infix)
    }

    /// `n` ordinary calls from `t`, separated by bursts (same second) and pauses (mean `gap` s).
    /// Returns the time of the last call.
    pub fn burst(&mut self, a: &mut Actor, mut t: i64, n: usize, gap: f64) -> i64 {
        for _ in 0..n {
            if !self.rng.chance(0.35) {
                t += 1 + self.rng.exp(gap) as i64;
            }
            self.call(a, t);
        }
        t
    }

    /// One ordinary API call by `a` at `t`.
    pub fn call(&mut self, a: &mut Actor, t: i64) {
        if let Some(c) = &mut a.console {
            // Console credentials rotate every few minutes while the sign-in session lives on.
            if t >= c.key_until {
                c.key_until = t + self.rng.range(120, 900);
                let key = ids::access_key(&mut self.rng, "ASIA", &self.org.accounts[a.home].infix);
                a.id.set_key(key);
            }
        }
        let acct = &self.org.accounts[a.home];
        let instance = match &a.id {
            Ident::Assumed {
                ec2: Some(_), sess, ..
            } => Some(sess.as_str()),
            _ => None,
        };
        let rng = &mut self.rng;
        let call = api::call(rng, &Ctx { acct, instance, t }, a.mix);
        let region = if call.global { "us-east-1" } else { acct.region };
        let mut ua = a.ua.as_str();
        let mut ip = a.ip.as_str();
        let mut invoked = None;
        if let Some(c) = &a.console {
            if call.source == "health.amazonaws.com" && rng.chance(0.5) {
                // The console's health widget calls through the service itself.
                (ip, ua, invoked) = (
                    "health.amazonaws.com",
                    "AWS Internal",
                    Some("health.amazonaws.com"),
                );
            } else if rng.chance(0.15) {
                ua = &c.browser;
            }
        }
        let eid = ids::uuid(rng);
        let recipient = match a.id.account() {
            "" => acct.id.as_str(),
            x => x,
        };
        let mut ev = Ev::api(
            Who::Id(&a.id, invoked),
            t,
            call.source,
            call.name,
            region,
            ip,
            ua,
            recipient,
            eid,
        );
        let human = !matches!(a.mix, Mix::Instance | Mix::Lambda);
        if human && rng.chance(0.025) {
            let svc = call.source.split('.').next().unwrap_or("");
            ev.error = Some(if svc == "ec2" {
                let msg = format!(
                    "You are not authorized to perform this operation. Encoded authorization failure message: {}",
                    ids::b64(rng, 320).replace(['+', '/'], "_")
                );
                ("Client.UnauthorizedOperation", msg)
            } else {
                let msg = format!(
                    "User: {} is not authorized to perform: {svc}:{n} because no identity-based policy allows the {svc}:{n} action",
                    a.id.arn(),
                    n = call.name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v')
                );
                ("AccessDenied", msg)
            });
        } else {
            ev.resp = call.resp;
        }
        ev.req = call.req;
        ev.extra = call.extra;
        ev.request_id = Some(if call.s3 {
            ids::s3_request_id(rng)
        } else {
            ids::uuid(rng)
        });
        ev.read_only = Some(call.read_only);
        ev.resources = call.resources;
        ev.api_version = call.api_version;
        ev.tls = call.host.map(|h| (a.tls13, h));
        ev.console = a.console.is_some();
        if let (Some(i), true) = (instance, rng.chance(0.3)) {
            // Instances reach some services through an interface endpoint of their VPC.
            ev.vpce = Some(format!("vpce-0{}", &i[3..i.len().min(19)]));
        }
        ev.render_into(&mut self.scratch);
        let json = self.scratch.s.clone(); // exact capacity
        let (eid, recipient) = (ev.event_id, recipient.to_owned());
        self.push(t, json, eid, recipient, Some(a), false);
    }
}
