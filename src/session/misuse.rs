//! Misuse signals: is the session that made a call still used by the person who made it?
//!
//! Temporary credentials are bearer tokens (§9 of CLOUDTRAIL.md): whoever copied them uses them
//! from elsewhere, with other tools, while they are valid. Each session remembers, as small
//! numbers and never as strings, where and with what it is normally used ([`Watch`]: its
//! creating call's address and tool, then its own calls'), and each call is judged against that
//! when it is written, as the lineage stands then (so a creating call that arrived late has
//! already said where the session began). What is judged and what is not:
//!
//! - a new address with a known tool is a person moving (home, office, VPN, IPv6): learned;
//! - a known address with a new tool is a person using another program: learned;
//! - a new address *and* a new tool is `another-user`; with the session's own address in use
//!   within [`CONCURRENT_SECS`] it is also `two-places-at-once`. What is flagged is never learned,
//!   so each later call of the other party is flagged too;
//! - instance credentials (`ec2RoleDelivery`, `inScopeOf`) do not move: any address that is not
//!   the instance's own, not private and not through a VPC endpoint, is
//!   `instance-credentials-elsewhere`;
//! - services calling on someone's behalf (`invokedBy`, a service name or `AWS Internal` as the
//!   address, `AWS Internal` as the agent) and collided sessions (two creators, each with its own
//!   address and tool) are not judged.
//!
//! Doors closed on live sessions are in [`super::doors`]; `attack-tool` is a property of the
//! agent string alone.

use super::node::{Kind, Node};
use super::resolve::Chain;
use crate::time::{write_iso, Epoch};
use std::net::{IpAddr, Ipv6Addr};

/// The other party used the session within this many seconds of its owner: two places at once.
pub const CONCURRENT_SECS: Epoch = 15 * 60;

/// One signal on one call: a stable name and one sentence of evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    pub name: &'static str,
    pub why: String,
}

/// Every signal name, in the order a call lists them (`--stats` counts them in this order).
pub const NAMES: [&str; 5] = [
    "another-user",
    "instance-credentials-elsewhere",
    "two-places-at-once",
    "used-after-revocation",
    "attack-tool",
];

/// Signals that the other side of a collision would also raise: held (with `--hold`) until a
/// second creator of the session could no longer arrive, then judged again.
pub const COLLISION_PRONE: [&str; 2] = ["another-user", "instance-credentials-elsewhere"];

/// Where and with what a session is normally used: its home. 20 bytes per session (what keeps
/// a tracked session under 512 bytes, `tests/memory.rs`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watch {
    /// Addresses ([`home_code`]), the one of the latest home call first.
    pub addrs: [u32; 2],
    /// Tool ids ([`tool_id`], 16 bits), the latest first.
    pub tools: [u16; 2],
    /// Event times ([`secs`]) of the earliest and the latest call from home (0: none yet).
    pub first: u32,
    pub seen: u32,
}

/// Seconds since 2000-01-01 in 32 bits (until 2136): what a [`Watch`] keeps of a time.
pub fn secs(t: Epoch) -> u32 {
    (t - 946_684_800).clamp(1, i64::from(u32::MAX)) as u32
}

/// The time a [`Watch`] kept.
pub fn epoch(s: u32) -> Epoch {
    i64::from(s) + 946_684_800
}

impl Watch {
    fn knows_nothing(&self) -> bool {
        self.addrs[0] == 0 && self.tools[0] == 0
    }

    /// Takes a call from home: its address and tool move to the front.
    pub fn learn(&mut self, addr: u64, tool: u32, t: Epoch) {
        let (addr, tool) = (home_code(addr), tool as u16);
        if addr != 0 && self.addrs[0] != addr {
            self.addrs[1] = self.addrs[0];
            self.addrs[0] = addr;
        }
        if tool != 0 && self.tools[0] != tool {
            self.tools[1] = self.tools[0];
            self.tools[0] = tool;
        }
        if addr != 0 {
            let s = secs(t);
            self.seen = self.seen.max(s);
            self.first = if self.first == 0 { s } else { self.first.min(s) };
        }
    }
}

/// An address as a number: IPv4 exactly (`1 << 32 | addr`), IPv6 by its /64 (the prefix one
/// client keeps while its interface identifier rotates), 0 for what is not an address (a
/// service name, `AWS Internal`).
pub fn addr_code(s: &str) -> u64 {
    if let Some(v4) = parse_v4(s.as_bytes()) {
        return 1 << 32 | u64::from(v4);
    }
    let first = s.as_bytes().first().copied().unwrap_or(b'x');
    if !(first.is_ascii_hexdigit() || first == b':') {
        return 0;
    }
    match s.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => 1 << 32 | u64::from(u32::from(a)),
        Ok(IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(v4) => 1 << 32 | u64::from(u32::from(v4)),
            // (No real /64 reads as an IPv4 code: their top 32 bits are never 0000:0001.)
            None => ((u128::from(a) >> 64) as u64).max(2),
        },
        Err(_) => 0,
    }
}

/// A dotted-quad IPv4 address, read without the standard library's general parser (this runs
/// on every call).
fn parse_v4(b: &[u8]) -> Option<u32> {
    let (mut addr, mut part, mut digits, mut dots) = (0u32, 0u32, 0, 0);
    for &c in b {
        match c {
            b'0'..=b'9' if digits < 3 => {
                part = part * 10 + u32::from(c - b'0');
                digits += 1;
            }
            b'.' if digits > 0 && dots < 3 => {
                addr = addr << 8 | part;
                (part, digits, dots) = (0, 0, dots + 1);
            }
            _ => return None,
        }
        if part > 255 {
            return None;
        }
    }
    (dots == 3 && digits > 0).then_some(addr << 8 | part)
}

/// An address as a home keeps it, in 32 bits: IPv4 exactly, an IPv6 /64 as a hash in
/// 240.0.0.0/4 (reserved, never a source address), 0 for none.
pub fn home_code(addr: u64) -> u32 {
    match addr {
        0 => 0,
        a if a >> 32 == 1 => a as u32,
        a => 0xf000_0000 | ((a ^ a >> 28 ^ a >> 56) as u32 & 0x0fff_ffff),
    }
}

/// Appends an address a home keeps: the IPv4 address, or "an IPv6 /64".
fn write_home_addr(out: &mut String, code: u32) {
    if code >= 0xf000_0000 {
        out.push_str("an IPv6 /64");
    } else {
        write_addr(out, 1 << 32 | u64::from(code));
    }
}

/// Whether an address code is a private IPv4 address (RFC 1918): a call from inside a VPC.
pub fn is_private(code: u64) -> bool {
    if code >> 32 != 1 {
        return false;
    }
    let a = code as u32;
    a >> 24 == 10 || a >> 20 == (172 << 4 | 1) || a >> 16 == (192 << 8 | 168)
}

/// Appends an address code as text: the IPv4 address, or the IPv6 /64.
pub fn write_addr(out: &mut String, code: u64) {
    use std::fmt::Write;
    if code >> 32 == 1 {
        let _ = write!(out, "{}", std::net::Ipv4Addr::from(code as u32));
    } else {
        let prefix = Ipv6Addr::from(u128::from(code) << 64);
        let _ = write!(out, "{prefix}/64");
    }
}

/// The tool in a user agent: its first product token, with the comment that follows it
/// (`aws-cli/2.15.30`, `Mozilla/5.0 (Windows NT 10.0; Win64; x64)`): what stays the same from
/// one call of a program to the next while the rest (`command/s3.ls`, `api/sts#1.2`) changes.
pub fn tool_of(agent: &str) -> &str {
    let agent = agent.strip_prefix('[').unwrap_or(agent);
    let end = memchr::memchr(b' ', agent.as_bytes()).unwrap_or(agent.len());
    let rest = &agent[end..];
    if let Some(comment) = rest.strip_prefix(" (") {
        if let Some(close) = comment.find(')') {
            return &agent[..end + 2 + close + 1];
        }
    }
    agent[..end].trim_end_matches([',', ']'])
}

/// A tool's id (0: no agent).
pub fn tool_id(agent: Option<&str>) -> u32 {
    match agent {
        // FNV-1a: a per-run id needs no keyed hash, and this runs on every call.
        Some(a) if !a.is_empty() => {
            let h = tool_of(a).bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, c| {
                (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3)
            });
            // 16 bits: a home holds two tools, and another party's tool is taken for one of
            // them once in 30,000.
            u32::from((h ^ h >> 16 ^ h >> 32 ^ h >> 48) as u16).max(1)
        }
        _ => 0,
    }
}

/// Agent strings of attack tools and penetration-testing distributions: GuardDuty's
/// `PenTest:IAMUser/KaliLinux`, `ParrotLinux` and `PentooLinux` findings look for the first
/// three; Pacu, CloudFox and Stratus Red Team say their name unless told otherwise.
const ATTACK_MARKERS: [&str; 6] = ["kali", "parrot", "pentoo", "pacu", "cloudfox", "stratus-red-team"];

/// What each of [`ATTACK_MARKERS`] stands for, for the `why`.
const ATTACK_WHAT: [&str; 6] = [
    "Kali Linux, a penetration-testing distribution (GuardDuty: PenTest:IAMUser/KaliLinux)",
    "Parrot Security, a penetration-testing distribution (GuardDuty: PenTest:IAMUser/ParrotLinux)",
    "Pentoo, a penetration-testing distribution (GuardDuty: PenTest:IAMUser/PentooLinux)",
    "Pacu, an AWS exploitation framework",
    "CloudFox, an AWS attack-path enumeration tool",
    "Stratus Red Team, an adversary-emulation tool",
];

/// The attack marker an agent carries, if any (ASCII case ignored).
pub fn attack_marker(agent: &str) -> Option<&'static str> {
    let b = agent.as_bytes();
    ATTACK_MARKERS
        .into_iter()
        .find(|m| b.windows(m.len()).any(|w| w.eq_ignore_ascii_case(m.as_bytes())))
}

/// Small per-run memory of strings that signals quote: tool names by id and the attack verdict
/// of whole agents, both direct-mapped and fixed in size, filled once per slot (so a stream that
/// alternates two colliding tools does not allocate per event).
pub struct Names {
    tools: Vec<(u32, Box<str>)>,
    agents: Vec<(u64, u8, u32)>,
}

/// Slots for tool names (24 bytes each plus the name) and for whole agents (16 bytes each):
/// about 90 KB per run, whatever the number of sessions.
const NAME_SLOTS: usize = 1024;
const AGENT_SLOTS: usize = 4096;

impl Default for Names {
    fn default() -> Self {
        Names {
            tools: vec![(0, Box::from("")); NAME_SLOTS],
            agents: vec![(0, 0, 0); AGENT_SLOTS],
        }
    }
}

impl Names {
    /// The tool id and attack verdict ([`ATTACK_MARKERS`] index + 1, or 0) of the agent hashed
    /// as `hash`: cached by the whole agent, so the common case is one lookup; the tool's name
    /// is remembered for the `why` when its slot is free.
    pub fn agent(&mut self, hash: u64, agent: &str) -> (u32, u8) {
        let slot = &mut self.agents[hash as usize % AGENT_SLOTS];
        if slot.0 == hash {
            return (slot.2, slot.1);
        }
        let verdict = attack_marker(agent)
            .and_then(|m| ATTACK_MARKERS.iter().position(|x| *x == m))
            .map_or(0, |i| i as u8 + 1);
        let tool = tool_id(Some(agent));
        *slot = (hash, verdict, tool);
        let name = &mut self.tools[tool as usize % NAME_SLOTS];
        if name.0 == 0 {
            *name = (tool, tool_of(agent).into());
        }
        (tool, verdict)
    }

    /// The tool named by `id`, if remembered.
    pub fn tool(&self, id: u32) -> Option<&str> {
        let slot = &self.tools[id as usize % NAME_SLOTS];
        (slot.0 == id && id != 0).then_some(&*slot.1)
    }
}

/// The facts of one call that signals judge (see [`super::evidence::Call`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// [`addr_code`] of the source address (0: a service, `AWS Internal`).
    pub addr: u64,
    /// [`tool_id`] of the user agent.
    pub tool: u32,
    /// A service made the call for the principal: not judged.
    pub behalf: bool,
    /// Through a VPC endpoint.
    pub endpoint: bool,
    /// The call failed (`errorCode`).
    pub failed: bool,
    /// [`ATTACK_MARKERS`] index + 1 of the agent (0: none).
    pub attack: u8,
}

impl Facts {
    pub const fn bits(&self) -> u64 {
        self.behalf as u64
            | (self.endpoint as u64) << 1
            | (self.failed as u64) << 2
            | (self.attack as u64) << 8
    }

    pub fn with_bits(mut self, b: u64) -> Facts {
        self.behalf = b & 1 != 0;
        self.endpoint = b & 2 != 0;
        self.failed = b & 4 != 0;
        self.attack = (b >> 8) as u8;
        self
    }
}

/// `attack-tool` for a call whose agent carries an attack marker.
pub fn attack_signal(f: &Facts, names: &Names) -> Signal {
    let i = (f.attack as usize - 1).min(ATTACK_MARKERS.len() - 1);
    let mut why = format!(
        "user agent contains \"{}\", the mark of {}; its tool: ",
        ATTACK_MARKERS[i], ATTACK_WHAT[i]
    );
    push_tool(&mut why, f.tool, names);
    Signal {
        name: "attack-tool",
        why,
    }
}

/// Whether a session was delivered to an EC2 instance: the call says so, or its creator is one.
fn is_instance_session(n: &Node, delivered: bool) -> bool {
    delivered
        || n.creators.borrow().iter().any(|e| {
            e.parent.is_instance()
                || (e.parent.kind == Kind::AwsService && e.parent.name() == Some("ec2.amazonaws.com"))
        })
}

/// Judges one call of session `n` against its home, learning from it; appends what fires.
#[allow(clippy::too_many_arguments)]
pub fn judge_use(
    n: &Node,
    chain: &Chain,
    f: &Facts,
    delivered: bool,
    t: Epoch,
    names: &Names,
    out: &mut Vec<Signal>,
) {
    if n.origin || f.addr == 0 || f.behalf || chain.disagreed || t > n.expires.get() {
        return;
    }
    if n.creators.borrow().len() > 1 {
        // Two creators: each side of the collision has its own address and tool, and knowing
        // that is the collision's business, not a theft.
        return;
    }
    let mut w = n.watch.get();
    let (code, tool) = (home_code(f.addr), f.tool as u16);
    if code == w.addrs[0] && tool != 0 && tool == w.tools[0] {
        // The common case: from home, as the last call was.
        let s = secs(t);
        if s > w.seen || s < w.first {
            w.learn(f.addr, f.tool, t);
            n.watch.set(w);
        }
        return;
    }
    let home_addr = w.addrs.contains(&code);
    let home_tool = tool != 0 && w.tools.contains(&tool);
    let instance = is_instance_session(n, delivered);
    let before = w;
    if w.knows_nothing() || (instance && w.addrs[0] == 0) {
        w.learn(f.addr, f.tool, t);
    } else if !home_addr && !home_tool && w.first != 0 && secs(t) < w.first {
        // Earlier than anything seen from home, which came first only because delivery is out
        // of order: this is where the session began, and what was taken for home is not.
        w = Watch::default();
        w.learn(f.addr, f.tool, t);
    } else if f.endpoint || (instance && is_private(f.addr)) {
        // From inside a VPC: the owner's own network, nothing to compare.
    } else if instance {
        if home_addr {
            w.learn(f.addr, f.tool, t);
        } else {
            out.push(Signal {
                name: "instance-credentials-elsewhere",
                why: why_instance(n, &before, f, t, names),
            });
        }
    } else if home_addr || home_tool {
        w.learn(f.addr, f.tool, t);
    } else if f.tool == 0 {
        // No agent: nothing to say the tool changed (a new address alone is a move).
    } else {
        out.push(Signal {
            name: "another-user",
            why: why_other(n, &before, f, t, names),
        });
    }
    if !out.is_empty() && before.seen != 0 && (t - epoch(before.seen)).abs() <= CONCURRENT_SECS {
        out.push(Signal {
            name: "two-places-at-once",
            why: why_concurrent(&before, f, t),
        });
    }
    if w != before {
        n.watch.set(w);
    }
}

/// Appends a time as `2024-05-01T09:07:00Z`.
pub fn push_time(out: &mut String, t: Epoch) {
    let mut b = Vec::with_capacity(20);
    write_iso(&mut b, t);
    out.push_str(std::str::from_utf8(&b).unwrap_or(""));
}

fn push_tool(out: &mut String, id: u32, names: &Names) {
    match names.tool(id) {
        Some(t) => out.push_str(t),
        None => out.push_str("an agent not remembered"),
    }
}

fn push_home(out: &mut String, w: &Watch, names: &Names, tools: bool) {
    for (i, a) in w.addrs.iter().filter(|a| **a != 0).enumerate() {
        out.push_str(if i == 0 { "" } else { " and " });
        write_home_addr(out, *a);
    }
    if w.addrs[0] == 0 {
        out.push_str("no address yet");
    }
    if tools {
        out.push_str(" with ");
        for (i, t) in w.tools.iter().filter(|t| **t != 0).enumerate() {
            out.push_str(if i == 0 { "" } else { " and " });
            push_tool(out, u32::from(*t), names);
        }
        if w.tools[0] == 0 {
            out.push_str("no agent");
        }
    }
}

fn push_call(out: &mut String, f: &Facts, t: Epoch, names: &Names) {
    out.push_str("used at ");
    push_time(out, t);
    out.push_str(" from ");
    write_addr(out, f.addr);
    out.push_str(" with ");
    push_tool(out, f.tool, names);
}

fn why_other(n: &Node, home: &Watch, f: &Facts, t: Epoch, names: &Names) -> String {
    let mut s = String::from("session created ");
    push_time(&mut s, n.created);
    s.push_str(", ");
    push_call(&mut s, f, t, names);
    s.push_str("; its creating call and earlier calls came from ");
    push_home(&mut s, home, names, true);
    s.push_str(" (neither address nor tool matches)");
    s
}

fn why_instance(n: &Node, home: &Watch, f: &Facts, t: Epoch, names: &Names) -> String {
    let mut s = String::from("credentials EC2 delivered to ");
    s.push_str(n.name().unwrap_or("an instance"));
    s.push_str(", ");
    push_call(&mut s, f, t, names);
    s.push_str(", not through a VPC endpoint; the instance's own calls came from ");
    push_home(&mut s, home, names, false);
    s
}

fn why_concurrent(home: &Watch, f: &Facts, t: Epoch) -> String {
    let mut s = String::new();
    write_addr(&mut s, f.addr);
    s.push_str(" used the session at ");
    push_time(&mut s, t);
    s.push_str(" while ");
    write_home_addr(&mut s, home.addrs[0]);
    s.push_str(" used it at ");
    push_time(&mut s, epoch(home.seen));
    use std::fmt::Write;
    let _ = write!(s, ", {} s apart", (t - epoch(home.seen)).abs());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_coded_and_written_back() {
        let mut s = String::new();
        write_addr(&mut s, addr_code("198.51.100.66"));
        assert_eq!(s, "198.51.100.66");
        s.clear();
        write_addr(&mut s, addr_code("2001:db8:1:2::17"));
        assert_eq!(s, "2001:db8:1:2::/64");
        assert_eq!(addr_code("2001:db8:1:2::17"), addr_code("2001:db8:1:2:aaaa::1"));
        assert_eq!(addr_code("::ffff:198.51.100.66"), addr_code("198.51.100.66"));
        assert_eq!(addr_code("AWS Internal"), 0);
        assert_eq!(addr_code("ec2.amazonaws.com"), 0);
        assert_eq!(addr_code(""), 0);
        assert_eq!(addr_code("1.2.3.4"), 1 << 32 | 0x0102_0304);
        for bad in [
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1..2.3",
            "1.2.3.",
            "1234.1.1.1",
        ] {
            assert_eq!(parse_v4(bad.as_bytes()), None, "{bad}");
        }
        assert!(is_private(addr_code("10.0.1.5")));
        assert!(is_private(addr_code("172.31.0.9")));
        assert!(!is_private(addr_code("172.32.0.9")));
        assert!(is_private(addr_code("192.168.1.1")));
        assert!(!is_private(addr_code("54.210.33.17")));
    }

    #[test]
    fn tools_ignore_what_changes_per_call() {
        assert_eq!(
            tool_of("aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64 prompt/off command/s3.ls"),
            "aws-cli/2.15.30"
        );
        assert_eq!(
            tool_of("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"
        );
        assert_eq!(tool_of("[S3Console/0.4, aws-internal/3]"), "S3Console/0.4");
        assert_eq!(tool_of("python-requests/2.31.0"), "python-requests/2.31.0");
        assert_eq!(tool_id(Some("")), 0);
        assert_eq!(attack_marker("Boto3/1.9 Linux/4.19.0-KALI5-amd64"), Some("kali"));
        assert_eq!(attack_marker("aws-cli/2.15.30"), None);
    }
}
