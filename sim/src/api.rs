//! Catalogue of ordinary (non-identity) API calls, with requestParameters shaped like the real ones.

mod apps;
mod infra;

use crate::ids;
use crate::json::W;
use crate::org::Account;
use crate::rng::Rng;

/// What kind of work a session does; decides which calls it makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    Admin,
    ReadOnly,
    Deploy,
    Console,
    Instance,
    Lambda,
}

/// The service-specific part of one call.
pub struct Call {
    pub source: &'static str,
    pub name: &'static str,
    pub read_only: bool,
    pub req: Option<String>,
    pub resp: Option<String>,
    pub extra: Option<String>,
    pub resources: Option<String>,
    /// clientProvidedHostHeader; None leaves tlsDetails out (as for many real records).
    pub host: Option<String>,
    /// S3 uses 16-character request ids.
    pub s3: bool,
    /// IAM, the global STS endpoint and S3 ListBuckets always log us-east-1.
    pub global: bool,
    pub api_version: Option<&'static str>,
}

/// Where the call happens.
pub struct Ctx<'a> {
    pub acct: &'a Account,
    /// The calling instance, for the SSM agent's calls.
    pub instance: Option<&'a str>,
    pub t: i64,
}

#[derive(Clone, Copy)]
pub(crate) enum A {
    DescribeInstances,
    DescribeSecurityGroups,
    DescribeVpcs,
    DescribeRouteTables,
    DescribeVolumes,
    CreateTags,
    ListBuckets,
    GetBucketAcl,
    GetBucketPolicy,
    GetBucketLocation,
    PutBucketTagging,
    GetUser,
    ListRoles,
    GetRole,
    ListAttachedRolePolicies,
    ListAccessKeys,
    AttachRolePolicy,
    GetCallerIdentity,
    GetParameter,
    GetParametersByPath,
    DescribeParameters,
    PutParameter,
    UpdateInstanceInformation,
    ListInstanceAssociations,
    GetSecretValue,
    DescribeSecret,
    Decrypt,
    DescribeKey,
    LookupEvents,
    DescribeTrails,
    DescribeLogGroups,
    FilterLogEvents,
    ListFunctions,
    GetFunction,
    UpdateFunctionCode,
    DescribeDBInstances,
    DescribeStacks,
    CreateChangeSet,
    DescribeTable,
    GetAuthorizationToken,
    DescribeEventAggregates,
    GetCostAndUsage,
}

use A::*;

#[rustfmt::skip]
const ADMIN: &[(A, u32)] = &[
    (DescribeInstances, 8), (DescribeSecurityGroups, 4), (DescribeVpcs, 3), (DescribeRouteTables, 3),
    (DescribeVolumes, 2), (CreateTags, 1), (ListBuckets, 3), (GetBucketAcl, 2), (GetBucketPolicy, 2),
    (GetBucketLocation, 2), (PutBucketTagging, 1), (GetUser, 2), (ListRoles, 3), (GetRole, 3),
    (ListAttachedRolePolicies, 2), (ListAccessKeys, 2), (AttachRolePolicy, 1), (GetCallerIdentity, 4),
    (GetParameter, 4), (GetParametersByPath, 2), (DescribeParameters, 2), (PutParameter, 1),
    (GetSecretValue, 2), (DescribeSecret, 2), (Decrypt, 3), (DescribeKey, 2), (LookupEvents, 2),
    (DescribeTrails, 1), (DescribeLogGroups, 2), (FilterLogEvents, 2), (ListFunctions, 2),
    (GetFunction, 2), (DescribeDBInstances, 2), (DescribeStacks, 2), (DescribeTable, 1),
];
#[rustfmt::skip]
const READ_ONLY: &[(A, u32)] = &[
    (DescribeInstances, 8), (DescribeSecurityGroups, 4), (DescribeVpcs, 3), (DescribeRouteTables, 2),
    (DescribeVolumes, 2), (ListBuckets, 3), (GetBucketAcl, 2), (GetBucketPolicy, 2), (ListRoles, 3),
    (GetRole, 3), (ListAttachedRolePolicies, 2), (GetCallerIdentity, 3), (DescribeParameters, 2),
    (DescribeSecret, 2), (DescribeKey, 1), (LookupEvents, 3), (DescribeTrails, 2), (DescribeLogGroups, 2),
    (ListFunctions, 2), (DescribeDBInstances, 2), (DescribeStacks, 2), (DescribeTable, 1),
];
#[rustfmt::skip]
const DEPLOY: &[(A, u32)] = &[
    (GetCallerIdentity, 4), (DescribeStacks, 6), (CreateChangeSet, 2), (GetParameter, 4),
    (PutParameter, 1), (GetAuthorizationToken, 2), (UpdateFunctionCode, 2), (GetFunction, 3),
    (GetRole, 2), (DescribeInstances, 2), (GetBucketLocation, 2), (PutBucketTagging, 1), (Decrypt, 2),
    (DescribeSecurityGroups, 1), (CreateTags, 1),
];
#[rustfmt::skip]
const CONSOLE: &[(A, u32)] = &[
    (DescribeInstances, 6), (DescribeSecurityGroups, 3), (DescribeVpcs, 2), (DescribeVolumes, 2),
    (DescribeEventAggregates, 4), (GetCostAndUsage, 1), (LookupEvents, 3), (ListRoles, 2), (GetRole, 2),
    (ListBuckets, 2), (GetBucketAcl, 1), (GetBucketPolicy, 1), (ListFunctions, 2), (GetFunction, 1),
    (DescribeDBInstances, 2), (DescribeStacks, 2), (DescribeLogGroups, 2), (FilterLogEvents, 1),
    (DescribeParameters, 1), (DescribeSecret, 1), (DescribeTable, 1), (ListAccessKeys, 1),
];
#[rustfmt::skip]
const INSTANCE: &[(A, u32)] = &[
    (UpdateInstanceInformation, 6), (ListInstanceAssociations, 4), (GetParameter, 3),
    (GetSecretValue, 2), (Decrypt, 3), (GetCallerIdentity, 1), (DescribeInstances, 1),
];
#[rustfmt::skip]
const LAMBDA: &[(A, u32)] = &[
    (DescribeTable, 3), (GetSecretValue, 3), (Decrypt, 3), (GetParameter, 3), (GetCallerIdentity, 1),
    (GetBucketLocation, 1),
];

pub fn call(rng: &mut Rng, ctx: &Ctx, mix: Mix) -> Call {
    let table = match mix {
        Mix::Admin => ADMIN,
        Mix::ReadOnly => READ_ONLY,
        Mix::Deploy => DEPLOY,
        Mix::Console => CONSOLE,
        Mix::Instance => INSTANCE,
        Mix::Lambda => LAMBDA,
    };
    // Weighted pick without allocating a weights vector per call.
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut x = rng.below(total as usize) as u32;
    let mut api = table[0].0;
    for (a, w) in table {
        if x < *w {
            api = *a;
            break;
        }
        x -= w;
    }
    build(rng, ctx, api)
}

fn new(source: &'static str, name: &'static str, read_only: bool, region: &str) -> Call {
    let svc = source.split('.').next().unwrap_or(source);
    Call {
        source,
        name,
        read_only,
        req: None,
        resp: None,
        extra: None,
        resources: None,
        host: Some(format!("{svc}.{region}.amazonaws.com")),
        s3: false,
        global: false,
        api_version: None,
    }
}

/// `{"items":[{"name":N,"valueSet":{"items":[{"value":V}]}}]}`, EC2's filter layout.
fn ec2_filter(w: &mut W, key: &str, name: &str, value: &str) {
    w.obj(key)
        .arr("items")
        .open()
        .str("name", name)
        .obj("valueSet")
        .arr("items");
    w.open()
        .str("value", value)
        .end()
        .end_arr()
        .end()
        .end()
        .end_arr()
        .end();
}

fn s3_extra(rng: &mut Rng, out: i64) -> String {
    let mut w = W::with_capacity(220);
    w.open()
        .str("SignatureVersion", "SigV4")
        .str("CipherSuite", "ECDHE-RSA-AES128-GCM-SHA256");
    w.num("bytesTransferredIn", 0)
        .str("AuthenticationMethod", "AuthHeader");
    w.str("x-amz-id-2", &ids::amz_id2(rng))
        .num("bytesTransferredOut", out)
        .end();
    w.done()
}

fn build(rng: &mut Rng, ctx: &Ctx, api: A) -> Call {
    let mut w = W::with_capacity(400);
    w.open();
    let mut c = match api {
        DescribeInstances
        | DescribeSecurityGroups
        | DescribeVpcs
        | DescribeRouteTables
        | DescribeVolumes
        | CreateTags
        | ListBuckets
        | GetBucketAcl
        | GetBucketPolicy
        | GetBucketLocation
        | PutBucketTagging
        | GetUser
        | ListRoles
        | GetRole
        | ListAttachedRolePolicies
        | ListAccessKeys
        | AttachRolePolicy
        | GetCallerIdentity => infra::build(rng, ctx, api, &mut w),
        _ => apps::build(rng, ctx, api, &mut w),
    };
    w.end();
    // `{}` means no parameters: CloudTrail writes null then.
    let req = w.done();
    c.req = (req != "{}").then_some(req);
    c
}
