//! The sandboxes' state files: JSON read whole and written back atomically. A file that cannot be
//! read, is corrupt, or was written in another format is never overwritten: the error names the
//! path and how to move it aside.
//!
//! Several processes may share one sandbox directory (two terminals, a test suite): a change
//! goes through [`StateFile::update`], which holds an exclusive advisory lock (`flock`) on a
//! sibling `<file>.lock` across load, change and save, so no process writes back a state read
//! before another's change.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::cloud::CloudError;

#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    /// What the file holds, for messages ("sandbox state", "simulated Google Cloud state").
    what: &'static str,
    /// The `format` field this version reads and writes.
    format: u32,
}

impl StateFile {
    pub fn new(path: PathBuf, what: &'static str, format: u32) -> StateFile {
        StateFile { path, what, format }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's contents, or `empty()` while there is no file yet.
    pub fn load<T: DeserializeOwned>(&self, empty: impl FnOnce() -> T) -> Result<T, CloudError> {
        let (what, p) = (self.what, self.path.display());
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(empty()),
            Err(e) => {
                return Err(CloudError::failed(
                    format!("cannot read the {what} file {p}: {e}"),
                    "Check the file's permissions, or set CLOUDGRANT_SANDBOX_DIR to another directory.",
                ))
            }
        };
        let aside = format!(
            "cloudgrant will not overwrite it. Move it aside to start an empty sandbox (`mv {p} {p}.bak`), or set CLOUDGRANT_SANDBOX_DIR to another directory."
        );
        // The format first, so a newer file is reported as newer rather than as corrupt.
        let format = serde_json::from_str::<Value>(&text).ok().and_then(|v| v.get("format").and_then(Value::as_u64));
        if let Some(f) = format.filter(|f| *f != u64::from(self.format)) {
            return Err(CloudError::failed(
                format!("the {what} file {p} has format {f}; this cloudgrant reads format {}", self.format),
                aside,
            ));
        }
        serde_json::from_str(&text)
            .map_err(|e| CloudError::failed(format!("the {what} file {p} is corrupt ({e})"), aside))
    }

    /// Load (or `empty()`), let `change` work on the state, and save it when `change` says it
    /// changed something (the second value), all under the lock; returns `change`'s answer.
    pub fn update<T, R>(
        &self,
        empty: impl FnOnce() -> T,
        change: impl FnOnce(&mut T) -> (R, bool),
    ) -> Result<R, CloudError>
    where
        T: Serialize + DeserializeOwned,
    {
        let _lock = self.lock()?;
        let mut state = self.load(empty)?;
        let (answer, changed) = change(&mut state);
        if changed {
            self.save(&state)?;
        }
        Ok(answer)
    }

    /// The exclusive lock on `<file>.lock`, released when the returned file is closed.
    fn lock(&self) -> Result<std::fs::File, CloudError> {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(".lock");
        let path = self.path.with_file_name(name);
        let fail = |e: std::io::Error| {
            CloudError::failed(
                format!("cannot lock the {} file {}: {e}", self.what, path.display()),
                "Check that the directory is writable, or set CLOUDGRANT_SANDBOX_DIR to another directory.",
            )
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(fail)?;
        flock_exclusive(&file).map_err(fail)?;
        Ok(file)
    }

    pub fn save<T: Serialize>(&self, value: &T) -> Result<(), CloudError> {
        let fail = |e: std::io::Error| {
            CloudError::failed(
                format!("cannot write the {} file {}: {e}", self.what, self.path.display()),
                "Check that the directory is writable, or set CLOUDGRANT_SANDBOX_DIR to another directory.",
            )
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
        let text = serde_json::to_string_pretty(value).map_err(|e| {
            CloudError::failed(format!("cannot encode the {}: {e}", self.what), "Report this as a bug.")
        })?;
        tmp.write_all(text.as_bytes()).map_err(fail)?;
        tmp.as_file().sync_all().map_err(fail)?;
        tmp.persist(&self.path).map_err(|e| fail(e.error))?;
        Ok(())
    }
}

/// Wait for an exclusive `flock` on `file` (retried when a signal interrupts the wait).
#[cfg(unix)]
fn flock_exclusive(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: flock on a descriptor this function borrows for the call; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(not(unix))]
fn flock_exclusive(file: &std::fs::File) -> std::io::Result<()> {
    file.lock()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_updates_from_many_threads_lose_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("counter.json");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // Each thread has its own StateFile, as each process would.
                    let file = StateFile::new(path, "test state", 1);
                    for _ in 0..25 {
                        file.update(
                            || serde_json::json!({"format": 1, "n": 0}),
                            |v| {
                                v["n"] = serde_json::json!(v["n"].as_u64().unwrap_or(0) + 1);
                                ((), true)
                            },
                        )
                        .expect("update");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let file = StateFile::new(path, "test state", 1);
        let v: Value = file.load(|| serde_json::json!({})).expect("load");
        assert_eq!(v["n"], 200, "every increment of every thread is there");
    }
}
