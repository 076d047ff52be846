//! The sandboxes' state files: JSON read whole and written back atomically. A file that cannot be
//! read, is corrupt, or was written in another format is never overwritten: the error names the
//! path and how to move it aside.

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
