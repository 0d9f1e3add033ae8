//! `ctail-filter [OPTIONS] -- PRODUCER [ARGS…]`: the upstream runs as our child and its output is
//! our input, with no shell in between, so that a signal reaches us first: we stop the producer,
//! read what it still writes, handle it, save and exit. Its stderr is ours. A producer that exits
//! is reported, and with `--restart-producer` started again.
//!
//! The producer gets a process group of its own, and is signalled as a group: a producer that is
//! itself a script (`sh -c 'aws logs tail … --follow'`) is stopped with everything it started.

use super::Chunk;
use std::ffi::OsString;
use std::io;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::Duration;

/// The running producer's process id (0: none).
static PID: AtomicU32 = AtomicU32::new(0);
/// Shutdown asked the producer to stop: it is not started again.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// How long a producer that exited waits before `--restart-producer` starts it again.
const RESTART_AFTER: Duration = Duration::from_secs(1);
/// How long a producer asked to stop with SIGINT has before it is sent SIGTERM.
const INTERRUPT_GRACE: Duration = Duration::from_secs(3);

/// The command line of a producer, as given after `--`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Producer {
    pub argv: Vec<OsString>,
    pub restart: bool,
}

impl Producer {
    /// The name used in messages: the command line, shell-like.
    pub fn display(&self) -> String {
        let words: Vec<String> = self
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        format!("`{}`", words.join(" "))
    }
}

/// Asks the running producer (and its process group) to stop, as Ctrl-C would: SIGINT, then
/// SIGTERM if it still runs after a grace period. SIGINT first because the AWS CLI takes it as
/// the normal end of `aws logs tail --follow` and flushes what it printed, where SIGTERM kills it
/// with its output still in its buffer. Whether one was running: then its output is read to its
/// end.
pub fn stop() -> bool {
    STOPPING.store(true, Ordering::Relaxed);
    let pid = PID.load(Ordering::Relaxed);
    if pid == 0 {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{kill_process_group, Pid, Signal};
        if let Some(group) = Pid::from_raw(pid as i32) {
            let _ = kill_process_group(group, Signal::INT);
            std::thread::spawn(move || {
                std::thread::sleep(INTERRUPT_GRACE);
                if PID.load(Ordering::Relaxed) == pid {
                    let _ = kill_process_group(group, Signal::TERM);
                }
            });
        }
    }
    true
}

/// Runs the producer (again and again with `restart`), sending its output as chunks. `Ok(false)`
/// when the receiver is gone.
pub(super) fn read(p: &Producer, tx: &SyncSender<Chunk>, recycle: &Receiver<Vec<u8>>) -> io::Result<bool> {
    let name = p.display();
    loop {
        let (program, args) = p
            .argv
            .split_first()
            .ok_or_else(|| io::Error::other("no producer command"))?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        // The AWS CLI is Python, block buffered in a pipe: without this its events would wait
        // until about 8 KB had built up. A value the user set is left as it is.
        if std::env::var_os("PYTHONUNBUFFERED").is_none() {
            command.env("PYTHONUNBUFFERED", "1");
        }
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run the producer {name}: {e}")))?;
        PID.store(child.id(), Ordering::Relaxed);
        let out = child.stdout.take().expect("stdout was piped");
        let pumped = super::pump(Box::new(out), tx, &|| recycle.try_recv().ok(), false, true);
        let status = child.wait();
        PID.store(0, Ordering::Relaxed);
        if !pumped? {
            return Ok(false);
        }
        let status = status?;
        let stopping = STOPPING.load(Ordering::Relaxed);
        if stopping || !p.restart {
            if status.success() || stopping {
                return Ok(true);
            }
            return Err(io::Error::other(format!("the producer exited with {status}")));
        }
        crate::eprintln_locked!(
            "ctail-filter: the producer {name} exited with {status}; starting it again in {}s",
            RESTART_AFTER.as_secs()
        );
        std::thread::sleep(RESTART_AFTER);
        if STOPPING.load(Ordering::Relaxed) {
            return Ok(true);
        }
    }
}
