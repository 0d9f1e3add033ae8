//! Compute, storage and identity calls: EC2, S3, IAM, STS.

use super::A::{self, *};
use super::{ec2_filter, new, s3_extra, Call, Ctx};
use crate::event::resources;
use crate::ids;
use crate::json::W;
use crate::rng::Rng;

/// Fills `w` (an open object) with the request parameters of `api` and returns the call.
pub(super) fn build(rng: &mut Rng, ctx: &Ctx, api: A, w: &mut W) -> Call {
    let a = ctx.acct;
    let (acct, region) = (a.id.as_str(), a.region);
    match api {
        DescribeInstances => {
            let mut c = new("ec2.amazonaws.com", "DescribeInstances", true, region);
            match a.res.instances.first() {
                Some(i) if rng.chance(0.5) => {
                    w.obj("instancesSet")
                        .arr("items")
                        .open()
                        .str("instanceId", i)
                        .end()
                        .end_arr()
                        .end();
                    w.obj("filterSet").end();
                }
                _ => {
                    w.obj("instancesSet").end();
                    ec2_filter(w, "filterSet", "instance-state-name", "running");
                }
            }
            if rng.chance(0.5) {
                c.host = None;
            }
            c
        }
        DescribeSecurityGroups => {
            w.obj("securityGroupSet").end().obj("securityGroupIdSet").end();
            ec2_filter(w, "filterSet", "vpc-id", rng.pick(&a.res.vpcs).as_str());
            new("ec2.amazonaws.com", "DescribeSecurityGroups", true, region)
        }
        DescribeVpcs => {
            w.obj("vpcSet").end().obj("filterSet").end();
            new("ec2.amazonaws.com", "DescribeVpcs", true, region)
        }
        DescribeRouteTables => {
            w.obj("routeTableIdSet").end();
            ec2_filter(w, "filterSet", "vpc-id", rng.pick(&a.res.vpcs).as_str());
            new("ec2.amazonaws.com", "DescribeRouteTables", true, region)
        }
        DescribeVolumes => {
            w.obj("volumeSet")
                .end()
                .obj("filterSet")
                .end()
                .num("maxResults", 500);
            new("ec2.amazonaws.com", "DescribeVolumes", true, region)
        }
        CreateTags => {
            let target = a
                .res
                .instances
                .first()
                .cloned()
                .unwrap_or_else(|| rng.pick(&a.res.vpcs).clone());
            w.obj("resourcesSet")
                .arr("items")
                .open()
                .str("resourceId", &target)
                .end()
                .end_arr()
                .end();
            w.obj("tagSet").arr("items").open().str("key", "Team");
            // Non-ASCII on purpose: real tag values carry it, and readers must survive it.
            w.str("value", "Plattform-Zürich").end().end_arr().end();
            let mut c = new("ec2.amazonaws.com", "CreateTags", false, region);
            c.resp = Some(format!(
                "{{\"requestId\":\"{}\",\"_return\":true}}",
                ids::uuid(rng)
            ));
            c
        }
        ListBuckets => {
            w.str("Host", "s3.amazonaws.com");
            let mut c = new("s3.amazonaws.com", "ListBuckets", true, region);
            c.host = Some("s3.amazonaws.com".into());
            let out = rng.range(800, 9000);
            c.extra = Some(s3_extra(rng, out));
            c.s3 = true;
            c.global = true;
            c
        }
        GetBucketAcl | GetBucketPolicy | GetBucketLocation | PutBucketTagging => {
            let b = rng.pick(&a.res.buckets).as_str();
            let host = format!("{b}.s3.{region}.amazonaws.com");
            let (name, sub, ro) = match api {
                GetBucketAcl => ("GetBucketAcl", "acl", true),
                GetBucketPolicy => ("GetBucketPolicy", "policy", true),
                GetBucketLocation => ("GetBucketLocation", "location", true),
                _ => ("PutBucketTagging", "tagging", false),
            };
            w.str("bucketName", b).str("Host", &host).str(sub, "");
            if !ro {
                w.obj("Tagging")
                    .str("xmlns", "http://s3.amazonaws.com/doc/2006-03-01/");
                w.obj("TagSet")
                    .obj("Tag")
                    .str("Key", "cost-center")
                    .str("Value", "Plattform-Zürich");
                w.end().end().end();
            }
            let mut c = new("s3.amazonaws.com", name, ro, region);
            c.host = Some(host);
            let out = if ro { rng.range(200, 900) } else { 0 };
            c.extra = Some(s3_extra(rng, out));
            c.resources = Some(resources(&[(
                acct,
                "AWS::S3::Bucket",
                &format!("arn:aws:s3:::{b}"),
            )]));
            c.s3 = true;
            c
        }
        GetUser | ListRoles | GetRole | ListAttachedRolePolicies | ListAccessKeys | AttachRolePolicy => {
            let role = *rng.pick(&["ops", "deploy", "ReadOnly", "Admin"]);
            let (name, ro) = match api {
                GetUser => ("GetUser", true),
                ListRoles => {
                    w.num("maxItems", 1000);
                    ("ListRoles", true)
                }
                GetRole => {
                    w.str("roleName", role);
                    ("GetRole", true)
                }
                ListAttachedRolePolicies => {
                    w.str("roleName", role);
                    ("ListAttachedRolePolicies", true)
                }
                ListAccessKeys => ("ListAccessKeys", true),
                _ => {
                    w.str("roleName", role)
                        .str("policyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess");
                    ("AttachRolePolicy", false)
                }
            };
            let mut c = new("iam.amazonaws.com", name, ro, region);
            c.host = Some("iam.amazonaws.com".into());
            c.global = true;
            c
        }
        GetCallerIdentity => {
            let mut c = new("sts.amazonaws.com", "GetCallerIdentity", true, region);
            if rng.chance(0.5) {
                c.host = Some("sts.amazonaws.com".into());
                c.global = true;
            }
            c
        }
        _ => unreachable!("not a EC2/S3/IAM/STS call"),
    }
}
