//! Seeded simulator of an AWS organisation's CloudTrail, with the ground truth of who is behind each event.

mod agents;
mod api;
mod collide;
mod deliver;
mod event;
mod gen;
mod ident;
mod ids;
mod json;
mod machines;
mod mint;
mod org;
mod people;
mod rng;
mod signin;

pub use deliver::{deliver, delivery_order, Delivery};

use serde::{Deserialize, Serialize};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    /// Approximate number of events (API calls, sign-ins and service events together).
    pub events: usize,
    /// Accounts in the organisation, the first being the management / identity account (min 3).
    pub accounts: usize,
    pub people: usize,
    pub instances: usize,
    /// Number of same-second collision pairs to inject (§6).
    pub collisions: usize,
    /// Unix seconds of the first event.
    pub start: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            events: 20_000,
            accounts: 4,
            people: 12,
            instances: 4,
            collisions: 0,
            start: 1_714_521_600, // 2024-05-01T00:00:00Z
        }
    }
}

/// One compact CloudTrail record (no newline) and its ground truth.
#[derive(Clone, Debug, PartialEq)]
pub struct SimEvent {
    pub json: String,
    pub truth: Truth,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Truth {
    pub event_id: String,
    pub recipient_account: String,
    /// Who is really behind the call; None only for events nobody could attribute.
    pub origin: Option<Origin>,
    /// The `--identity` pattern that should select this event: IAM user name, SAML / OIDC
    /// subject, Identity Center userId, EC2 instance id, root ARN; None for service events and
    /// Lambda functions (their origin carries no name of their own).
    pub person: Option<String>,
    /// Made by a session whose arn, creationDate and access key collide with another's.
    pub collision: bool,
    /// This event minted a session (including IAM Identity Center's GetRoleCredentials, the
    /// identity-account end of the heuristic edge).
    pub creates: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Origin {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default, rename = "userId")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance: Option<String>,
}

/// Simulated events per hour: sets how long a stream of `events` lasts.
const EVENTS_PER_HOUR: i64 = 2000;

/// The organisation's CloudTrail, in `eventTime` order (stable), deterministic for a seed, with a
/// [`Truth`] per event. Pass it to [`deliver`] for what a reader really sees (late, out of
/// order, duplicated). Domain: `/work/shared/CLOUDTRAIL.md`; shapes follow the public data sets.
pub fn simulate(cfg: &Config) -> Vec<SimEvent> {
    let mut rng = rng::Rng::new(cfg.seed);
    let org = org::Org::new(cfg, &mut rng.fork());
    let mut g = gen::Gen::new(rng, org);
    let events = cfg.events as i64;
    let span = (events * 3600 / EVENTS_PER_HOUR).max(3600);
    let (start, end) = (cfg.start, cfg.start + span);

    // Background workloads take a fixed share of the volume: instances 12%, Lambda 8%, service
    // events ~1.5%; people fill the rest.
    let n_inst = g.org.instances.len();
    for i in 0..n_inst {
        g.instance_life(i, start, end, cfg.events * 12 / 100 / n_inst);
    }
    let n_fn = g.org.functions.len();
    for f in 0..n_fn {
        g.function_life(f, start, end, cfg.events * 8 / 100 / n_fn.max(1));
    }
    let n_acct = g.org.accounts.len();
    g.service_events(start, end, (cfg.events * 15 / 1000 / n_acct).max(1));
    for k in 0..cfg.collisions {
        // Leave room before t for the two people to sign in.
        let t = g.rng.range(start + 1500, (end - 600).max(start + 1500));
        g.collision(k, t);
    }
    let root_ok = g.org.people[0].kind == org::Kind::Iam;
    let n_people = g.org.people.len();
    let n_pipes = g.org.pipelines.len();
    while g.out.len() < cfg.events {
        let t = g.rng.range(start, (end - 600).max(start));
        let r = g.rng.f64();
        if r < 0.08 && n_pipes > 0 {
            let i = g.rng.below(n_pipes);
            g.pipeline_run(i, t);
        } else if r < 0.083 && root_ok {
            g.root_console(t);
        } else {
            let p = g.rng.below(n_people);
            g.episode(p, t);
        }
    }

    // Sort (time, insertion index) pairs rather than the large records themselves. The index
    // keeps it stable: within one second, an event that mints a session stays before its use.
    let mut order: Vec<(i64, usize)> = g.out.iter().enumerate().map(|(i, r)| (r.t, i)).collect();
    order.sort_unstable();
    let mut slots: Vec<Option<gen::Raw>> = g.out.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, i)| slots[i].take())
        .map(|r| SimEvent {
            json: r.json,
            truth: r.truth,
        })
        .collect()
}
