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
mod misuse;
mod mint;
mod org;
mod people;
mod rng;
mod recycle;
mod signin;
mod trail;
mod traps;

pub use deliver::{arrivals, deliver, delivery_order, Delivery};
pub use misuse::Misuse;
pub use trail::write_trail_files;

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
    /// The hard cases of issue 12, all off by default (see [`Traps`]).
    pub traps: Traps,
    /// Unix seconds of the first event.
    pub start: i64,
    /// Seconds the stream spans (default: the events at the usual rate, an hour at least). A
    /// long, sparse stream (days of a few events an hour) for backfill shards.
    pub span: Option<i64>,
    /// Misuse ground truth to inject (issue 15), all off by default.
    pub misuse: Misuse,
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
            traps: Traps::default(),
            start: 1_714_521_600, // 2024-05-01T00:00:00Z
            span: None,
            misuse: Misuse::default(),
        }
    }
}

/// Hard cases to inject, each a count of independent instances (0: none). None of them draws
/// from the random stream when it is 0, so a configuration without traps simulates exactly the
/// stream it did before they existed. Every event a trap makes carries a [`TrapTag`] in its truth.
#[derive(Clone, Debug, Default)]
pub struct Traps {
    /// AssumeRoleWithSAML by two people in the same second, same role, one recycled key: the IdP
    /// maps RoleSessionName to a shared value (a department, a group).
    pub saml: usize,
    /// AssumeRoleWithWebIdentity by two subjects in the same second with the same session name
    /// and one recycled key: two CI repositories trusted by one role (`GitHubActions`), two IRSA
    /// pods starting in the same second (`botocore-session-<second>`), two Cognito identities
    /// (`CognitoIdentityCredentials`, whose calls name their own subject).
    pub web: usize,
    /// GetFederationToken with one federated user name, in the same second, by two IAM users of
    /// one account, mostly with one recycled key (the calls still name their own issuer).
    pub federation: usize,
    /// Two IAM users of one name in two accounts, each signed in to the console, switching into
    /// one role in the same second: one session ARN (named after the user), one creationDate.
    pub switch: usize,
    /// Two IAM users handed one recycled key by GetSessionToken, both sessions alive.
    pub session_token: usize,
    /// An AssumeRole collision in which both creators set sourceIdentity to the first person's
    /// name: everything logged is identical, and the name in it is true for only one of them.
    pub spoofed_collision: usize,
    /// A temporary key handed out again, hours after the first session expired, to someone else:
    /// an AssumeRoot task session (15 min), a federation token, a CI role session on one role,
    /// a GetSessionToken session.
    pub recycled: usize,
    /// An AssumeRoot task session on a member account while the real root user is signed in
    /// to its console; every other one shares a key with the root console session.
    pub root: usize,
    /// Two people's sessions of one role and one session name (`botocore-session`), an hour
    /// or more apart, each assuming a role in another account whose caller's copy is missing:
    /// only the role owner's `AWSAccount` copy, naming the shared principal id, is in the stream.
    pub owner_only: usize,
    /// A session whose creator set sourceIdentity to someone else's name.
    pub spoofed_source_identity: usize,
    /// Role juggling: 63, 64, 65 and 70 hops between two roles of two accounts.
    pub juggling: usize,
    /// Same-named IAM users of two accounts, MFA GetSessionToken in the same second with one
    /// recycled key, then a cross-account AssumeRole each.
    pub mfa_across: usize,
    /// Two people's federated console sessions sharing one session ARN (a shared SAML
    /// RoleSessionName), then a SwitchRole from that ARN by the earlier one.
    pub console_shared: usize,
    /// Share (0.0 to 1.0) of people's role sessions named with a name shared by everybody
    /// (`deploy`, `terraform`, ...) instead of their tool's: session names reused by different
    /// people over time.
    pub shared_names: f64,
}

impl Traps {
    /// `n` instances of every trap and a fifth of role sessions under shared names.
    pub fn every(n: usize) -> Traps {
        Traps {
            saml: n,
            web: n,
            federation: n,
            switch: n,
            session_token: n,
            spoofed_collision: n,
            recycled: n,
            root: n,
            owner_only: n,
            spoofed_source_identity: n,
            juggling: n,
            mfa_across: n,
            console_shared: n,
            shared_names: if n > 0 { 0.2 } else { 0.0 },
        }
    }

    /// The names [`Traps::set`] knows, in the order the dispatcher injects them.
    pub const NAMES: [&'static str; 14] = [
        "saml",
        "web",
        "federation",
        "switch",
        "session-token",
        "spoofed-collision",
        "recycled",
        "root",
        "owner-only",
        "spoofed-source-identity",
        "juggling",
        "mfa-across",
        "console-shared",
        "shared-names",
    ];

    /// Sets trap `name` (one of [`Traps::NAMES`]) to `n` instances (`shared-names`: to `n`
    /// percent of role sessions). False for an unknown name.
    pub fn set(&mut self, name: &str, n: usize) -> bool {
        let slot = match name {
            "saml" => &mut self.saml,
            "web" => &mut self.web,
            "federation" => &mut self.federation,
            "switch" => &mut self.switch,
            "session-token" => &mut self.session_token,
            "spoofed-collision" => &mut self.spoofed_collision,
            "recycled" => &mut self.recycled,
            "root" => &mut self.root,
            "owner-only" => &mut self.owner_only,
            "spoofed-source-identity" => &mut self.spoofed_source_identity,
            "juggling" => &mut self.juggling,
            "mfa-across" => &mut self.mfa_across,
            "console-shared" => &mut self.console_shared,
            "shared-names" => {
                self.shared_names = (n.min(100) as f64) / 100.0;
                return true;
            }
            _ => return false,
        };
        *slot = n;
        true
    }

    /// Whether any trap is on.
    pub fn any(&self) -> bool {
        self.shared_names > 0.0
            || [
                self.saml,
                self.web,
                self.federation,
                self.switch,
                self.session_token,
                self.spoofed_collision,
                self.recycled,
                self.root,
                self.owner_only,
                self.spoofed_source_identity,
                self.juggling,
                self.mfa_across,
                self.console_shared,
            ]
            .iter()
            .any(|&n| n > 0)
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
    /// The trap this event belongs to: made by (or minting) a session of an injected hard case.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trap: Option<TrapTag>,
    /// Misuse ground truth (issue 15): a call made with someone else's stolen credentials, or
    /// one of a benign look-alike injected to try the signals (a person who moved).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub misuse: Option<MisuseTag>,
}

/// Which misuse case an event belongs to: `stolen-role` (a person's role session used by
/// another party), `stolen-instance` (instance credentials used off the instance), or
/// `moved` (the owner carrying on from a new address with the same tool), and the case number.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct MisuseTag {
    pub kind: String,
    pub case: u32,
}

/// Which injected hard case an event belongs to: its kind (`saml-collision`, `recycled-root`,
/// ...) and the instance number, shared by the creating events and the calls of one instance.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TrapTag {
    pub kind: String,
    pub case: u32,
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
    let mut g = gen::Gen::new(rng, org, cfg.traps.clone());
    let events = cfg.events as i64;
    let span = cfg.span.unwrap_or(events * 3600 / EVENTS_PER_HOUR).max(3600);
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
    if cfg.traps.any() {
        g.traps(start, end);
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

    if cfg.misuse.any() {
        // After everything else, from its own random stream: a configuration without misuse
        // simulates exactly the stream it did before.
        misuse::inject(&mut g.out, &cfg.misuse, cfg.seed);
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
