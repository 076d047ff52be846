//! The scanner checks a template sets aside on purpose, read from the very metadata checkov reads
//! for its inline skips, so that the preview's "Not done, on purpose" and the scan can never
//! disagree (tests/scan_checkov.rs runs checkov and compares the two).
//!
//! The two forms are checkov's own (version pinned in tests/run.sh; read from its sources):
//! - CloudFormation (`checkov/cloudformation/context_parser.py`): a resource's
//!   `Metadata: {checkov: {skip: [{id: CKV_…, comment: …}]}}`.
//! - ARM (`checkov/arm/context_parser.py`): a resource's `"metadata": {"checkov": ["CKV_…: reason"]}`
//!   (one string or a list); checkov takes the leading id and the text after its colon.
//!
//! Every skip must say why: one without a reason is refused with where it is, never shown as a
//! silent exception.

use serde_json::Value;

use crate::model::Exception;

/// Which template language the metadata comes from: each has its own skip form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    CloudFormation,
    Arm,
}

/// The exceptions in a resource's metadata (`Metadata` / `metadata`, or `None` without one).
/// The error says what is wrong and how to write it; the caller adds the resource.
pub fn read(metadata: Option<&Value>, dialect: Dialect) -> Result<Vec<Exception>, String> {
    let Some(entries) = metadata.and_then(|m| m.get("checkov")) else { return Ok(Vec::new()) };
    let out = match dialect {
        Dialect::CloudFormation => cloudformation(entries)?,
        Dialect::Arm => arm(entries)?,
    };
    for (i, e) in out.iter().enumerate() {
        if out[..i].iter().any(|o| o.check == e.check) {
            return Err(format!("checkov skips {0} twice: write `{0}` once, with one reason", e.check));
        }
    }
    Ok(out)
}

fn is_check_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

const CFN_FORM: &str = "write `checkov: {skip: [{id: CKV_…, comment: <why it is not done>}]}`";

fn cloudformation(entries: &Value) -> Result<Vec<Exception>, String> {
    let skip = entries
        .get("skip")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("Metadata.checkov has no `skip` list: {CFN_FORM}"))?;
    skip.iter()
        .enumerate()
        .map(|(i, s)| {
            let id = s.get("id").and_then(Value::as_str).map(str::trim).unwrap_or_default();
            let comment = s.get("comment").and_then(Value::as_str).map(str::trim).unwrap_or_default();
            if !is_check_id(id) {
                return Err(format!("Metadata.checkov.skip[{i}] has no check id: {CFN_FORM}"));
            }
            if comment.is_empty() {
                return Err(format!("Metadata.checkov.skip[{i}] ({id}) gives no reason: {CFN_FORM}"));
            }
            Ok(Exception { check: id.to_string(), reason: comment.to_string() })
        })
        .collect()
}

const ARM_FORM: &str = "write `\"checkov\": [\"CKV_…: <why it is not done>\"]`";

fn arm(entries: &Value) -> Result<Vec<Exception>, String> {
    let items: Vec<&Value> = match entries {
        Value::Array(a) => a.iter().collect(),
        one => vec![one],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let text = item.as_str().ok_or_else(|| format!("metadata.checkov[{i}] is not a string: {ARM_FORM}"))?;
            let (id, reason) = text
                .split_once(':')
                .ok_or_else(|| format!("metadata.checkov[{i}] `{text}` has no reason: {ARM_FORM}"))?;
            // checkov takes the first run of capitals, digits and `_` as the id: anything before
            // it would make the two read different checks.
            if !is_check_id(id) {
                return Err(format!("metadata.checkov[{i}] `{text}` does not start with a check id: {ARM_FORM}"));
            }
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(format!("metadata.checkov[{i}] ({id}) gives no reason: {ARM_FORM}"));
            }
            Ok(Exception { check: id.to_string(), reason: reason.to_string() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ex(check: &str, reason: &str) -> Exception {
        Exception { check: check.into(), reason: reason.into() }
    }

    #[test]
    fn both_forms_read_as_checkov_reads_them() {
        let cfn = json!({"cloudgrant": {"why": "x"}, "checkov": {"skip": [{"id": "CKV_AWS_18", "comment": " No logging. "}]}});
        assert_eq!(read(Some(&cfn), Dialect::CloudFormation), Ok(vec![ex("CKV_AWS_18", "No logging.")]));
        let arm_list = json!({"checkov": ["CKV_AZURE_110: No purge protection: revoke deletes it."]});
        assert_eq!(
            read(Some(&arm_list), Dialect::Arm),
            Ok(vec![ex("CKV_AZURE_110", "No purge protection: revoke deletes it.")])
        );
        let arm_one = json!({"checkov": "CKV_AZURE_35: open"});
        assert_eq!(read(Some(&arm_one), Dialect::Arm), Ok(vec![ex("CKV_AZURE_35", "open")]));
        assert_eq!(read(Some(&json!({"cloudgrant": {}})), Dialect::Arm), Ok(vec![]));
        assert_eq!(read(None, Dialect::CloudFormation), Ok(vec![]));
    }

    #[test]
    fn a_skip_without_a_reason_or_an_id_is_refused_with_the_form_to_use() {
        for (meta, dialect, says) in [
            (json!({"checkov": {"skip": [{"id": "CKV_AWS_18"}]}}), Dialect::CloudFormation, "gives no reason"),
            (json!({"checkov": {"skip": [{"comment": "why"}]}}), Dialect::CloudFormation, "no check id"),
            (json!({"checkov": ["CKV_AZURE_35"]}), Dialect::Arm, "has no reason"),
            (json!({"checkov": ["CKV_AZURE_35:  "]}), Dialect::Arm, "gives no reason"),
            (json!({"checkov": ["skip CKV_AZURE_35: why"]}), Dialect::Arm, "does not start with a check id"),
            (json!({"checkov": [{"id": "CKV_AZURE_35"}]}), Dialect::Arm, "not a string"),
            // The other language's form: checkov would not read it, so neither does the preview.
            (json!({"checkov": ["CKV_AWS_18: why"]}), Dialect::CloudFormation, "no `skip` list"),
            (json!({"checkov": ["CKV_AZURE_35: a", "CKV_AZURE_35: b"]}), Dialect::Arm, "twice"),
        ] {
            let e = read(Some(&meta), dialect).expect_err("refused");
            assert!(e.contains(says), "{e}");
            assert!(e.contains("write `"), "names the form: {e}");
        }
    }
}
