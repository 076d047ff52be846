//! IAM policy documents → permission entries. Strict on purpose: a statement the preview cannot
//! show exactly (missing Effect, `NotAction`, an unknown principal form) is an error naming the
//! file, the resource and the statement, so nothing is created that was not fully previewed.

use serde_json::Value;

use crate::model::{Effect, Permission, PermissionKind};

/// Where a document sits, for error messages and for the permission entries.
pub struct DocumentSite<'a> {
    pub file: &'a str,
    pub holder: &'a str,
    pub policy: &'a str,
    pub kind: PermissionKind,
    /// For identity policies: the role the statements apply to.
    pub identity: Option<&'a str>,
}

pub fn statements(doc: &Value, site: &DocumentSite<'_>) -> Result<Vec<Permission>, String> {
    let at = |i: usize, sid: Option<&str>, msg: &str| {
        let which = match sid {
            Some(s) => format!("statement {} (Sid {s})", i + 1),
            None => format!("statement {}", i + 1),
        };
        format!("{}: resource {}, policy {}, {which}: {msg}", site.file, site.holder, site.policy)
    };
    let list: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => {
            return Err(format!(
                "{}: resource {}, policy {}: the policy document has no Statement",
                site.file, site.holder, site.policy
            ))
        }
    };
    let mut out = Vec::new();
    for (i, st) in list.into_iter().enumerate() {
        let sid = st.get("Sid").and_then(Value::as_str);
        let effect = match st.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            Some(other) => return Err(at(i, sid, &format!("Effect `{other}` must be Allow or Deny"))),
            None => return Err(at(i, sid, "it has no Effect (Allow or Deny)")),
        };
        for unsupported in ["NotAction", "NotResource", "NotPrincipal"] {
            if st.get(unsupported).is_some() {
                return Err(at(i, sid, &format!("{unsupported} cannot be previewed exactly; list what is granted with Action/Resource/Principal")));
            }
        }
        let actions = string_list(st.get("Action")).ok_or_else(|| at(i, sid, "it has no Action"))?;
        if actions.iter().any(|a| a != "*" && !a.contains(':')) {
            return Err(at(i, sid, "every Action must be `service:Action` or `*`"));
        }
        let resources = match site.kind {
            PermissionKind::Trust => Vec::new(),
            _ => string_list(st.get("Resource")).ok_or_else(|| at(i, sid, "it has no Resource"))?,
        };
        for r in &resources {
            if r != "*" && !r.starts_with("arn:") && !r.starts_with('<') {
                return Err(at(i, sid, &format!("Resource `{r}` is not an ARN or `*`")));
            }
        }
        let conditions = st.get("Condition").cloned().unwrap_or(Value::Object(Default::default()));
        let principals = match (site.kind, site.identity) {
            (PermissionKind::Identity, Some(role)) => vec![role.to_string()],
            _ => principals(st.get("Principal")).map_err(|m| at(i, sid, &m))?,
        };
        for principal in principals {
            out.push(Permission {
                principal,
                kind: site.kind,
                holder: site.holder.to_string(),
                policy: site.policy.to_string(),
                sid: sid.map(String::from),
                effect,
                actions: actions.clone(),
                resources: resources.clone(),
                conditions: conditions.clone(),
                // Filled in once the whole plan is known (crate::permissions).
                access_level: None,
                access: Vec::new(),
                risks: Vec::new(),
                source: None,
            });
        }
    }
    Ok(out)
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() => a.iter().map(|x| x.as_str().map(String::from)).collect(),
        _ => None,
    }
}

/// `"*"`, `{AWS: …}`, `{Service: …}`, `{Federated: …}`, `{CanonicalUser: …}`.
fn principals(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None => Err("it has no Principal".into()),
        Some(Value::String(s)) if s == "*" => Ok(vec!["*".into()]),
        Some(Value::Object(m)) if !m.is_empty() => {
            let mut out = Vec::new();
            for (form, value) in m {
                if !["AWS", "Service", "Federated", "CanonicalUser"].contains(&form.as_str()) {
                    return Err(format!(
                        "unknown principal form `{form}`: expected AWS, Service, Federated or CanonicalUser"
                    ));
                }
                let list = string_list(Some(value))
                    .ok_or_else(|| format!("Principal {form} must be a string or a list of strings"))?;
                for p in list {
                    if form == "AWS"
                        && p != "*"
                        && !p.starts_with("arn:")
                        && !p.starts_with('<')
                        && !(p.len() == 12 && p.chars().all(|c| c.is_ascii_digit()))
                    {
                        return Err(format!("Principal AWS `{p}` is not an ARN, an account id or `*`"));
                    }
                    out.push(p);
                }
            }
            Ok(out)
        }
        Some(other) => Err(format!("Principal `{other}` is not `*` or a mapping such as {{AWS: ARN}}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn site(kind: PermissionKind) -> DocumentSite<'static> {
        DocumentSite { file: "auth.yaml", holder: "VendorRole", policy: "P", kind, identity: Some("role-x") }
    }

    #[test]
    fn bad_statements_are_named() {
        let cases = [
            (json!({"Statement": [{"Action": "s3:GetObject", "Resource": "*"}]}), "statement 1: it has no Effect"),
            (
                json!({"Statement": [{"Sid": "X", "Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}]}),
                "(Sid X): Effect `Maybe`",
            ),
            (
                json!({"Statement": [{"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}]}),
                "NotAction cannot be previewed",
            ),
            (json!({"Statement": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]}), "service:Action"),
            (
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket"}]}),
                "is not an ARN",
            ),
            (json!({}), "has no Statement"),
        ];
        for (doc, needle) in cases {
            let e = statements(&doc, &site(PermissionKind::Identity)).expect_err(needle);
            assert!(e.starts_with("auth.yaml: resource VendorRole, policy P"), "{e}");
            assert!(e.contains(needle), "{e}");
        }
        let trust = json!({"Statement": {"Effect": "Allow", "Principal": {"User": "x"}, "Action": "sts:AssumeRole"}});
        let e = statements(&trust, &site(PermissionKind::Trust)).expect_err("principal");
        assert!(e.contains("unknown principal form `User`"), "{e}");
        let trust =
            json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": "vendor"}, "Action": "sts:AssumeRole"}});
        assert!(statements(&trust, &site(PermissionKind::Trust)).expect_err("arn").contains("not an ARN"));
    }

    #[test]
    fn one_entry_per_principal() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:root", "222233334444"], "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let p = statements(&doc, &site(PermissionKind::Trust)).expect("ok");
        let who: Vec<&str> = p.iter().map(|p| p.principal.as_str()).collect();
        assert_eq!(who, ["arn:aws:iam::111122223333:root", "222233334444", "ec2.amazonaws.com"]);
    }
}
