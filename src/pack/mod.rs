//! Vendor packs: a directory with `vendor.toml` and the templates of the clouds the vendor
//! supports (`aws/stacks.toml` + the templates it names, `gcp/install.yaml`, `azure/*.json`).
//! The bundled Acme ML pack is `assets/` (compiled in); `--vendor DIR` loads one at run time;
//! `--vendor FILE` (a lone `vendor.toml`) pairs it with the bundled templates. docs/vendor-packs.md
//! describes the format.
//!
//! The digest is sha256 over the pack's files in a fixed order (their paths, sorted bytewise),
//! each as `<path>\n<length in bytes>\n<content>`: what the preview, the Confirm screen and the
//! receipt show, and what `--vendor-sha256` compares.

pub mod check;

use std::path::{Path, PathBuf};

use crate::assets;
use crate::model::Cloud;

/// One file of a pack: its path relative to the pack root (`/`-separated) and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackFile {
    pub path: &'static str,
    pub text: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pack {
    /// Where the templates were read from; `None`: the bundled ones.
    pub root: Option<PathBuf>,
    /// Every file, sorted by path (vendor.toml included).
    pub files: Vec<PackFile>,
    /// sha256 (hex) over the files (see the module docs).
    pub digest: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("cannot read the vendor pack {path}: {message}. Check the path given to --vendor.")]
    Read { path: PathBuf, message: String },
    #[error("the vendor pack {root} is not usable: {message}")]
    Shape { root: String, message: String },
}

/// The directories of a pack that hold templates, with the cloud each stands for.
pub const CLOUD_DIRS: [(&str, Cloud); 3] = [("aws", Cloud::Aws), ("gcp", Cloud::Gcp), ("azure", Cloud::Azure)];

/// The file whose presence says the pack supports a cloud (for Azure: any template).
pub fn marker(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws => "aws/stacks.toml",
        Cloud::Gcp => "gcp/install.yaml",
        Cloud::Azure => "azure/*.json",
    }
}

/// Texts read at run time live as long as the process: a pack is loaded once per run (the
/// templates are then parsed into plans many times, which borrow the texts).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// A file of a pack directory the tool reads: `vendor.toml`, and under `aws/`, `gcp/`, `azure/`
/// the templates and manifests (`.toml`, `.yaml`, `.yml`, `.json`).
fn is_pack_file(path: &str) -> bool {
    if path == "vendor.toml" {
        return true;
    }
    let Some((dir, name)) = path.split_once('/') else { return false };
    CLOUD_DIRS.iter().any(|(d, _)| *d == dir)
        && !name.contains('/')
        && [".toml", ".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e))
}

pub fn digest_of(files: &[PackFile]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&PackFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(b.path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.path.as_bytes());
        h.update(b"\n");
        h.update(f.text.len().to_string().as_bytes());
        h.update(b"\n");
        h.update(f.text.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Pack {
    fn new(root: Option<PathBuf>, mut files: Vec<PackFile>) -> Pack {
        files.sort_by(|a, b| a.path.cmp(b.path));
        let digest = digest_of(&files);
        Pack { root, files, digest }
    }

    /// The bundled Acme ML pack (`assets/`).
    pub fn bundled() -> Pack {
        let files = std::iter::once(assets::VENDOR_TOML)
            .chain([assets::AWS_STACKS])
            .chain(assets::AWS_TEMPLATES)
            .chain([assets::GCP_INSTALL, assets::AZURE_MAIN, assets::AZURE_STORAGE])
            .map(|a| PackFile { path: a.path, text: a.text })
            .collect();
        Pack::new(None, files)
    }

    /// The bundled templates with another `vendor.toml` (`--vendor FILE`).
    pub fn bundled_with_profile(text: &'static str) -> Pack {
        let mut files: Vec<PackFile> = Pack::bundled().files.into_iter().filter(|f| f.path != "vendor.toml").collect();
        files.push(PackFile { path: "vendor.toml", text });
        Pack::new(None, files)
    }

    /// A pack directory.
    pub fn load(dir: &Path) -> Result<Pack, PackError> {
        let read_err =
            |path: &Path, e: std::io::Error| PackError::Read { path: path.to_path_buf(), message: e.to_string() };
        let mut files = Vec::new();
        let mut candidates = vec!["vendor.toml".to_string()];
        for (sub, _) in CLOUD_DIRS {
            let d = dir.join(sub);
            if !d.is_dir() {
                continue;
            }
            let mut names: Vec<String> = std::fs::read_dir(&d)
                .map_err(|e| read_err(&d, e))?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().to_str().map(|n| format!("{sub}/{n}")))
                .filter(|p| is_pack_file(p))
                .collect();
            names.sort();
            candidates.extend(names);
        }
        for rel in candidates {
            let p = dir.join(&rel);
            // Each file is read with the profile's size limit: an error never echoes megabytes.
            let text =
                crate::validate::read_text_limited(&p, crate::validate::PROFILE_MAX_BYTES).map_err(|e| {
                    match e.kind() {
                        std::io::ErrorKind::InvalidData => {
                            PackError::Shape { root: dir.display().to_string(), message: format!("{rel}: {e}") }
                        }
                        _ => read_err(&p, e),
                    }
                })?;
            files.push(PackFile { path: leak(rel), text: leak(text) });
        }
        let pack = Pack::new(Some(dir.to_path_buf()), files);
        if pack.clouds().is_empty() {
            return Err(PackError::Shape {
                root: dir.display().to_string(),
                message: "it holds templates for no cloud: add aws/stacks.toml, gcp/install.yaml or azure/*.json"
                    .into(),
            });
        }
        Ok(pack)
    }

    /// The file at `path` (relative to the pack root).
    pub fn file(&self, path: &str) -> Option<PackFile> {
        self.files.iter().copied().find(|f| f.path == path)
    }

    /// How errors name a file of this pack: its path on disk, or `assets/…` for the bundled one.
    pub fn display_path(&self, path: &str) -> String {
        match &self.root {
            Some(r) => r.join(path).display().to_string(),
            None => format!("assets/{path}"),
        }
    }

    /// Whether the pack holds `cloud`'s templates ([`marker`]).
    pub fn has_templates(&self, cloud: Cloud) -> bool {
        match cloud {
            Cloud::Azure => self.files_under("azure").iter().any(|f| f.path.ends_with(".json")),
            _ => self.file(marker(cloud)).is_some(),
        }
    }

    /// The clouds the pack holds templates for.
    pub fn clouds(&self) -> Vec<Cloud> {
        Cloud::ALL.into_iter().filter(|c| self.has_templates(*c)).collect()
    }

    /// The files under `dir/` (`aws`, `gcp`, `azure`).
    pub fn files_under(&self, dir: &str) -> Vec<PackFile> {
        self.files.iter().copied().filter(|f| f.path.split_once('/').is_some_and(|(d, _)| d == dir)).collect()
    }

    /// The templates a security scanner reads: CloudFormation under `aws/` and ARM under `azure/`.
    pub fn scanned(&self) -> Vec<PackFile> {
        let mut out: Vec<PackFile> = self
            .files_under("aws")
            .into_iter()
            .filter(|f| f.path.ends_with(".yaml") || f.path.ends_with(".yml") || f.path.ends_with(".json"))
            .collect();
        out.extend(self.files_under("azure"));
        out
    }

    /// A short form of the digest for narrow screens: its first 12 hex digits.
    pub fn short_digest(&self) -> &str {
        self.digest.get(..12).unwrap_or(&self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_covers_paths_and_contents_in_a_fixed_order() {
        let a = PackFile { path: "vendor.toml", text: "x" };
        let b = PackFile { path: "aws/stacks.toml", text: "y" };
        assert_eq!(digest_of(&[a, b]), digest_of(&[b, a]), "order of reading does not matter");
        let renamed = PackFile { path: "aws/other.toml", text: "y" };
        assert_ne!(digest_of(&[a, b]), digest_of(&[a, renamed]));
        let moved = [PackFile { path: "vendor.toml", text: "xy" }, PackFile { path: "aws/stacks.toml", text: "" }];
        assert_ne!(digest_of(&[a, b]), digest_of(&moved), "lengths keep file boundaries apart");
        assert_eq!(digest_of(&[a, b]).len(), 64);
    }

    #[test]
    fn the_bundled_pack_supports_every_cloud() {
        let p = Pack::bundled();
        assert_eq!(p.clouds(), Cloud::ALL.to_vec());
        assert!(p.file("aws/auth.yaml").is_some());
        assert_eq!(p.scanned().len(), 5, "{:?}", p.scanned());
    }

    #[test]
    fn a_directory_loads_only_its_pack_files() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("aws")).expect("aws");
        std::fs::write(dir.path().join("vendor.toml"), "v").expect("w");
        std::fs::write(dir.path().join("aws/stacks.toml"), "s").expect("w");
        std::fs::write(dir.path().join("aws/a.yaml"), "a").expect("w");
        std::fs::write(dir.path().join("aws/notes.txt"), "n").expect("w");
        std::fs::write(dir.path().join("README.md"), "r").expect("w");
        let p = Pack::load(dir.path()).expect("pack");
        let paths: Vec<&str> = p.files.iter().map(|f| f.path).collect();
        assert_eq!(paths, ["aws/a.yaml", "aws/stacks.toml", "vendor.toml"]);
        assert_eq!(p.clouds(), [Cloud::Aws]);
        std::fs::write(dir.path().join("aws/a.yaml"), "changed").expect("w");
        assert_ne!(Pack::load(dir.path()).expect("pack").digest, p.digest);
    }

    #[test]
    fn a_directory_without_templates_or_profile_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let e = Pack::load(dir.path()).expect_err("no vendor.toml").to_string();
        assert!(e.contains("vendor.toml"), "{e}");
        std::fs::write(dir.path().join("vendor.toml"), "v").expect("w");
        let e = Pack::load(dir.path()).expect_err("no cloud").to_string();
        assert!(e.contains("aws/stacks.toml"), "{e}");
    }
}
