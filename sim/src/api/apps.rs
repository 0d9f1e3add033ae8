//! Application-level calls: SSM, Secrets Manager, KMS, CloudTrail, Logs, Lambda, RDS, CloudFormation, ...

use super::A::{self, *};
use super::{new, Call, Ctx};
use crate::event::resources;
use crate::ids;
use crate::json::W;
use crate::rng::Rng;

/// Fills `w` (an open object) with the request parameters of `api` and returns the call.
pub(super) fn build(rng: &mut Rng, ctx: &Ctx, api: A, w: &mut W) -> Call {
    let a = ctx.acct;
    let (acct, region) = (a.id.as_str(), a.region);
    match api {
        GetParameter | GetParametersByPath | DescribeParameters | PutParameter => {
            let p = rng.pick(&a.res.params).as_str();
            let arn = format!("arn:aws:ssm:{region}:{acct}:parameter{p}");
            let mut c = match api {
                GetParameter => {
                    w.str("name", p).bool("withDecryption", true);
                    let mut c = new("ssm.amazonaws.com", "GetParameter", true, region);
                    c.resources = Some(resources(&[(acct, "", &arn)]));
                    c
                }
                GetParametersByPath => {
                    let prefix = p.rsplit_once('/').map_or("/", |(h, _)| h);
                    w.str("path", prefix)
                        .bool("recursive", true)
                        .bool("withDecryption", true);
                    new("ssm.amazonaws.com", "GetParametersByPath", true, region)
                }
                DescribeParameters => {
                    w.arr("parameterFilters")
                        .open()
                        .str("key", "Name")
                        .str("option", "Equals");
                    w.arr("values")
                        .item(p)
                        .end_arr()
                        .end()
                        .end_arr()
                        .bool("shared", false);
                    new("ssm.amazonaws.com", "DescribeParameters", true, region)
                }
                _ => {
                    w.str("name", p).str("value", "HIDDEN_DUE_TO_SECURITY_REASONS");
                    w.str("type", "SecureString")
                        .bool("overwrite", true)
                        .str("tier", "Standard");
                    let mut c = new("ssm.amazonaws.com", "PutParameter", false, region);
                    c.resp = Some(format!(
                        "{{\"version\":{},\"tier\":\"Standard\"}}",
                        rng.range(2, 40)
                    ));
                    c.resources = Some(resources(&[(acct, "", &arn)]));
                    c
                }
            };
            if rng.chance(0.2) {
                c.host = None;
            }
            c
        }
        UpdateInstanceInformation | ListInstanceAssociations => {
            let i = ctx.instance.unwrap_or("i-0000000000000000");
            if matches!(api, ListInstanceAssociations) {
                w.str("instanceId", i).num("maxResults", 20);
                let mut c = new("ssm.amazonaws.com", "ListInstanceAssociations", true, region);
                let arn = format!("arn:aws:ec2:{region}:{acct}:instance/{i}");
                c.resources = Some(resources(&[(acct, "", &arn)]));
                c
            } else {
                let ip = format!(
                    "10.0.{}.{}",
                    i.len() % 7 + 1,
                    i.as_bytes()[i.len() - 1] % 200 + 10
                );
                w.str("instanceId", i)
                    .str("agentVersion", "3.3.40.0")
                    .str("agentStatus", "Active");
                w.str("platformType", "Linux").str("platformName", "Amazon Linux");
                w.str("platformVersion", "2023").str("iPAddress", &ip);
                w.str(
                    "computerName",
                    &format!("ip-{}.ec2.internal", ip.replace('.', "-")),
                );
                w.str("agentName", "amazon-ssm-agent")
                    .str("availabilityZone", &format!("{region}a"));
                new("ssm.amazonaws.com", "UpdateInstanceInformation", false, region)
            }
        }
        GetSecretValue | DescribeSecret => {
            w.str("secretId", rng.pick(&a.res.secrets).as_str());
            let name = if matches!(api, GetSecretValue) {
                "GetSecretValue"
            } else {
                "DescribeSecret"
            };
            let mut c = new("secretsmanager.amazonaws.com", name, true, region);
            c.host = Some(format!("secretsmanager.{region}.amazonaws.com"));
            c
        }
        Decrypt | DescribeKey => {
            let key = format!(
                "arn:aws:kms:{region}:{acct}:key/{}",
                rng.pick(&a.res.keys).as_str()
            );
            let mut c = if matches!(api, Decrypt) {
                w.str("encryptionAlgorithm", "SYMMETRIC_DEFAULT")
                    .obj("encryptionContext");
                w.str("SecretARN", rng.pick(&a.res.secrets).as_str())
                    .str("SecretVersionId", &ids::uuid(rng));
                w.end();
                let mut c = new("kms.amazonaws.com", "Decrypt", true, region);
                c.host = None;
                c
            } else {
                w.str("keyId", &key);
                new("kms.amazonaws.com", "DescribeKey", true, region)
            };
            c.resources = Some(resources(&[(acct, "AWS::KMS::Key", &key)]));
            c
        }
        LookupEvents => {
            let name = *rng.pick(&["ConsoleLogin", "AssumeRole", "CreateUser"]);
            w.num("maxResults", 50)
                .arr("lookupAttributes")
                .open()
                .str("attributeKey", "EventName");
            w.str("attributeValue", name).end();
            w.end_arr();
            new("cloudtrail.amazonaws.com", "LookupEvents", true, region)
        }
        DescribeTrails => {
            w.bool("includeShadowTrails", false);
            new("cloudtrail.amazonaws.com", "DescribeTrails", true, region)
        }
        DescribeLogGroups | FilterLogEvents => {
            if matches!(api, DescribeLogGroups) {
                w.num("limit", 50).str("logGroupNamePrefix", "/aws/lambda/");
                new("logs.amazonaws.com", "DescribeLogGroups", true, region)
            } else {
                let fname = a.res.functions.first().map_or("app", |f| f.as_str());
                w.str("logGroupName", &format!("/aws/lambda/{fname}"));
                w.num("startTime", (ctx.t - 3600) * 1000)
                    .num("endTime", ctx.t * 1000);
                w.str("filterPattern", "ERROR").bool("interleaved", true);
                new("logs.amazonaws.com", "FilterLogEvents", true, region)
            }
        }
        ListFunctions | GetFunction | UpdateFunctionCode => {
            let f = a.res.functions.first().map_or("order-processor", |f| f.as_str());
            let (name, ro) = match api {
                ListFunctions => ("ListFunctions20150331", true),
                GetFunction => {
                    w.str("functionName", f);
                    ("GetFunction20150331v2", true)
                }
                _ => {
                    w.str("functionName", f)
                        .bool("publish", true)
                        .str("s3Bucket", &a.res.buckets[0]);
                    w.str("s3Key", &format!("builds/{f}/{}.zip", ids::hex(rng, 12)));
                    ("UpdateFunctionCode20150331v2", false)
                }
            };
            let mut c = new("lambda.amazonaws.com", name, ro, region);
            c.api_version = Some("2015-03-31");
            c
        }
        DescribeDBInstances => {
            w.str("dBInstanceIdentifier", rng.pick(&a.res.dbs).as_str());
            new("rds.amazonaws.com", "DescribeDBInstances", true, region)
        }
        DescribeStacks | CreateChangeSet => {
            let s = rng.pick(&a.res.stacks).as_str();
            w.str("stackName", s);
            if matches!(api, DescribeStacks) {
                new("cloudformation.amazonaws.com", "DescribeStacks", true, region)
            } else {
                let cs = format!("deploy-{}", ids::hex(rng, 8));
                w.str(
                    "templateURL",
                    &format!("https://{}.s3.amazonaws.com/templates/{s}.yaml", a.res.buckets[0]),
                );
                w.arr("capabilities").item("CAPABILITY_NAMED_IAM").end_arr();
                w.str("changeSetName", &cs).str("changeSetType", "UPDATE");
                let mut c = new("cloudformation.amazonaws.com", "CreateChangeSet", false, region);
                let stack = format!(
                    "arn:aws:cloudformation:{region}:{acct}:stack/{s}/{}",
                    ids::uuid(rng)
                );
                let id = format!(
                    "arn:aws:cloudformation:{region}:{acct}:changeSet/{cs}/{}",
                    ids::uuid(rng)
                );
                c.resp = Some(format!("{{\"id\":\"{id}\",\"stackId\":\"{stack}\"}}"));
                c
            }
        }
        DescribeTable => {
            let t = rng.pick(&a.res.tables).as_str();
            w.str("tableName", t);
            let mut c = new("dynamodb.amazonaws.com", "DescribeTable", true, region);
            let arn = format!("arn:aws:dynamodb:{region}:{acct}:table/{t}");
            c.resources = Some(resources(&[(acct, "AWS::DynamoDB::Table", &arn)]));
            c
        }
        GetAuthorizationToken => {
            w.arr("registryIds").item(acct).end_arr();
            new("ecr.amazonaws.com", "GetAuthorizationToken", true, region)
        }
        DescribeEventAggregates => {
            w.obj("filter")
                .arr("eventStatusCodes")
                .item("open")
                .item("upcoming")
                .end_arr()
                .end();
            w.str("aggregateField", "eventTypeCategory");
            let mut c = new(
                "health.amazonaws.com",
                "DescribeEventAggregates",
                true,
                "us-east-1",
            );
            c.host = None;
            c.global = true;
            c
        }
        GetCostAndUsage => {
            let (y, m, ..) = ids::civil(ctx.t);
            w.obj("timePeriod")
                .str("start", &format!("{y}-{m:02}-01"))
                .str("end", &ids::iso(ctx.t)[..10]);
            w.end()
                .str("granularity", "DAILY")
                .arr("metrics")
                .item("UnblendedCost")
                .end_arr();
            let mut c = new("ce.amazonaws.com", "GetCostAndUsage", true, "us-east-1");
            c.global = true;
            c
        }
        _ => unreachable!("not a application call"),
    }
}
