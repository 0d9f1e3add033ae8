//! The simulated organisation: accounts, roles, people, CI pipelines, EC2 instances, Lambda functions.

use crate::agents::{Fingerprints, Tool};
use crate::ids;
use crate::rng::Rng;
use crate::{Config, Origin};

/// Resource names an account's API calls refer to (so requestParameters look like a real estate).
pub struct Res {
    pub buckets: Vec<String>,
    pub params: Vec<String>,
    pub secrets: Vec<String>,
    pub keys: Vec<String>,
    pub vpcs: Vec<String>,
    pub instances: Vec<String>,
    pub functions: Vec<String>,
    pub stacks: Vec<String>,
    pub tables: Vec<String>,
    pub dbs: Vec<String>,
}

pub struct Account {
    pub id: String,
    /// Middle characters shared by the account's access keys and unique ids.
    pub infix: String,
    pub region: &'static str,
    pub res: Res,
    /// Okta SAML provider: (provider ARN, name qualifier).
    pub okta: (String, String),
    /// Identity Center's per-account SAML provider `AWSSSO_…_DO_NOT_DELETE`: (ARN, name qualifier).
    pub sso: (String, String),
    pub github_oidc: String,
}

pub struct Role {
    pub acct: usize,
    pub name: String,
    pub id: String,
    pub arn: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// IAM user with long-term keys (and maybe a console password).
    Iam,
    /// Okta SAML federation.
    Saml,
    /// IAM Identity Center user.
    IdC,
}

pub struct Person {
    pub kind: Kind,
    /// IAM user name, SAML subject, or Identity Center user name.
    pub name: String,
    /// Account an IAM user lives in.
    pub acct: usize,
    /// `AIDA…` of an IAM user.
    pub pid: String,
    pub keys: Vec<String>,
    /// Identity store user id of an Identity Center user.
    pub user_id: String,
    pub ips: Vec<String>,
    pub tools: Vec<Tool>,
    pub browser: String,
}

pub struct Pipeline {
    pub subject: String,
    pub role: usize,
    /// The deploy tool the job runs after fetching credentials.
    pub ua: String,
}

pub struct Instance {
    pub id: String,
    pub role: usize,
    pub ip: String,
    pub ua: String,
    pub arn: String,
}

pub struct Function {
    pub name: String,
    pub role: usize,
    pub ip: String,
    pub ua: String,
}

pub struct Org {
    pub accounts: Vec<Account>,
    pub roles: Vec<Role>,
    pub people: Vec<Person>,
    pub pipelines: Vec<Pipeline>,
    pub instances: Vec<Instance>,
    pub functions: Vec<Function>,
    pub store_arn: String,
    pub okta_issuer: String,
    pub sso_issuer: String,
    /// `sso_roles[acct][permission set]`: index of the `AWSReservedSSO_…` role.
    pub sso_roles: Vec<Vec<usize>>,
    pub fp: Fingerprints,
}

pub const PERMISSION_SETS: [&str; 4] = [
    "AdministratorAccess",
    "ReadOnlyAccess",
    "PowerUserAccess",
    "DataEngineer",
];
/// Roles every member account has (people hop into them from `ops`).
pub const MEMBER_ROLES: [&str; 4] = ["deploy", "Admin", "ReadOnly", "audit"];
pub const OKTA_ROLES: [&str; 2] = ["okta-engineer", "okta-readonly"];
const FIRST: [&str; 20] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "kim", "leo", "mia",
    "nora", "oscar", "priya", "quinn", "raj", "sara", "tom",
];
const LAST: [&str; 10] = [
    "smith", "jones", "white", "kim", "garcia", "nguyen", "patel", "moller", "lopez", "berg",
];
const ACCOUNT_NAMES: [&str; 6] = [
    "management",
    "prod",
    "staging",
    "dev",
    "shared-services",
    "sandbox",
];
const REGIONS: [&str; 4] = ["us-east-1", "us-east-1", "eu-west-1", "us-west-2"];
const APPS: [&str; 5] = ["web", "api", "batch", "worker", "bastion"];
const FUNCTIONS: [&str; 4] = [
    "order-processor",
    "thumbnail-resizer",
    "nightly-report",
    "audit-forwarder",
];
const REPOS: [&str; 5] = [
    "repo:corp/infra:ref:refs/heads/main",
    "repo:corp/web:environment:production",
    "repo:corp/api:ref:refs/heads/main",
    "repo:corp/data-pipeline:environment:staging",
    "repo:corp/deploy:ref:refs/heads/main",
];

impl Org {
    pub fn new(cfg: &Config, rng: &mut Rng) -> Org {
        let mut fp = Fingerprints::new();
        let n_acct = cfg.accounts.max(3);
        let accounts: Vec<Account> = (0..n_acct).map(|i| account(rng, i)).collect();
        let mut org = Org {
            store_arn: format!(
                "arn:aws:identitystore::{}:identitystore/d-{}",
                accounts[0].id,
                ids::chars(rng, b"0123456789", 10)
            ),
            okta_issuer: format!(
                "http://www.okta.com/exk{}",
                ids::chars(rng, ids::B32, 17).to_lowercase()
            ),
            sso_issuer: format!(
                "https://portal.sso.{}.amazonaws.com/saml/assertion/{}",
                accounts[0].region,
                ids::b64(rng, 40).replace(['+', '/'], "A")
            ),
            accounts,
            roles: Vec::new(),
            people: Vec::new(),
            pipelines: Vec::new(),
            instances: Vec::new(),
            functions: Vec::new(),
            sso_roles: Vec::new(),
            fp: Fingerprints::new(),
        };
        for a in 0..n_acct {
            org.add_role(rng, a, "ops");
            for r in OKTA_ROLES {
                org.add_role(rng, a, r);
            }
            if a > 0 {
                for r in MEMBER_ROLES {
                    org.add_role(rng, a, r);
                }
                org.add_role(rng, a, "github-actions-deploy");
            }
            let sso = PERMISSION_SETS
                .iter()
                .map(|ps| {
                    let name = format!("AWSReservedSSO_{ps}_{}", ids::hex(rng, 16));
                    org.add_role(rng, a, &name)
                })
                .collect();
            org.sso_roles.push(sso);
        }
        for i in 0..cfg.people.max(1) {
            let p = person(rng, &mut fp, &org, i);
            org.people.push(p);
        }
        let n_pipes = (cfg.people / 5).clamp(1, REPOS.len());
        for (i, subject) in REPOS.iter().enumerate().take(n_pipes) {
            let acct = 1 + i % (n_acct - 1);
            let role = org.role(acct, "github-actions-deploy");
            let ua = fp.terraform(rng);
            org.pipelines.push(Pipeline {
                subject: (*subject).to_owned(),
                role,
                ua,
            });
        }
        for i in 0..cfg.instances {
            let acct = 1 + i % (n_acct - 1);
            let app = APPS[i % APPS.len()];
            let role = org.add_role(rng, acct, &format!("{app}-instance-role"));
            let id = ids::instance_id(rng);
            let a = &org.accounts[acct];
            let arn = format!("arn:aws:ec2:{}:{}:instance/{id}", a.region, a.id);
            org.accounts[acct].res.instances.push(id.clone());
            let (ip, ua) = (fp.aws_ip(rng), fp.instance_agent(rng));
            org.instances.push(Instance {
                id,
                role,
                ip,
                ua,
                arn,
            });
        }
        for (i, name) in FUNCTIONS.iter().take(n_acct - 1).enumerate() {
            let acct = 1 + i % (n_acct - 1);
            let role = org.add_role(rng, acct, &format!("{name}-role"));
            org.accounts[acct].res.functions.push((*name).to_owned());
            let (ip, ua) = (fp.aws_ip(rng), fp.lambda_runtime(rng));
            org.functions.push(Function {
                name: (*name).to_owned(),
                role,
                ip,
                ua,
            });
        }
        org.fp = fp;
        org
    }

    pub fn add_role(&mut self, rng: &mut Rng, acct: usize, name: &str) -> usize {
        let a = &self.accounts[acct];
        self.roles.push(Role {
            acct,
            name: name.to_owned(),
            id: ids::principal_id(rng, "AROA", &a.infix),
            // Identity Center's roles live under a reserved path, which shows in the role ARN
            // (sessionIssuer) but not in the assumed-role ARN.
            arn: match name.starts_with("AWSReservedSSO_") {
                true => format!("arn:aws:iam::{}:role/aws-reserved/sso.amazonaws.com/{name}", a.id),
                false => format!("arn:aws:iam::{}:role/{name}", a.id),
            },
        });
        self.roles.len() - 1
    }

    /// Index of the role `name` in account `acct` (roles are few; a scan is cheap).
    pub fn role(&self, acct: usize, name: &str) -> usize {
        self.roles
            .iter()
            .position(|r| r.acct == acct && r.name == name)
            .unwrap_or_else(|| panic!("no role {name} in account {acct}"))
    }

    /// The ground-truth origin of everything a person does.
    pub fn origin(&self, p: &Person) -> Origin {
        match p.kind {
            Kind::Iam => Origin {
                kind: "IAMUser".into(),
                arn: Some(format!(
                    "arn:aws:iam::{}:user/{}",
                    self.accounts[p.acct].id, p.name
                )),
                name: Some(p.name.clone()),
                ..Origin::default()
            },
            Kind::Saml => Origin {
                kind: "SAMLUser".into(),
                name: Some(p.name.clone()),
                ..Origin::default()
            },
            Kind::IdC => Origin {
                kind: "IdentityCenterUser".into(),
                user_id: Some(p.user_id.clone()),
                name: Some(p.name.clone()),
                ..Origin::default()
            },
        }
    }
}

impl Person {
    /// The `--identity` pattern that selects this person's events.
    pub fn selector(&self) -> String {
        match self.kind {
            Kind::IdC => self.user_id.clone(),
            _ => self.name.clone(),
        }
    }
}

fn account(rng: &mut Rng, i: usize) -> Account {
    let id = ids::account_id(rng);
    let infix = ids::chars(rng, ids::B32, 8);
    let region = if i == 0 {
        "us-east-1"
    } else {
        REGIONS[i % REGIONS.len()]
    };
    let name = match ACCOUNT_NAMES.get(i) {
        Some(n) => (*n).to_owned(),
        None => format!("workload-{i}"),
    };
    let qualifier = |rng: &mut Rng| format!("{}=", ids::b64(rng, 27));
    let res = Res {
        buckets: (0..4)
            .map(|k| {
                format!(
                    "corp-{name}-{}-{}",
                    ["artifacts", "logs", "data", "backups"][k],
                    &id[8..]
                )
            })
            .collect(),
        params: [
            "/app/db-url",
            "/app/api-key",
            "/app/feature-flags",
            "/infra/vpc-id",
            "/ci/deploy-token",
        ]
        .iter()
        .map(|p| format!("/{name}{p}"))
        .collect(),
        secrets: ["db/password", "stripe/api-key", "github/token"]
            .iter()
            .map(|s| {
                format!(
                    "arn:aws:secretsmanager:{region}:{id}:secret:{name}/{s}-{}",
                    ids::b64(rng, 6).replace(['+', '/'], "x")
                )
            })
            .collect(),
        keys: (0..3).map(|_| ids::uuid(rng)).collect(),
        vpcs: (0..2).map(|_| format!("vpc-0{}", ids::hex(rng, 16))).collect(),
        instances: Vec::new(),
        functions: Vec::new(),
        stacks: ["network", "app", "data", "monitoring"]
            .iter()
            .map(|s| format!("{name}-{s}"))
            .collect(),
        tables: ["orders", "sessions", "audit"]
            .iter()
            .map(|s| format!("{name}-{s}"))
            .collect(),
        dbs: vec![format!("{name}-postgres-1"), format!("{name}-postgres-2")],
    };
    Account {
        okta: (format!("arn:aws:iam::{id}:saml-provider/Okta"), qualifier(rng)),
        sso: (
            format!(
                "arn:aws:iam::{id}:saml-provider/AWSSSO_{}_DO_NOT_DELETE",
                ids::hex(rng, 16)
            ),
            qualifier(rng),
        ),
        github_oidc: format!("arn:aws:iam::{id}:oidc-provider/token.actions.githubusercontent.com"),
        id,
        infix,
        region,
        res,
    }
}

fn person(rng: &mut Rng, fp: &mut Fingerprints, org: &Org, i: usize) -> Person {
    // A fixed rotation so that even a handful of people covers every kind of identity.
    let kind = [Kind::Iam, Kind::IdC, Kind::Saml, Kind::Iam, Kind::IdC][i % 5];
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i * 7 + i / FIRST.len()) % LAST.len()];
    let suffix = if i < FIRST.len() {
        String::new()
    } else {
        (i / FIRST.len()).to_string()
    };
    let name = match kind {
        Kind::Iam => format!("{first}{suffix}"),
        Kind::Saml => format!("{first}.{last}{suffix}@corp.example"),
        Kind::IdC => format!("{first}.{last}{suffix}"),
    };
    // Most IAM users live in the management account; a few legacy ones in member accounts.
    let acct = if kind == Kind::Iam && i % 4 == 3 {
        1 + i % (org.accounts.len() - 1)
    } else {
        0
    };
    let infix = &org.accounts[acct].infix;
    let n_tools = rng.range(1, 3) as usize;
    Person {
        kind,
        pid: ids::principal_id(rng, "AIDA", infix),
        keys: (0..rng.range(1, 2))
            .map(|_| ids::access_key(rng, "AKIA", infix))
            .collect(),
        user_id: format!("{}-{}", ids::hex(rng, 8), &ids::uuid(rng)[9..]),
        ips: (0..rng.range(1, 2)).map(|_| fp.home_ip(rng)).collect(),
        tools: (0..n_tools).map(|_| fp.tool(rng, kind == Kind::Saml)).collect(),
        browser: fp.browser(rng),
        name,
        acct,
    }
}
