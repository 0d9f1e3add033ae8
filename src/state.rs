//! `--state FILE`: the session table kept across restarts.
//!
//! The file is one header line, `{"format":"ctail-filter state","version":1,"bytes":N,
//! "checksum":"…"}`, then N bytes of JSON (the [`Snapshot`]). It is written atomically (a
//! temporary file beside it, fsync, rename, fsync of the directory) and readable by its owner
//! only: it holds ARNs and key ids. A file that is empty, truncated, corrupt or of another version
//! is refused and never touched; starting afresh is the explicit `--fresh-state`.

use crate::session::persist::Snapshot;
use serde::{Deserialize, Serialize};
use siphasher::sip128::{Hasher128, SipHasher13};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::hash::Hasher;
use std::io::{self, Write};
use std::path::Path;

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
