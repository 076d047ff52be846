//! Where a statement was written: found by scanning the template text (the resource's logical id,
//! then the policy inside it, then the statement's Sid or its position), so the preview can point at
//! `aws/auth.yaml:63`.

use serde_json::Value;

use super::SourceLocation;
use crate::model::{Permission, PermissionKind};

/// Which policy document of a resource: a key (`AssumeRolePolicyDocument`, `KeyPolicy`,
/// `PolicyDocument`) or a list item (`PolicyName: X` of a role's inline `Policies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor<'a> {
    pub key: &'a str,
    pub value: Option<&'a str>,
}

impl<'a> Anchor<'a> {
    pub fn key(key: &'a str) -> Anchor<'a> {
        Anchor { key, value: None }
    }

    pub fn item(key: &'a str, value: &'a str) -> Anchor<'a> {
        Anchor { key, value: Some(value) }
    }
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(s)
}

/// `key: value` on this line (after an optional list dash): (column of the key, value).
fn key_value<'l>(line: &'l str, key: &str) -> Option<(usize, &'l str)> {
    let t = line.trim_start();
    let (col, t) = match t.strip_prefix("- ") {
        Some(rest) => (indent(line) + 2 + (rest.len() - rest.trim_start().len()), rest.trim_start()),
        None => (indent(line), t),
    };
    let rest = t.strip_prefix(key)?;
    let rest = rest.strip_prefix(':')?;
    Some((col, rest.trim()))
}

/// The value of `Sid:` anywhere on the line (block or flow style).
fn sid_on(line: &str) -> Option<&str> {
    let at = line.find("Sid:")?;
    let rest = &line[at + 4..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(unquote(&rest[..end]))
}

/// The 1-based line of a statement: in resource `resource_id`, policy `anchor`, the statement with
/// this Sid, or else the `index`-th (0-based) statement. Falls back to the policy's line, then the
/// resource's; `None` only when the resource is not in the text.
pub fn locate(text: &str, resource_id: &str, anchor: Anchor<'_>, sid: Option<&str>, index: usize) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let resources = lines.iter().position(|l| l.trim_end() == "Resources:")?;
    // Logical ids sit at the indentation of the first entry under `Resources:`.
    let res_indent = (resources + 1..lines.len()).find(|&i| !blank(lines[i])).map(|i| indent(lines[i]))?;
    let start = (resources + 1..lines.len()).find(|&i| {
        let t = lines[i].trim();
        !blank(lines[i]) && indent(lines[i]) == res_indent && t.strip_suffix(':').map(unquote) == Some(resource_id)
    })?;
    let end =
        (start + 1..lines.len()).find(|&i| !blank(lines[i]) && indent(lines[i]) <= res_indent).unwrap_or(lines.len());
    let Some((sec, col)) = (start + 1..end).find_map(|i| {
        let (col, value) = key_value(lines[i], anchor.key)?;
        (anchor.value.is_none() || anchor.value == Some(unquote(value))).then_some((i, col))
    }) else {
        return Some(start + 1);
    };
    // A mapping key's content is indented deeper; a list item's stays at the key's column.
    let item = lines[sec].trim_start().starts_with("- ");
    let sec_end = (sec + 1..end)
        .find(|&i| !blank(lines[i]) && if item { indent(lines[i]) < col } else { indent(lines[i]) <= col })
        .unwrap_or(end);
    if let Some(sid) = sid {
        if let Some(i) = (sec..sec_end).find(|&i| sid_on(lines[i]) == Some(sid)) {
            return Some(statement_start(&lines, sec, i) + 1);
        }
    }
    let Some(st) = (sec..sec_end).find(|&i| key_value(lines[i], "Statement").is_some()) else {
        return Some(sec + 1);
    };
    let first_item = (st + 1..sec_end).find(|&i| !blank(lines[i]));
    match first_item {
        Some(i) if lines[i].trim_start().starts_with("- ") => {
            let dash = indent(lines[i]);
            let items: Vec<usize> = (st + 1..sec_end)
                .filter(|&j| indent(lines[j]) == dash && lines[j].trim_start().starts_with("- "))
                .collect();
            Some(items.get(index).or(items.first()).map_or(st + 1, |j| j + 1))
        }
        Some(i) => Some(i + 1),
        None => Some(st + 1),
    }
}

/// The line where the statement containing line `at` begins (its list dash).
fn statement_start(lines: &[&str], from: usize, at: usize) -> usize {
    if lines[at].trim_start().starts_with("- ") {
        return at;
    }
    let col = indent(lines[at]);
    (from..at).rev().find(|&i| lines[i].trim_start().starts_with("- ") && indent(lines[i]) + 2 == col).unwrap_or(at)
}

/// How many permission entries a statement becomes: one per principal (one for identity policies).
fn entries(statement: &Value, kind: PermissionKind) -> usize {
    if kind == PermissionKind::Identity {
        return 1;
    }
    match statement.get("Principal") {
        Some(Value::Object(m)) => {
            m.values().map(|v| if let Value::Array(a) = v { a.len() } else { 1 }).sum::<usize>().max(1)
        }
        _ => 1,
    }
}

/// Set `source` on the entries one policy document produced (in statement order).
pub fn attach(perms: &mut [Permission], doc: &Value, text: &str, file: &str, resource_id: &str, anchor: Anchor<'_>) {
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    };
    let mut next = perms.iter_mut();
    for (index, st) in statements.iter().enumerate() {
        let sid = st.get("Sid").and_then(Value::as_str);
        let kind = next.as_slice().first().map(|p| p.kind).unwrap_or(PermissionKind::Identity);
        let line = locate(text, resource_id, anchor, sid, index);
        for p in next.by_ref().take(entries(st, kind)) {
            p.source = line.map(|line| SourceLocation { file: file.to_string(), line });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Sid: Trust
            Effect: Allow
      Policies:
        - PolicyName: First
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: a:B
              - Effect: Allow
                Sid: Second
                Action: a:C
        - PolicyName: \"Other\"
          PolicyDocument:
            Statement:
              - {Sid: Flow, Effect: Allow}
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          Effect: Allow
";

    #[test]
    fn statements_are_found_by_resource_policy_and_sid() {
        assert_eq!(locate(T, "Role", Anchor::key("AssumeRolePolicyDocument"), Some("Trust"), 0), Some(7));
        assert_eq!(locate(T, "Role", Anchor::item("PolicyName", "First"), None, 0), Some(13));
        assert_eq!(locate(T, "Role", Anchor::item("PolicyName", "First"), Some("Second"), 1), Some(15));
        assert_eq!(locate(T, "Role", Anchor::item("PolicyName", "Other"), Some("Flow"), 0), Some(21));
        assert_eq!(locate(T, "Key", Anchor::key("KeyPolicy"), None, 0), Some(27));
        // Not found: the policy, then the resource.
        assert_eq!(locate(T, "Role", Anchor::item("PolicyName", "First"), None, 5), Some(13));
        assert_eq!(locate(T, "Key", Anchor::key("Nope"), None, 0), Some(22));
        assert_eq!(locate(T, "Missing", Anchor::key("KeyPolicy"), None, 0), None);
    }
}
