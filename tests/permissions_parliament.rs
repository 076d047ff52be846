//! A second opinion on the preview: parliament (duo-labs' IAM policy linter, PyPI `parliament`,
//! installed into .venv by tests/run.sh) audits every identity and resource policy of the AWS plan,
//! with its community auditors (privilege escalation, credentials exposure, permissions
//! management). Every HIGH or CRITICAL finding — and every credentials-exposure or
//! permissions-management finding — must be flagged by the preview too.
//!
//! Trust policies are not given to parliament: AWS forbids `Resource` in them and parliament reports
//! every such statement as MALFORMED; the trust rules are checked in tests/permissions_aws.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use cloudgrant::model::{Permission, PermissionKind, Plan};
use cloudgrant::permissions::{glob_match, RiskKind};
use cloudgrant::plan::aws::{self, Blueprint};
use cloudgrant::plan::template::Template;
use cloudgrant::plan::Choices;
use cloudgrant::vendor::VendorProfile;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn parliament() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/parliament");
    assert!(
        bin.is_file(),
        "parliament is not installed at {}: tests/run.sh installs it into .venv \
         (or run `.venv/bin/pip install parliament`); this test never skips",
        bin.display()
    );
    bin
}

fn choices() -> Choices {
    Choices {
        org: "demo".into(),
        region: "eu-west-1".into(),
        account: Some("123456789012".into()),
        external_id: Some("x".repeat(40)),
    }
}

fn vendor() -> VendorProfile {
    VendorProfile::bundled().expect("vendor")
}

/// One policy document of the plan, rebuilt from its permission entries.
struct Doc<'p> {
    name: String,
    perms: Vec<&'p Permission>,
    json: Value,
}

/// Ids the cloud assigns are placeholders in the plan (`<DataKey.Arn>`); give parliament an ARN of
/// the right shape so it can check the resource against the actions.
fn resource_for_parliament(r: &str, p: &Permission, plan: &Plan) -> String {
    if r.starts_with('<') && p.actions.iter().all(|a| a.starts_with("kms:")) {
        let account = plan.account.as_deref().unwrap_or("123456789012");
        return format!("arn:aws:kms:{}:{account}:key/00000000-0000-0000-0000-000000000000", plan.region);
    }
    r.to_string()
}

fn principal_json(p: &str) -> Value {
    if p == "*" {
        json!("*")
    } else if p.ends_with(".amazonaws.com") {
        json!({"Service": p})
    } else {
        json!({"AWS": p})
    }
}

fn documents(plan: &Plan) -> Vec<Doc<'_>> {
    let mut docs: Vec<Doc<'_>> = Vec::new();
    for (g, p) in plan.permissions().filter(|(_, p)| p.kind != PermissionKind::Trust) {
        let identity = if p.kind == PermissionKind::Identity { p.principal.as_str() } else { "" };
        let name = format!("{}-{}-{}-{}", g.key, p.holder, p.policy.replace(' ', "_"), identity);
        let mut st = Map::new();
        if let Some(sid) = &p.sid {
            st.insert("Sid".into(), json!(sid));
        }
        st.insert("Effect".into(), json!(format!("{:?}", p.effect)));
        if p.kind == PermissionKind::Resource {
            st.insert("Principal".into(), principal_json(&p.principal));
        }
        st.insert("Action".into(), json!(p.actions));
        let resources: Vec<String> = p.resources.iter().map(|r| resource_for_parliament(r, p, plan)).collect();
        st.insert("Resource".into(), json!(resources));
        if p.conditions.as_object().is_some_and(|c| !c.is_empty()) {
            st.insert("Condition".into(), p.conditions.clone());
        }
        match docs.iter_mut().find(|d| d.name == name) {
            Some(d) => {
                d.perms.push(p);
                d.json["Statement"].as_array_mut().expect("statements").push(Value::Object(st));
            }
            None => docs.push(Doc {
                name,
                perms: vec![p],
                json: json!({"Version": "2012-10-17", "Statement": [Value::Object(st)]}),
            }),
        }
    }
    docs
}

/// Run parliament once over every document; findings per document.
fn audit(docs: &[Doc<'_>]) -> Vec<Vec<Value>> {
    let dir = tempfile::tempdir().expect("tmp");
    let paths: Vec<PathBuf> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let path = dir.path().join(format!("{i}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(&d.json).expect("json")).expect("write");
            path
        })
        .collect();
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let out = Command::new(parliament())
        .args(["--files", &files.join(","), "--json", "--include-community-auditors", "--minimum_severity", "INFO"])
        .stdin(Stdio::null())
        .output()
        .expect("run parliament");
    // 0: no findings; 1: findings. Anything else is parliament failing.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "parliament failed ({:?}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut per_doc = vec![Vec::new(); docs.len()];
    for line in String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()) {
        let f: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("parliament printed `{line}`: {e}"));
        let file = f["location"]["filepath"].as_str().expect("filepath");
        let i = files.iter().position(|x| x == file).unwrap_or_else(|| panic!("finding for unknown file {file}"));
        per_doc[i].push(f);
    }
    per_doc
}

/// The preview flags a finding when a statement of the document carries a flag of one of `kinds`
/// on one of the finding's actions (the flag's written actions may be wildcards).
fn flagged(doc: &Doc<'_>, kinds: &[RiskKind], actions: &[String]) -> bool {
    doc.perms.iter().any(|p| {
        p.risks.iter().filter(|r| kinds.contains(&r.kind)).any(|r| {
            let written = if r.actions.is_empty() { &p.actions } else { &r.actions };
            written.iter().any(|w| actions.iter().any(|a| glob_match(w, a)))
        })
    })
}

fn finding_actions(f: &Value) -> Vec<String> {
    match &f["location"]["actions"] {
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(String::from)).collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Every finding that must be mirrored, with what is wrong; and every finding seen, for the log.
fn unmatched(docs: &[Doc<'_>], findings: &[Vec<Value>]) -> (Vec<String>, Vec<String>) {
    use RiskKind::*;
    let mut missing = Vec::new();
    let mut seen = Vec::new();
    for (doc, fs) in docs.iter().zip(findings) {
        for f in fs {
            let issue = f["issue"].as_str().unwrap_or_default();
            let severity = f["severity"].as_str().unwrap_or_default();
            let actions = finding_actions(f);
            seen.push(format!("{}: {severity} {issue} {actions:?}", doc.name));
            let kinds: &[RiskKind] = match issue {
                "PRIVILEGE_ESCALATION" => &[PrivilegeEscalation, CredentialsExposure],
                "CREDENTIALS_EXPOSURE" => &[CredentialsExposure, PrivilegeEscalation],
                "SENSITIVE_ACCESS" => &[DataAccess],
                // kms:* for the account root is flagged as a wildcard, with the reason.
                "PERMISSIONS_MANAGEMENT_ACTIONS" => {
                    &[PermissionsManagement, PrivilegeEscalation, ResourceExposure, CredentialsExposure, WildcardAction]
                }
                _ if matches!(severity, "HIGH" | "CRITICAL") => {
                    missing.push(format!(
                        "{}: parliament reports {severity} {issue} ({f}), which no preview rule maps",
                        doc.name
                    ));
                    continue;
                }
                _ => continue,
            };
            if actions.is_empty() || !flagged(doc, kinds, &actions) {
                missing.push(format!(
                    "{}: parliament reports {severity} {issue} on {actions:?}; the preview does not flag it",
                    doc.name
                ));
            }
        }
    }
    (missing, seen)
}

#[test]
fn parliament_finds_nothing_high_in_the_plan_that_the_preview_does_not_flag() {
    let plan = aws::build(&vendor(), &choices()).expect("plan");
    let docs = documents(&plan);
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "s3-DataBucketPolicy-bucket_policy-",
            "auth-VendorRole-VendorMachineManagement-acmeml-demo-vendor",
            "auth-DataKey-key_policy-",
            "auth-InstanceDataAccess-DataBucketAndKey-acmeml-demo-instance",
        ]
    );
    let findings = audit(&docs);
    let (missing, seen) = unmatched(&docs, &findings);
    eprintln!("parliament findings:\n  {}", seen.join("\n  "));
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // The vendor role launches machines and passes them a role: parliament's
    // CreateEC2WithExistingIP escalation, which the preview explains on PassRole.
    assert!(
        seen.iter().any(|s| s.contains("VendorMachineManagement") && s.contains("HIGH PRIVILEGE_ESCALATION")),
        "{seen:#?}"
    );
}

/// Risky statements added to the vendor role: parliament's HIGH findings on them are all flagged,
/// and the check fails when the preview's flags are taken away (the test can fail).
#[test]
fn parliament_and_the_preview_agree_on_a_risky_policy() {
    let extra = r#"
              - Sid: RiskyEscalation
                Effect: Allow
                Action: ["iam:PutRolePolicy", "iam:AttachRolePolicy", "sts:AssumeRole", "iam:CreatePolicyVersion"]
                Resource: "*"
              - Sid: RiskyKeys
                Effect: Allow
                Action: ["iam:CreateAccessKey", "sts:GetFederationToken", "ecr:GetAuthorizationToken"]
                Resource: "*"
              - Sid: RiskyBuckets
                Effect: Allow
                Action: "s3:*"
                Resource: "*"
"#;
    let text = std::fs::read_to_string(format!("{}/assets/aws/auth.yaml", env!("CARGO_MANIFEST_DIR"))).expect("read");
    let at = text.find("\n  InstanceRole:\n").expect("InstanceRole");
    let risky = format!("{}{extra}{}", text[..at].trim_end(), &text[at..]);
    let mut blueprint = Blueprint::bundled().expect("blueprint");
    let stack = blueprint.stacks.iter_mut().find(|s| s.key == "auth").expect("auth");
    stack.template = Template::parse("aws/auth.yaml", Box::leak(risky.into_boxed_str())).expect("parse");
    let plan = aws::build_from(&blueprint, &vendor(), &choices()).expect("plan");
    let docs = documents(&plan);
    let findings = audit(&docs);
    let (missing, seen) = unmatched(&docs, &findings);
    eprintln!("parliament findings:\n  {}", seen.join("\n  "));
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let high = seen.iter().filter(|s| s.contains(": HIGH ")).count();
    assert!(high >= 3, "parliament should report several escalations here: {seen:#?}");
    assert!(seen.iter().any(|s| s.contains("CREDENTIALS_EXPOSURE")), "{seen:#?}");

    let mut blind = plan.clone();
    for g in &mut blind.groups {
        for p in &mut g.permissions {
            p.risks.clear();
        }
    }
    let blind_docs = documents(&blind);
    let (missing, _) = unmatched(&blind_docs, &findings);
    assert!(missing.iter().any(|m| m.contains("PRIVILEGE_ESCALATION")), "{missing:#?}");
}
