//! `ctail-sim`: writes a simulated CloudTrail stream (NDJSON) to stdout and optionally its truth.

use ctail_sim::{arrivals, simulate, write_trail_files, Config, Delivery};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

const USAGE: &str = "usage: ctail-sim [--seed N] [--events N] [--collisions N] [--late SECS] [--dup RATE]
                 [--truth FILE] [--accounts N] [--people N] [--instances N] [--start UNIX_SECS]
                 [--traps N] [--trap NAME=N]... [--delivery-seed N] [--span SECS]
                 [--trail-dir DIR] [--misuse N]

Writes one CloudTrail event per line to stdout, in eventTime order, or in a realistic
arrival order when --late (max delay, e.g. 900) or --dup (duplicate rate, e.g. 0.01) is given.
--truth FILE writes one ground-truth JSON object per line, in the same order as the stream.
--delivery-seed N fixes the arrival order's own seed (default: derived from --seed), to
reproduce a test's stream.
--traps N injects N instances of every hard case (and names a fifth of role sessions with
shared names); --trap NAME=N sets one, after --traps. Names: saml, web, federation, switch,
session-token, spoofed-collision, recycled, root, owner-only, spoofed-source-identity,
juggling, mfa-across, console-shared, shared-names (N percent).
--span SECS spreads the events over SECS seconds (default: 2,000 an hour).
--trail-dir DIR writes S3 trail files (uncompressed .json, one per account, region and five
minutes of arrival, named by delivery time under DIR/AWSLogs/...) instead of the stream.
--misuse N injects N stolen role sessions, N stolen instance credentials and N people who
move to a new address with the same tool (truth: `misuse`, kinds stolen-role,
stolen-instance, moved).";

struct Args {
    cfg: Config,
    late: Option<i64>,
    dup: Option<f64>,
    truth: Option<String>,
    delivery_seed: Option<u64>,
    trail_dir: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        cfg: Config::default(),
        late: None,
        dup: None,
        truth: None,
        delivery_seed: None,
        trail_dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |_| format!("{flag}: bad value {val:?}");
        match flag.as_str() {
            "--seed" => a.cfg.seed = val.parse().map_err(bad)?,
            "--events" => a.cfg.events = val.parse().map_err(bad)?,
            "--collisions" => a.cfg.collisions = val.parse().map_err(bad)?,
            "--accounts" => a.cfg.accounts = val.parse().map_err(bad)?,
            "--people" => a.cfg.people = val.parse().map_err(bad)?,
            "--instances" => a.cfg.instances = val.parse().map_err(bad)?,
            "--start" => a.cfg.start = val.parse().map_err(bad)?,
            "--span" => a.cfg.span = Some(val.parse().map_err(bad)?),
            "--trail-dir" => a.trail_dir = Some(val),
            "--late" => a.late = Some(val.parse().map_err(bad)?),
            "--dup" => {
                a.dup = Some(
                    val.parse::<f64>()
                        .map_err(|_| format!("{flag}: bad value {val:?}"))?,
                )
            }
            "--truth" => a.truth = Some(val),
            "--delivery-seed" => a.delivery_seed = Some(val.parse().map_err(bad)?),
            "--misuse" => a.cfg.misuse = ctail_sim::Misuse::every(val.parse().map_err(bad)?),
            "--traps" => a.cfg.traps = ctail_sim::Traps::every(val.parse().map_err(bad)?),
            "--trap" => {
                let (name, n) = val
                    .split_once('=')
                    .ok_or_else(|| format!("{flag}: want NAME=N, got {val:?}"))?;
                let n = n.parse().map_err(|_| format!("{flag}: bad count in {val:?}"))?;
                if !a.cfg.traps.set(name, n) {
                    return Err(format!("{flag}: unknown trap {name:?}"));
                }
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(a)
}

fn run(a: Args) -> io::Result<()> {
    let events = simulate(&a.cfg);
    let d = Delivery {
        // A different stream from the simulation's, still fixed by --seed.
        seed: a.delivery_seed.unwrap_or(a.cfg.seed ^ 0x5eed_de11_7e2e_d000),
        max_delay_secs: a.late.unwrap_or(0),
        duplicate_rate: a.dup.unwrap_or(0.0),
    };
    let timed: Vec<(i64, usize)> = arrivals(&events, &d);
    if let Some(dir) = &a.trail_dir {
        let stream: Vec<(i64, &ctail_sim::SimEvent)> =
            timed.iter().map(|&(at, i)| (at, &events[i])).collect();
        let files = write_trail_files(&stream, std::path::Path::new(dir))?;
        eprintln!("ctail-sim: {} trail files under {dir}", files.len());
        std::mem::forget(events);
        return Ok(());
    }
    let order: Vec<usize> = if a.late.is_some() || a.dup.is_some() {
        timed.into_iter().map(|(_, i)| i).collect()
    } else {
        (0..events.len()).collect()
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    for &i in &order {
        out.write_all(events[i].json.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if let Some(path) = a.truth {
        let mut tw = BufWriter::with_capacity(1 << 16, File::create(path)?);
        for &i in &order {
            serde_json::to_writer(&mut tw, &events[i].truth)?;
            tw.write_all(b"\n")?;
        }
        tw.flush()?;
    }
    // Freeing a million strings one by one only delays the exit that frees them all at once.
    std::mem::forget(events);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("ctail-sim: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`ctail-sim | head`) is not an error worth reporting.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ctail-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
