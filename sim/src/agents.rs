//! Client fingerprints: public IP addresses and userAgent strings, unique per person and tool.

use crate::rng::Rng;
use std::collections::HashSet;

/// How a tool names the role sessions it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `botocore-session-1714521600` (aws-cli / boto3 with a `role_arn` profile).
    Botocore,
    /// `aws-go-sdk-1714521600123456789` (Go SDK, Terraform).
    GoSdk,
    /// The person's own name (profiles that set `role_session_name`).
    Named,
}

#[derive(Clone, Debug)]
pub struct Tool {
    pub ua: String,
    pub style: Style,
    pub tls13: bool,
}

/// Hands out IPs and user agents, never the same one twice (people must be distinguishable,
/// except where a collision scenario makes them identical on purpose).
pub struct Fingerprints {
    ips: HashSet<String>,
    uas: HashSet<String>,
}

// First octets of ordinary ISP / cloud address space (no private, documentation or multicast ranges).
const HOME_OCTETS: [u8; 18] = [
    24, 31, 46, 62, 73, 81, 84, 86, 90, 98, 107, 109, 151, 176, 185, 188, 193, 217,
];
const AWS_OCTETS: [u8; 6] = [3, 18, 34, 35, 52, 54];
const GITHUB_OCTETS: [u8; 3] = [4, 20, 40];

impl Fingerprints {
    pub fn new() -> Self {
        Fingerprints {
            ips: HashSet::new(),
            uas: HashSet::new(),
        }
    }

    fn ip_from(&mut self, rng: &mut Rng, octets: &[u8]) -> String {
        loop {
            let ip = format!(
                "{}.{}.{}.{}",
                rng.pick(octets),
                rng.range(0, 255),
                rng.range(0, 255),
                rng.range(1, 254)
            );
            if self.ips.insert(ip.clone()) {
                return ip;
            }
        }
    }

    pub fn home_ip(&mut self, rng: &mut Rng) -> String {
        self.ip_from(rng, &HOME_OCTETS)
    }

    pub fn aws_ip(&mut self, rng: &mut Rng) -> String {
        self.ip_from(rng, &AWS_OCTETS)
    }

    /// GitHub-hosted runners get a fresh address per job.
    pub fn runner_ip(&mut self, rng: &mut Rng) -> String {
        self.ip_from(rng, &GITHUB_OCTETS)
    }

    fn unique(&mut self, rng: &mut Rng, make: impl Fn(&mut Rng) -> String) -> String {
        loop {
            let ua = make(rng);
            if self.uas.insert(ua.clone()) {
                return ua;
            }
        }
    }

    /// A command-line or SDK tool; `saml` picks the federation helpers SAML users run.
    pub fn tool(&mut self, rng: &mut Rng, saml: bool) -> Tool {
        let kind = if saml {
            *rng.pick(&[0usize, 4, 4])
        } else {
            rng.weighted(&[5, 3, 2, 1])
        };
        let ua = self.unique(rng, |r| user_agent(r, kind));
        let style = match kind {
            // 30% of people set `role_session_name` to their own name in their CLI profile.
            0 | 1 if rng.chance(0.3) => Style::Named,
            0 | 1 => Style::Botocore,
            4 => Style::Named,
            _ => Style::GoSdk,
        };
        Tool {
            ua,
            style,
            tls13: kind == 0 || kind == 3,
        }
    }

    pub fn terraform(&mut self, rng: &mut Rng) -> String {
        self.unique(rng, |r| user_agent(r, 2))
    }

    pub fn browser(&mut self, rng: &mut Rng) -> String {
        self.unique(rng, browser)
    }

    pub fn instance_agent(&mut self, rng: &mut Rng) -> String {
        self.unique(rng, |r| {
            format!(
                "aws-sdk-go/1.44.{} (go1.{}.{}; linux; amd64) amazon-ssm-agent/3.3.{}.0",
                r.range(100, 330),
                r.range(20, 22),
                r.range(1, 12),
                r.range(40, 1500)
            )
        })
    }

    pub fn lambda_runtime(&mut self, rng: &mut Rng) -> String {
        self.unique(rng, |r| {
            format!(
                "Boto3/1.34.{b} md/Botocore#1.34.{b} ua/2.0 os/linux#5.10.{k}-{p}.{q}.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.{py} md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.{b}",
                b = r.range(20, 140),
                k = r.range(200, 230),
                p = r.range(200, 230),
                q = r.range(800, 899),
                py = r.range(0, 4)
            )
        })
    }
}

fn user_agent(r: &mut Rng, kind: usize) -> String {
    let os = [
        ("macos#23.4.0", "arm64"),
        ("linux#6.5.0-35-generic", "x86_64"),
        ("windows#10", "x86_64"),
    ];
    let (os, arch) = *r.pick(&os);
    match kind {
        0 => format!(
            "aws-cli/2.{}.{} md/awscrt#0.19.{} ua/2.0 os/{os} md/arch#{arch} lang/python#3.11.{} md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off",
            r.range(13, 17),
            r.range(0, 60),
            r.range(10, 20),
            r.range(4, 9)
        ),
        1 => format!(
            "Boto3/1.34.{b} md/Botocore#1.34.{b} ua/2.0 os/{os} md/arch#{arch} lang/python#3.{py}.{pp} md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.{b}",
            b = r.range(20, 140),
            py = r.range(9, 12),
            pp = r.range(0, 14)
        ),
        2 => format!(
            "APN/1.0 HashiCorp/1.0 Terraform/1.{}.{} (+https://www.terraform.io) terraform-provider-aws/5.{}.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.{} os/{os} lang/go#1.22.{} md/GOOS#{} md/GOARCH#{}",
            r.range(6, 8),
            r.range(0, 5),
            r.range(30, 50),
            r.range(0, 3),
            r.range(0, 4),
            os.split('#').next().unwrap_or("linux"),
            if arch == "arm64" { "arm64" } else { "amd64" }
        ),
        3 => format!(
            "aws-sdk-go-v2/1.{}.{} os/{os} lang/go#1.{}.{} md/GOOS#linux md/GOARCH#amd64 api/sts#1.{}.{}",
            r.range(24, 27),
            r.range(0, 9),
            r.range(21, 22),
            r.range(0, 9),
            r.range(26, 28),
            r.range(0, 9)
        ),
        _ => format!(
            "aws-sdk-go/1.44.{} (go1.{}.{}; {}; {}) saml2aws/2.36.{}",
            r.range(100, 330),
            r.range(20, 22),
            r.range(1, 12),
            if arch == "arm64" { "darwin" } else { "linux" },
            if arch == "arm64" { "arm64" } else { "amd64" },
            r.range(0, 16)
        ),
    }
}

fn browser(r: &mut Rng) -> String {
    match r.below(3) {
        0 => format!(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.{}.{} Safari/537.36",
            r.range(6000, 6400),
            r.range(1, 210)
        ),
        1 => format!(
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0.{}",
            r.range(0, 3),
            v = r.range(115, 126)
        ),
        _ => format!(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.{}.{} Safari/537.36 Edg/124.0.{}.{}",
            r.range(6000, 6400),
            r.range(1, 210),
            r.range(2400, 2500),
            r.range(1, 90)
        ),
    }
}
