//! The IaC scan of the templates a pack grants: runs checkov (the version tests/run.sh pins) over
//! the template files, offline, and reads its JSON report into every failed check and every check
//! a template sets aside, with its reason. CI runs it over the bundled and the example packs'
//! templates (tests/scan_checkov.rs); `cloudgrant vendor check` runs it over a vendor's pack.
//!
//! Offline by construction (docs/hardening.md): `--skip-download` (no policy metadata from
//! Prisma Cloud), `CKV_SKIP_PACKAGE_UPDATE_CHECK` (no PyPI version check), `BC_SKIP_MAPPING`, no
//! API key passed through (a key would upload the results), and run from an empty directory with
//! that directory as home so no `.checkov.yaml` there or in the user's home changes the checks.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The checkov release the project's figures and suppressions are checked with.
pub const CHECKOV_VERSION: &str = "3.3.30";
/// checkov's frameworks for the bundled templates: CloudFormation (AWS) and ARM (Azure). The GCP
/// definition is cloudgrant's own format, which no scanner reads.
pub const FRAMEWORKS: [&str; 2] = ["cloudformation", "arm"];
/// Where to find checkov when it is not `checkov` on the `PATH`.
pub const CHECKOV_ENV: &str = "CLOUDGRANT_CHECKOV";

/// One check result for one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `CKV_AZURE_35`.
    pub check: String,
    /// checkov's title for it.
    pub title: String,
    /// checkov's name for the resource: `AWS::S3::Bucket.DataBucket`, or for ARM the type and
    /// the name as written (`Microsoft.Storage/storageAccounts.[variables('x')]`).
    pub resource: String,
    /// The template file, absolute.
    pub file: PathBuf,
    /// First and last line of the resource in the file.
    pub lines: (usize, usize),
    /// The template's reason, for a check it sets aside.
    pub reason: Option<String>,
}

impl Finding {
    /// The resource's logical id in cloudgrant's terms: CloudFormation's, or the ARM resource's
    /// `metadata.cloudgrant.id`, read from `text` (the file's content). checkov's line range of a
    /// nested ARM resource starts at its parent and its name may be half-evaluated, but the range
    /// ends where the resource does: the outermost object closing on that line is the resource
    /// (checked against checkov's type).
    pub fn logical_id(&self, text: &str) -> Option<String> {
        let dot = match self.resource.find('/') {
            // ARM: `Microsoft.Storage/storageAccounts.<name>`: the dot after the type.
            Some(s) => self.resource[s..].find('.').map(|d| s + d)?,
            None => self.resource.find('.')?,
        };
        let (type_, name) = (&self.resource[..dot], &self.resource[dot + 1..]);
        if type_.contains("::") {
            return Some(name.to_string());
        }
        let object: Value = serde_json::from_str(object_ending_at(text, self.lines.1)?).ok()?;
        if object.get("type").and_then(Value::as_str) != Some(type_) {
            return None;
        }
        object.pointer("/metadata/cloudgrant/id").and_then(Value::as_str).map(str::to_string)
    }
}

/// The outermost JSON object of `text` whose closing brace is on `line` (1-based).
fn object_ending_at(text: &str, line: usize) -> Option<&str> {
    let (mut at_line, mut in_string, mut escaped) = (1, false, false);
    let mut open: Vec<usize> = Vec::new();
    let mut best: Option<(usize, usize)> = None;
    for (i, c) in text.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '\n' => at_line += 1,
            '"' => in_string = true,
            '{' => open.push(i),
            '}' => {
                let start = open.pop()?;
                if at_line == line && best.is_none_or(|(s, _)| start < s) {
                    best = Some((start, i));
                }
            }
            _ => {}
        }
    }
    best.map(|(s, e)| &text[s..=e])
}

/// What checkov reported over a set of files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// checkov's own version, as it reports it.
    pub version: Option<String>,
    pub passed: usize,
    pub failed: Vec<Finding>,
    pub skipped: Vec<Finding>,
    /// Files checkov could not parse (a template it cannot read is not scanned).
    pub parse_errors: Vec<String>,
    /// Every file at least one check ran on.
    pub scanned: Vec<PathBuf>,
}

impl Report {
    /// The asked-for files that no check ran on: checkov did not recognise them as templates.
    pub fn unscanned<'a>(&self, files: &'a [PathBuf]) -> Vec<&'a PathBuf> {
        files.iter().filter(|f| !self.scanned.iter().any(|s| same_file(s, f))).collect()
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("checkov is not installed (`{program}`: {message}): install it with `pip install checkov=={CHECKOV_VERSION}` (tests/run.sh puts it in .venv), or set {CHECKOV_ENV} to its path")]
    NotInstalled { program: String, message: String },
    #[error("checkov failed (exit status {status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("checkov's JSON report could not be read: {0}")]
    Report(String),
}

/// The program to run: `$CLOUDGRANT_CHECKOV`, else `checkov` from the `PATH`.
pub fn program() -> String {
    std::env::var(CHECKOV_ENV).ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "checkov".into())
}

/// The arguments of the scan of `files` (docs/hardening.md gives the same command line).
pub fn arguments(files: &[PathBuf]) -> Vec<String> {
    let mut args = vec!["--file".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.push("--framework".into());
    args.extend(FRAMEWORKS.iter().map(|f| f.to_string()));
    args.extend(["--output", "json", "--skip-download"].map(String::from));
    args
}

/// Scan `files` (absolute paths) with checkov and read its report.
pub fn run(files: &[PathBuf]) -> Result<Report, ScanError> {
    let program = program();
    let home =
        tempfile::tempdir().map_err(|e| ScanError::Failed { status: "not started".into(), stderr: e.to_string() })?;
    let output = Command::new(&program)
        .args(arguments(files))
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("CKV_SKIP_PACKAGE_UPDATE_CHECK", "true")
        .env("BC_SKIP_MAPPING", "TRUE")
        // Its warnings about parameters without defaults are noise here; errors still show.
        .env("LOG_LEVEL", "ERROR")
        .env_remove("BC_API_KEY")
        .env_remove("PRISMA_API_URL")
        .env_remove("BC_API_URL")
        .output()
        .map_err(|e| ScanError::NotInstalled { program: program.clone(), message: e.to_string() })?;
    // 0: nothing failed; 1: something failed (the report says what). Anything else is checkov's
    // own failure.
    match output.status.code() {
        Some(0 | 1) => parse(&String::from_utf8_lossy(&output.stdout)),
        _ => Err(ScanError::Failed {
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).lines().rev().take(5).collect::<Vec<_>>().join(" | "),
        }),
    }
}

fn finding(v: &Value) -> Result<Finding, ScanError> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let range = v.get("file_line_range").and_then(Value::as_array);
    let line = |i: usize| range.and_then(|r| r.get(i)).and_then(Value::as_u64).unwrap_or(0) as usize;
    let check = s("check_id");
    if check.is_empty() {
        return Err(ScanError::Report(format!("a result has no check_id: {v}")));
    }
    let reason = v.pointer("/check_result/suppress_comment").and_then(Value::as_str).map(|c| c.trim().to_string());
    Ok(Finding {
        check,
        title: s("check_name"),
        resource: s("resource"),
        file: PathBuf::from(s("file_abs_path")),
        lines: (line(0), line(1)),
        reason,
    })
}

/// checkov's `--output json`: one report per framework (an array when more than one has
/// results), or only a summary when nothing was scanned.
pub fn parse(json: &str) -> Result<Report, ScanError> {
    let root: Value = serde_json::from_str(json.trim()).map_err(|e| ScanError::Report(e.to_string()))?;
    let reports = match root {
        Value::Array(a) => a,
        Value::Object(ref o) if o.contains_key("check_type") => vec![root],
        Value::Object(_) => Vec::new(),
        other => return Err(ScanError::Report(format!("expected an object or an array, got {other}"))),
    };
    let mut out = Report::default();
    for r in &reports {
        let results = r.get("results").ok_or_else(|| ScanError::Report("a report has no `results`".into()))?;
        let list = |k: &str| results.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
        out.version =
            out.version.or_else(|| r.pointer("/summary/checkov_version").and_then(Value::as_str).map(String::from));
        for p in list("passed_checks") {
            out.passed += 1;
            let f = finding(&p)?;
            if !out.scanned.contains(&f.file) {
                out.scanned.push(f.file);
            }
        }
        for (key, into) in [("failed_checks", &mut out.failed), ("skipped_checks", &mut out.skipped)] {
            for v in list(key) {
                into.push(finding(&v)?);
            }
        }
        out.parse_errors
            .extend(list("parsing_errors").iter().map(|e| e.as_str().map(String::from).unwrap_or(e.to_string())));
    }
    for f in out.failed.iter().chain(&out.skipped) {
        if !out.scanned.contains(&f.file) {
            out.scanned.push(f.file.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape checkov 3.3.30 writes (trimmed to the fields read), as captured from a run over
    // assets/aws/s3.yaml and assets/azure/storage.json.
    const TWO: &str = r#"[
      {"check_type": "cloudformation", "results": {
        "passed_checks": [{"check_id": "CKV_AWS_19", "check_name": "Ensure the S3 bucket has server-side-encryption enabled", "check_result": {"result": "PASSED"}, "file_abs_path": "/a/aws/s3.yaml", "file_line_range": [17, 47], "resource": "AWS::S3::Bucket.DataBucket"}],
        "failed_checks": [],
        "skipped_checks": [{"check_id": "CKV_AWS_18", "check_name": "Ensure the S3 bucket has access logging enabled", "check_result": {"result": "SKIPPED", "suppress_comment": "No logging."}, "file_abs_path": "/a/aws/s3.yaml", "file_line_range": [17, 47], "resource": "AWS::S3::Bucket.DataBucket"}],
        "parsing_errors": []},
       "summary": {"passed": 1, "failed": 0, "skipped": 1, "parsing_errors": 0, "resource_count": 2, "checkov_version": "3.3.30"}},
      {"check_type": "arm", "results": {
        "passed_checks": [],
        "failed_checks": [{"check_id": "CKV_AZURE_35", "check_name": "Ensure default network access rule for Storage Accounts is set to deny", "check_result": {"result": "FAILED"}, "file_abs_path": "/a/azure/storage.json", "file_line_range": [3, 6], "resource": "Microsoft.Storage/storageAccounts.[parameters('accountName')]"}],
        "skipped_checks": [],
        "parsing_errors": ["/a/azure/broken.json"]},
       "summary": {"passed": 0, "failed": 1, "skipped": 0, "parsing_errors": 1, "resource_count": 1, "checkov_version": "3.3.30"}}
    ]"#;

    #[test]
    fn the_json_report_reads_into_failures_skips_and_scanned_files() {
        let r = parse(TWO).expect("reads");
        assert_eq!(r.version.as_deref(), Some("3.3.30"));
        assert_eq!(r.passed, 1);
        assert_eq!(r.skipped.len(), 1);
        assert_eq!(r.skipped[0].reason.as_deref(), Some("No logging."));
        assert_eq!(r.skipped[0].logical_id(""), Some("DataBucket".into()));
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.failed[0].check, "CKV_AZURE_35");
        assert_eq!(r.failed[0].reason, None);
        assert_eq!(r.parse_errors, vec!["/a/azure/broken.json".to_string()]);
        assert_eq!(r.scanned, vec![PathBuf::from("/a/aws/s3.yaml"), PathBuf::from("/a/azure/storage.json")]);
        let asked = [PathBuf::from("/a/aws/s3.yaml"), PathBuf::from("/a/azure/other.json")];
        assert_eq!(r.unscanned(&asked), vec![&asked[1]]);
        // An ARM resource is the outermost object closing on checkov's last line, even nested.
        let text = "{\"resources\": [{\"type\": \"Microsoft.Resources/deployments\",\n \"properties\": {\"template\": {\"resources\": [\n  {\"type\": \"Microsoft.Storage/storageAccounts\", \"name\": \"[format('{0}x', 'a')]\", \"metadata\": {\"cloudgrant\": {\"id\": \"Other\"}}},\n  {\"type\": \"Microsoft.Storage/storageAccounts\",\n   \"metadata\": {\"cloudgrant\": {\"id\": \"DataAccount\"}}\n  }\n]}}}]}";
        assert_eq!(r.failed[0].logical_id(text), Some("DataAccount".into()));
        let other = Finding { lines: (1, 3), ..r.failed[0].clone() };
        assert_eq!(other.logical_id(text), Some("Other".into()));
        let wrong_type = Finding { resource: "Microsoft.KeyVault/vaults.x".into(), ..r.failed[0].clone() };
        assert_eq!(wrong_type.logical_id(text), None);
        assert_eq!(r.failed[0].logical_id("{}"), None);
    }

    #[test]
    fn a_single_framework_or_an_empty_scan_reads_too() {
        let one = r#"{"check_type": "arm", "results": {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []}, "summary": {"checkov_version": "3.3.30"}}"#;
        assert_eq!(parse(one).expect("reads").version.as_deref(), Some("3.3.30"));
        let empty = r#"{"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0, "resource_count": 0, "checkov_version": "3.3.30"}"#;
        assert_eq!(parse(empty).expect("reads"), Report::default());
        assert!(matches!(parse("not json"), Err(ScanError::Report(_))));
    }

    #[test]
    fn the_command_line_is_offline_and_names_every_file() {
        let args = arguments(&[PathBuf::from("/a/aws/s3.yaml"), PathBuf::from("/a/azure/main.json")]);
        assert_eq!(
            args.join(" "),
            "--file /a/aws/s3.yaml /a/azure/main.json --framework cloudformation arm --output json --skip-download"
        );
    }
}
