//! IAM condition blocks in words, and lookups of the keys the risk rules care about.

use serde_json::Value;

fn values(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().flat_map(values).collect(),
        Value::String(s) => vec![s.clone()],
        Value::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}

/// The values a condition key is compared with, under any operator (key compared
/// case-insensitively, as IAM does).
pub fn values_of(conditions: &Value, key: &str) -> Option<Vec<String>> {
    let ops = conditions.as_object()?;
    let mut found: Option<Vec<String>> = None;
    for block in ops.values() {
        for (k, v) in block.as_object().into_iter().flatten() {
            if k.eq_ignore_ascii_case(key) {
                found.get_or_insert_with(Vec::new).extend(values(v));
            }
        }
    }
    found
}

fn operator_words(op: &str) -> (String, &'static str) {
    let (prefix, rest) = match op.split_once(':') {
        Some((set, rest)) => {
            (format!("{} ", set.replace("ForAnyValue", "any of").replace("ForAllValues", "all of")), rest)
        }
        None => (String::new(), op),
    };
    let base = rest.trim_end_matches("IfExists");
    let words = match base {
        "StringEquals" | "ArnEquals" | "NumericEquals" | "DateEquals" | "Bool" | "BinaryEquals" | "IpAddress" => "=",
        "StringEqualsIgnoreCase" => "= (any case)",
        "StringNotEquals" | "ArnNotEquals" | "NumericNotEquals" | "DateNotEquals" | "NotIpAddress" => "≠",
        "StringNotEqualsIgnoreCase" => "≠ (any case)",
        "StringLike" | "ArnLike" => "matches",
        "StringNotLike" | "ArnNotLike" => "does not match",
        "NumericLessThan" | "DateLessThan" => "<",
        "NumericLessThanEquals" | "DateLessThanEquals" => "≤",
        "NumericGreaterThan" | "DateGreaterThan" => ">",
        "NumericGreaterThanEquals" | "DateGreaterThanEquals" => "≥",
        "Null" => "is absent =",
        _ => "?",
    };
    (prefix, words)
}

/// `aws:ResourceTag/managed-by = acmeml; ec2:InstanceType = one of m6i.large, g5.xlarge`, or
/// `None` without conditions.
pub fn describe(conditions: &Value) -> Option<String> {
    let ops = conditions.as_object()?;
    let mut parts = Vec::new();
    for (op, block) in ops {
        // An Azure role assignment's own condition (ABAC) is an expression, shown as written.
        if op == "condition" {
            if let Some(c) = block.as_str() {
                parts.push(format!("role condition {c}"));
            }
            continue;
        }
        let (set, words) = operator_words(op);
        let words = if words == "?" { op.as_str() } else { words };
        for (key, v) in block.as_object().into_iter().flatten() {
            let vals = values(v);
            let shown = match vals.as_slice() {
                [one] => one.clone(),
                many => format!("one of {}", many.join(", ")),
            };
            let if_exists = if op.ends_with("IfExists") { " (when present)" } else { "" };
            parts.push(format!("{set}{key} {words} {shown}{if_exists}"));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_read_as_sentences() {
        let c = json!({"StringEquals": {"aws:ResourceTag/managed-by": "acmeml", "ec2:InstanceType": ["m6i.large", "g5.xlarge"]}, "Bool": {"aws:SecureTransport": "false"}});
        assert_eq!(
            describe(&c).as_deref(),
            Some("aws:ResourceTag/managed-by = acmeml; ec2:InstanceType = one of m6i.large, g5.xlarge; aws:SecureTransport = false")
        );
        assert_eq!(describe(&json!({})), None);
        assert_eq!(
            describe(&json!({"ForAllValues:StringLike": {"aws:TagKeys": ["managed-by"]}})).as_deref(),
            Some("all of aws:TagKeys matches managed-by")
        );
        assert_eq!(values_of(&c, "EC2:instancetype"), Some(vec!["m6i.large".to_string(), "g5.xlarge".to_string()]));
        assert_eq!(values_of(&c, "sts:ExternalId"), None);
        let azure = json!({"principalType": "ServicePrincipal", "condition": "(@Environment[isPrivateLink] BoolEquals true)", "conditionVersion": "2.0"});
        assert_eq!(describe(&azure).as_deref(), Some("role condition (@Environment[isPrivateLink] BoolEquals true)"));
        assert_eq!(describe(&json!({"principalType": "ServicePrincipal"})), None);
    }
}
