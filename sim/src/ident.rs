//! Callers: the `userIdentity` shapes of §2 and the actor (identity + client + ground truth) behind them.

use crate::api::Mix;
use crate::ids;
use crate::json::W;
use crate::Origin;

/// Everything a `userIdentity` block needs, already resolved to strings.
#[derive(Clone, Debug)]
pub enum Ident {
    IamUser {
        acct: String,
        pid: String,
        name: String,
        /// AKIA for long-term keys, ASIA for console / GetSessionToken sessions, None at sign-in.
        key: Option<String>,
        /// creationDate of a temporary session (console, GetSessionToken).
        created: Option<i64>,
        mfa: bool,
    },
    Root {
        acct: String,
        key: Option<String>,
        created: Option<i64>,
        /// An AssumeRoot task session (`sessionContext.assumedRoot`), not the root user.
        assumed: bool,
    },
    Assumed {
        acct: String,
        role_id: String,
        role_name: String,
        /// The role's own ARN, with its path.
        role_arn: String,
        sess: String,
        key: String,
        created: i64,
        source_identity: Option<String>,
        /// Instance ARN of an EC2 instance-profile session.
        ec2: Option<String>,
        /// OIDC provider of a web-identity session (`webIdFederationData.federatedProvider`).
        web: Option<String>,
        /// `webIdFederationData.attributes` (a JSON object; Cognito names the identity there).
        web_attrs: Option<String>,
    },
    Federated {
        acct: String,
        name: String,
        key: String,
        created: i64,
        issuer_pid: String,
        issuer_name: String,
    },
    Service {
        by: &'static str,
    },
    Saml {
        pid: String,
        name: String,
        idp: String,
    },
    WebId {
        pid: String,
        name: String,
        idp: String,
    },
}

impl Ident {
    pub fn account(&self) -> &str {
        match self {
            Ident::IamUser { acct, .. }
            | Ident::Root { acct, .. }
            | Ident::Assumed { acct, .. }
            | Ident::Federated { acct, .. } => acct,
            _ => "",
        }
    }

    pub fn arn(&self) -> String {
        match self {
            Ident::IamUser { acct, name, .. } => format!("arn:aws:iam::{acct}:user/{name}"),
            Ident::Root { acct, .. } => format!("arn:aws:iam::{acct}:root"),
            Ident::Assumed {
                acct,
                role_name,
                sess,
                ..
            } => {
                format!("arn:aws:sts::{acct}:assumed-role/{role_name}/{sess}")
            }
            Ident::Federated { acct, name, .. } => {
                format!("arn:aws:sts::{acct}:federated-user/{name}")
            }
            Ident::Service { by } => (*by).to_owned(),
            Ident::Saml { name, .. } | Ident::WebId { name, .. } => name.clone(),
        }
    }

    /// What the role owner's copy of a cross-account call shows as `principalId`.
    pub fn principal_id(&self) -> String {
        match self {
            Ident::IamUser { pid, .. } | Ident::Saml { pid, .. } | Ident::WebId { pid, .. } => pid.clone(),
            Ident::Root { acct, .. } => acct.clone(),
            Ident::Assumed { role_id, sess, .. } => format!("{role_id}:{sess}"),
            Ident::Federated { acct, name, .. } => format!("{acct}:{name}"),
            Ident::Service { by } => (*by).to_owned(),
        }
    }

    pub fn source_identity(&self) -> Option<&str> {
        match self {
            Ident::Assumed { source_identity, .. } => source_identity.as_deref(),
            _ => None,
        }
    }

    /// Console sessions get a fresh key every few minutes.
    pub fn set_key(&mut self, new: String) {
        match self {
            Ident::IamUser { key, .. } | Ident::Root { key, .. } => *key = Some(new),
            Ident::Assumed { key, .. } | Ident::Federated { key, .. } => *key = new,
            _ => {}
        }
    }

    /// Writes `"userIdentity":{…}` in CloudTrail's key order.
    pub fn render(&self, w: &mut W, invoked_by: Option<&str>) {
        w.obj("userIdentity");
        match self {
            Ident::IamUser {
                acct,
                pid,
                name,
                key,
                created,
                mfa,
            } => {
                w.str("type", "IAMUser").str("principalId", pid);
                w.str("arn", &self.arn())
                    .str("accountId", acct)
                    .opt_str("accessKeyId", key.as_deref());
                w.str("userName", name);
                if let Some(c) = created {
                    user_session_context(w, *c, *mfa);
                }
            }
            Ident::Root {
                acct,
                key,
                created,
                assumed,
            } => {
                w.str("type", "Root")
                    .str("principalId", acct)
                    .str("arn", &self.arn());
                w.str("accountId", acct).opt_str("accessKeyId", key.as_deref());
                match (created, assumed) {
                    (Some(c), true) => {
                        // AssumeRoot's task session: attributes and the flag, no issuer.
                        w.obj("sessionContext").obj("attributes");
                        w.str("creationDate", &ids::iso(*c))
                            .str("mfaAuthenticated", "false")
                            .end();
                        w.str("assumedRoot", "true").end();
                    }
                    (Some(c), false) => user_session_context(w, *c, true),
                    (None, _) => {}
                }
            }
            Ident::Assumed {
                acct,
                role_id,
                role_name,
                role_arn,
                key,
                created,
                source_identity,
                ec2,
                web,
                web_attrs,
                ..
            } => {
                w.str("type", "AssumedRole")
                    .str("principalId", &self.principal_id());
                w.str("arn", &self.arn())
                    .str("accountId", acct)
                    .str("accessKeyId", key);
                w.obj("sessionContext")
                    .obj("sessionIssuer")
                    .str("type", "Role")
                    .str("principalId", role_id);
                w.str("arn", role_arn);
                w.str("accountId", acct).str("userName", role_name).end();
                w.obj("webIdFederationData");
                if let Some(p) = web {
                    w.str("federatedProvider", p);
                    match web_attrs {
                        Some(a) => w.raw("attributes", a),
                        None => w.obj("attributes").end(),
                    };
                }
                w.end();
                w.obj("attributes").str("creationDate", &ids::iso(*created));
                w.str("mfaAuthenticated", "false").end();
                w.opt_str("sourceIdentity", source_identity.as_deref());
                if ec2.is_some() {
                    w.str("ec2RoleDelivery", "2.0");
                }
                w.end();
                if let Some(arn) = ec2 {
                    w.obj("inScopeOf").str("issuerType", "AWS::EC2::Instance");
                    w.str("credentialsIssuedTo", arn).end();
                }
            }
            Ident::Federated {
                acct,
                key,
                created,
                issuer_pid,
                issuer_name,
                ..
            } => {
                w.str("type", "FederatedUser")
                    .str("principalId", &self.principal_id());
                w.str("arn", &self.arn())
                    .str("accountId", acct)
                    .str("accessKeyId", key);
                let issuer = format!("arn:aws:iam::{acct}:user/{issuer_name}");
                w.obj("sessionContext")
                    .obj("sessionIssuer")
                    .str("type", "IAMUser");
                w.str("principalId", issuer_pid)
                    .str("arn", &issuer)
                    .str("accountId", acct);
                w.str("userName", issuer_name)
                    .end()
                    .obj("webIdFederationData")
                    .end();
                w.obj("attributes").str("creationDate", &ids::iso(*created));
                w.str("mfaAuthenticated", "false").end().end();
            }
            Ident::Service { by } => {
                w.str("type", "AWSService").str("invokedBy", by);
            }
            Ident::Saml { pid, name, idp } => {
                w.str("type", "SAMLUser")
                    .str("principalId", pid)
                    .str("userName", name);
                w.str("identityProvider", idp);
            }
            Ident::WebId { pid, name, idp } => {
                w.str("type", "WebIdentityUser")
                    .str("principalId", pid)
                    .str("userName", name);
                w.str("identityProvider", idp);
            }
        }
        w.opt_str("invokedBy", invoked_by);
        w.end();
    }
}

/// `sessionContext` of an IAM user or root session: empty issuer, as in the real console events.
fn user_session_context(w: &mut W, created: i64, mfa: bool) {
    w.obj("sessionContext")
        .obj("sessionIssuer")
        .end()
        .obj("webIdFederationData")
        .end();
    w.obj("attributes").str("creationDate", &ids::iso(created));
    w.str("mfaAuthenticated", if mfa { "true" } else { "false" })
        .end()
        .end();
}

/// Console sessions rotate their key; these are the knobs.
#[derive(Clone, Debug)]
pub struct Console {
    pub key_until: i64,
    pub browser: String,
}

/// One caller: who it appears to be, where it calls from, and who is really behind it.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: Ident,
    /// Account index whose resources the calls touch.
    pub home: usize,
    pub ip: String,
    pub ua: String,
    pub tls13: bool,
    pub mix: Mix,
    pub console: Option<Console>,
    pub origin: Option<Origin>,
    pub person: Option<String>,
    pub collision: bool,
    /// The injected hard case this actor's calls belong to (kind, instance); inherited by the
    /// sessions it mints.
    pub trap: Option<(&'static str, u32)>,
}

impl Actor {
    /// This actor, tagged as part of trap `kind` instance `case`.
    pub fn tagged(&self, kind: &'static str, case: usize) -> Actor {
        Actor {
            trap: Some((kind, case as u32)),
            ..self.clone()
        }
    }

    /// A session minted by this actor: same client, same origin, new identity.
    pub fn child(&self, id: Ident, home: usize, mix: Mix) -> Actor {
        Actor {
            id,
            home,
            mix,
            console: None,
            collision: false,
            ..self.clone()
        }
    }
}
