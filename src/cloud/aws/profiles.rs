//! The AWS profiles a user has, read from the same files the AWS CLI reads (honouring
//! `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`). Only section names and whether a
//! profile uses SSO are read; no secret leaves the files.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub sso: bool,
    pub region: Option<String>,
}

fn config_path() -> Option<PathBuf> {
    std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("config")))
}

fn credentials_path() -> Option<PathBuf> {
    std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".aws").join("credentials")))
}

/// Profiles from both files, config first, each once.
pub fn list() -> Vec<Profile> {
    let config = config_path().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let credentials = credentials_path().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    parse(&config, &credentials)
}

/// `Ok` when `name` is a profile of the AWS CLI's files; otherwise the error says so and lists
/// the profiles found (or that there are none, and where they were looked for).
pub fn require(name: &str) -> Result<(), crate::cloud::CloudError> {
    let found = list();
    if found.iter().any(|p| p.name == name) {
        return Ok(());
    }
    Err(not_found(name, &found))
}

fn not_found(name: &str, found: &[Profile]) -> crate::cloud::CloudError {
    let files = [config_path(), credentials_path()]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    let name = crate::redact::escape_controls(name);
    if found.is_empty() {
        return crate::cloud::CloudError::failed(
            format!("AWS profile `{name}` not found: no profiles at all in {files}"),
            "Create one with `aws configure --profile NAME` or `aws configure sso`, or leave out --profile to use the environment's credentials.",
        );
    }
    let names: Vec<&str> = found.iter().map(|p| p.name.as_str()).collect();
    crate::cloud::CloudError::failed(
        format!("AWS profile `{name}` not found in {files}; profiles found: {}", names.join(", ")),
        "Pass one of those with --profile (check the spelling), or add the profile with `aws configure --profile NAME`.",
    )
}

pub fn parse(config: &str, credentials: &str) -> Vec<Profile> {
    let mut out: Vec<Profile> = Vec::new();
    for (text, is_config) in [(config, true), (credentials, false)] {
        let mut current: Option<usize> = None;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
                continue;
            }
            if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                let section = section.trim();
                let name = if is_config {
                    match section.strip_prefix("profile ") {
                        Some(n) => Some(n.trim()),
                        None if section == "default" => Some("default"),
                        None => None, // sso-session, services, …
                    }
                } else {
                    Some(section)
                };
                current = name.map(|n| match out.iter().position(|p| p.name == n) {
                    Some(i) => i,
                    None => {
                        out.push(Profile { name: n.to_string(), sso: false, region: None });
                        out.len() - 1
                    }
                });
                continue;
            }
            let (Some(i), Some((k, v))) = (current, line.split_once('=')) else { continue };
            match k.trim() {
                "sso_start_url" | "sso_session" => out[i].sso = true,
                "region" => out[i].region = Some(v.trim().to_string()),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_profiles_from_both_files() {
        let config = "[default]\nregion = eu-west-1\n\n[profile prod]\nsso_session = corp\nsso_account_id = 1\n[sso-session corp]\nsso_start_url = https://x\n# [profile commented]\n";
        let credentials = "[default]\naws_access_key_id = A\n[ci]\naws_access_key_id = B\n";
        let p = super::parse(config, credentials);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["default", "prod", "ci"]);
        assert!(p[1].sso && !p[0].sso && !p[2].sso);
        assert_eq!(p[0].region.as_deref(), Some("eu-west-1"));
        let e = super::not_found("pord", &p);
        assert!(e.to_string().contains("AWS profile `pord` not found"), "{e}");
        assert!(e.to_string().ends_with("profiles found: default, prod, ci"), "{e}");
        let e = super::not_found("x", &[]);
        assert!(e.to_string().contains("no profiles at all") && e.next_step().contains("aws configure"), "{e}");
    }
}
