//! `--state FILE`: the session table kept across restarts.
//!
//! The file is one header line, `{"format":"ctail-filter state","version":1,"bytes":N,
//! "checksum":"…"}`, then N bytes of JSON (the [`Snapshot`]). It is written atomically (a
//! temporary file beside it, fsync, rename, fsync of the directory) and readable by its owner
//! only: it holds ARNs and key ids. A file that is empty, truncated, corrupt or of another version
//! is refused and never touched; starting afresh is the explicit `--fresh-state`.
//!
//! For the whole run the file is locked ([`lock`]): two processes would overwrite each other's
//! table, so a second one is refused at start.

use crate::session::persist::Snapshot;
use serde::{Deserialize, Serialize};
use siphasher::sip128::{Hasher128, SipHasher13};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::hash::Hasher;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "ctail-filter state";
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    bytes: u64,
    checksum: String,
}

/// Why a state file was refused or could not be written.
#[derive(Debug)]
pub enum StateError {
    Read(io::Error),
    Write(io::Error),
    Empty,
    NotAStateFile,
    UnknownVersion(u32),
    Truncated {
        expected: u64,
        found: u64,
    },
    Checksum,
    Corrupt(String),
    /// The JSON is sound but describes no session table this build can rebuild.
    Snapshot(crate::session::persist::SnapshotError),
    /// The lock file beside the state file could not be opened or locked.
    Lock(PathBuf, io::Error),
    /// Another process holds the lock file (its pid, when it wrote one).
    InUse {
        lock: PathBuf,
        pid: Option<u32>,
    },
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Read(e) => write!(f, "cannot read the state file: {e}"),
            StateError::Write(e) => write!(f, "cannot write the state file: {e}"),
            StateError::Empty => f.write_str("the state file is empty"),
            StateError::NotAStateFile => f.write_str("not a ctail-filter state file"),
            StateError::UnknownVersion(v) => {
                write!(
                    f,
                    "state file version {v} is not one this build reads (it reads version {VERSION})"
                )
            }
            StateError::Truncated { expected, found } => {
                write!(f, "the state file holds {found} bytes where its header says {expected}: truncated or corrupt")
            }
            StateError::Checksum => f.write_str("the state file's checksum does not match: it is corrupt"),
            StateError::Corrupt(what) => write!(f, "the state file is corrupt: {what}"),
            StateError::Snapshot(e) => write!(f, "the state file is corrupt: {e}"),
            StateError::Lock(lock, e) => write!(f, "cannot lock {}: {e}", lock.display()),
            StateError::InUse { lock, pid } => {
                f.write_str("in use by another process")?;
                if let Some(pid) = pid {
                    write!(f, " (pid {pid})")?;
                }
                write!(
                    f,
                    ", which holds {}; two processes must not share one state file",
                    lock.display()
                )
            }
        }
    }
}

fn checksum(body: &[u8]) -> String {
    let mut h = SipHasher13::new_with_keys(0x7374_6174_652d_6669, 0x6c65_2d63_6865_636b);
    h.write(body);
    format!("{:032x}", h.finish128().as_u128())
}

/// Reads the state file; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<Snapshot>, StateError> {
    let data = match fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::Read(e)),
    };
    if data.is_empty() {
        return Err(StateError::Empty);
    }
    let nl = memchr::memchr(b'\n', &data).ok_or(StateError::NotAStateFile)?;
    let header: Header = serde_json::from_slice(&data[..nl]).map_err(|_| StateError::NotAStateFile)?;
    if header.format != FORMAT {
        return Err(StateError::NotAStateFile);
    }
    if header.version != VERSION {
        return Err(StateError::UnknownVersion(header.version));
    }
    let body = &data[nl + 1..];
    if body.len() as u64 != header.bytes {
        return Err(StateError::Truncated {
            expected: header.bytes,
            found: body.len() as u64,
        });
    }
    if checksum(body) != header.checksum {
        return Err(StateError::Checksum);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| StateError::Corrupt(e.to_string()))
}

/// Writes the state file atomically, readable by its owner only.
pub fn save(path: &Path, snap: &Snapshot) -> Result<(), StateError> {
    let body = serde_json::to_vec(snap).map_err(|e| StateError::Write(io::Error::other(e)))?;
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        bytes: body.len() as u64,
        checksum: checksum(&body),
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| StateError::Write(io::Error::other("the state path names no file")))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let write = || -> io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        serde_json::to_writer(&mut f, &header)?;
        f.write_all(b"\n")?;
        f.write_all(&body)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename itself must survive a crash too.
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        StateError::Write(e)
    })
}

/// The lock on a state file, held while this value lives: [`lock`].
#[derive(Debug)]
pub struct Lock {
    #[cfg(target_os = "linux")]
    _file: File,
}

/// Where the lock of the state file `path` lives: `PATH.lock`, beside it. Not the state file
/// itself: each save replaces that file by a rename, and a lock on the old one would guard
/// nothing.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Takes the exclusive lock of the state file `path` for as long as the returned value lives, or
/// says which process holds it. An advisory `flock` on [`lock_path`], which the kernel releases
/// when the process ends, however it ends: a lock file left behind by a killed process blocks
/// nobody. The file is never removed (removing it would let two processes lock two different
/// files of the same name); it holds the pid of the last holder, for the message. The
/// descriptor is closed on exec, so a program ctail-filter starts never inherits the lock.
#[cfg(target_os = "linux")]
pub fn lock(path: &Path) -> Result<Lock, StateError> {
    use rustix::fs::{flock, FlockOperation};
    use std::os::unix::fs::OpenOptionsExt;
    let lock = lock_path(path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        // Never truncated on open: the holder's pid stays readable for a process that is refused.
        .truncate(false)
        .mode(0o600)
        .open(&lock)
        .map_err(|e| StateError::Lock(lock.clone(), e))?;
    match flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            let pid = fs::read_to_string(&lock).ok().and_then(|s| s.trim().parse().ok());
            return Err(StateError::InUse { lock, pid });
        }
        Err(e) => return Err(StateError::Lock(lock, e.into())),
    }
    // Ours now: say whose, for the message a second process prints. Best effort.
    let _ = file
        .set_len(0)
        .and_then(|()| (&file).write_all(format!("{}\n", std::process::id()).as_bytes()));
    Ok(Lock { _file: file })
}

/// Elsewhere there is no lock (rustix, for `flock`, is a dependency on Linux only).
#[cfg(not(target_os = "linux"))]
pub fn lock(_path: &Path) -> Result<Lock, StateError> {
    Ok(Lock {})
}
