//! Where receipts live and how they are written, listed and read: `<data dir>/cloudgrant/receipts/`
//! (`CLOUDGRANT_RECEIPTS_DIR` overrides it), one `ID.json` and one `ID.md` per receipt.

use std::path::{Path, PathBuf};

use super::{markdown, Receipt};
use crate::redact::redact;

/// Overrides the receipts directory (tests, a shared support folder).
pub const ENV_DIR: &str = "CLOUDGRANT_RECEIPTS_DIR";

/// Why a receipt could not be written or read, with the path.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub message: String,
    pub next_step: String,
}

fn err(message: String, next_step: &str) -> StoreError {
    StoreError { message, next_step: next_step.to_string() }
}

/// The receipts directory: `CLOUDGRANT_RECEIPTS_DIR`, else the data directory's
/// `cloudgrant/receipts`.
pub fn dir() -> Result<PathBuf, StoreError> {
    if let Some(d) = std::env::var_os(ENV_DIR).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    dirs::data_dir().map(|d| d.join("cloudgrant").join("receipts")).ok_or_else(|| {
        err("no data directory is known for this user".into(), "Set CLOUDGRANT_RECEIPTS_DIR to a folder for receipts.")
    })
}

/// Write `receipt` as JSON and Markdown; returns the JSON file's path. A receipt whose id is
/// taken (two runs in one second) gets a `-2`, `-3`… suffix.
pub fn write(receipt: &Receipt) -> Result<PathBuf, StoreError> {
    write_in(&dir()?, receipt)
}

pub fn write_in(dir: &Path, receipt: &Receipt) -> Result<PathBuf, StoreError> {
    let fix = "Check that the folder is writable, or set CLOUDGRANT_RECEIPTS_DIR to one that is.";
    std::fs::create_dir_all(dir).map_err(|e| err(format!("cannot create {}: {e}", dir.display()), fix))?;
    let mut r = receipt.clone();
    let base = r.id.clone();
    let mut n = 1;
    while dir.join(format!("{}.json", r.id)).exists() {
        n += 1;
        r.id = format!("{base}-{n}");
    }
    let json = serde_json::to_string_pretty(&r).map_err(|e| err(format!("cannot encode the receipt: {e}"), fix))?;
    let path = dir.join(format!("{}.json", r.id));
    std::fs::write(&path, redact(&json)).map_err(|e| err(format!("cannot write {}: {e}", path.display()), fix))?;
    let md = dir.join(format!("{}.md", r.id));
    std::fs::write(&md, redact(&markdown(&r))).map_err(|e| err(format!("cannot write {}: {e}", md.display()), fix))?;
    Ok(path)
}

/// Every receipt in the directory, oldest first (ids sort by time). Files that do not parse are
/// skipped and named in the second list.
pub fn list_in(dir: &Path) -> (Vec<Receipt>, Vec<PathBuf>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return (out, bad) };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for p in paths {
        match std::fs::read_to_string(&p).ok().and_then(|t| serde_json::from_str::<Receipt>(&t).ok()) {
            Some(r) => out.push(r),
            None => bad.push(p),
        }
    }
    (out, bad)
}

/// The receipt `id` (or the only one whose id starts with it).
pub fn load_in(dir: &Path, id: &str) -> Result<Receipt, StoreError> {
    let (all, _) = list_in(dir);
    if let Some(r) = all.iter().find(|r| r.id == id) {
        return Ok(r.clone());
    }
    let matching: Vec<&Receipt> = all.iter().filter(|r| r.id.starts_with(id)).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(err(
            format!("no receipt `{id}` in {}", dir.display()),
            "List them with `cloudgrant receipts`, then pass one of the ids shown.",
        )),
        many => Err(err(
            format!("`{id}` matches {} receipts", many.len()),
            "Pass more of the id (`cloudgrant receipts` lists them).",
        )),
    }
}
