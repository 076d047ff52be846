//! The deployment stacks of a pack's Azure templates: every `azure/*.json` is one stack, its
//! key the file's stem. What cloudgrant needs to know of a stack is declared in the template's
//! own `metadata.cloudgrant` block (docs/vendor-packs.md, "Azure stacks"):
//!
//! - `fate`: `"detach"` (kept on revoke with its data) or `"delete"` (removed on revoke);
//! - `after`: the keys of the stacks created before it;
//! - `inputs`: `{"<parameter>": "<stack key>.<output>"}`, a value passed on from a stack created
//!   earlier (its output as the template computes it, known before anything is deployed);
//! - `publish`: `{"<install value>": "<output>"}`, the outputs status, the receipt and Done show
//!   under the install's names (`send_to_vendor` lists the ones sent to the vendor).
//!
//! Nothing here knows the bundled pack's stacks by name.

use serde_json::{Map, Value};

use super::PlanError;
use crate::vendor::VendorProfile;

/// What revoke does to a stack and everything it manages (`actionOnUnmanage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Let go of: every resource stays as it is, with its data.
    Detach,
    /// Removed with everything the stack manages.
    Delete,
}

impl Fate {
    pub fn word(self) -> &'static str {
        match self {
            Fate::Detach => "detach",
            Fate::Delete => "delete",
        }
    }
}

/// One stack as its template declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct StackDef {
    /// The file's stem (`storage` for `azure/storage.json`).
    pub key: String,
    /// The pack file (`azure/storage.json`).
    pub file: &'static str,
    pub text: &'static str,
    pub template: Value,
    pub fate: Fate,
    /// Keys of the stacks created before it (`after`, and every stack an input comes from).
    pub after: Vec<String>,
    /// parameter → (stack key, output).
    pub inputs: Vec<(String, String, String)>,
    /// install value name → output.
    pub publish: Vec<(String, String)>,
    /// Whether it takes the vendor's service principal object id ([`super::VENDOR_PRINCIPAL_PARAM`]).
    pub needs_principal: bool,
}

/// The name of a stack (and, by the templates' convention, of the resource group it makes): the
/// stack keyed `main` is `<vendor>-<org>`, any other `<vendor>-<org>-<key>`.
pub fn stack_name(vendor_id: &str, org: &str, key: &str) -> String {
    if key == "main" {
        format!("{vendor_id}-{org}")
    } else {
        format!("{vendor_id}-{org}-{key}")
    }
}

fn invalid(file: &str, message: String) -> PlanError {
    PlanError::Invalid(format!("{file}: {message}"))
}

fn read(file: &'static str, text: &'static str) -> Result<StackDef, PlanError> {
    let template: Value = serde_json::from_str(text).map_err(|e| invalid(file, format!("not valid JSON: {e}")))?;
    let key = file.trim_start_matches("azure/").trim_end_matches(".json").to_string();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Err(invalid(
            file,
            "a stack's file name must be lowercase letters, digits and `-` (it names the stack)".into(),
        ));
    }
    let meta = template.pointer("/metadata/cloudgrant").cloned().unwrap_or(Value::Null);
    let fate = match meta.get("fate").and_then(Value::as_str) {
        Some("detach") => Fate::Detach,
        Some("delete") => Fate::Delete,
        Some(other) => return Err(invalid(file, format!("metadata.cloudgrant.fate `{other}` is no fate cloudgrant can state on revoke: use \"detach\" (kept with its data) or \"delete\" (removed)"))),
        None => return Err(invalid(file, "has no metadata.cloudgrant.fate: say what revoke does to this stack, \"detach\" (kept with its data) or \"delete\" (removed)".into())),
    };
    let strings = |k: &str| -> Result<Vec<String>, PlanError> {
        match meta.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .ok_or_else(|| invalid(file, format!("metadata.cloudgrant.{k} must list strings")))
                })
                .collect(),
            Some(_) => Err(invalid(file, format!("metadata.cloudgrant.{k} must be a list of strings"))),
        }
    };
    let table = |k: &str| -> Result<Vec<(String, String)>, PlanError> {
        match meta.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Object(m)) => m
                .iter()
                .map(|(a, b)| {
                    b.as_str()
                        .map(|b| (a.clone(), b.to_string()))
                        .ok_or_else(|| invalid(file, format!("metadata.cloudgrant.{k}.{a} must be a string")))
                })
                .collect(),
            Some(_) => Err(invalid(file, format!("metadata.cloudgrant.{k} must be an object of strings"))),
        }
    };
    let declared: Map<String, Value> =
        template.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
    let outputs: Map<String, Value> = template.get("outputs").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut after = strings("after")?;
    let mut inputs = Vec::new();
    for (param, from) in table("inputs")? {
        let Some((stack, output)) = from.split_once('.') else {
            return Err(invalid(file, format!("metadata.cloudgrant.inputs.{param} is `{from}`: write `<stack key>.<output>` (e.g. `storage.dataAccountName`)")));
        };
        if !declared.contains_key(&param) {
            return Err(invalid(
                file,
                format!("metadata.cloudgrant.inputs names `{param}`, which is not a parameter of the template"),
            ));
        }
        if !after.iter().any(|a| a == stack) {
            after.push(stack.to_string());
        }
        inputs.push((param, stack.to_string(), output.to_string()));
    }
    let publish = table("publish")?;
    for (name, output) in &publish {
        if !outputs.contains_key(output) {
            return Err(invalid(
                file,
                format!("metadata.cloudgrant.publish.{name} names `{output}`, which is not an output of the template"),
            ));
        }
    }
    Ok(StackDef {
        needs_principal: declared.contains_key(super::VENDOR_PRINCIPAL_PARAM),
        key,
        file,
        text,
        template,
        fate,
        after,
        inputs,
        publish,
    })
}

/// The pack's Azure stacks in creation order: each after the stacks it names (`after`, `inputs`);
/// otherwise in the order of their file names.
pub fn stacks(vendor: &VendorProfile) -> Result<Vec<StackDef>, PlanError> {
    let mut pending: Vec<StackDef> = Vec::new();
    for f in vendor.pack.files_under("azure").into_iter().filter(|f| f.path.ends_with(".json")) {
        pending.push(read(f.path, f.text).map_err(|e| match e {
            PlanError::Invalid(m) => PlanError::Invalid(m.replacen(f.path, &vendor.pack.display_path(f.path), 1)),
            other => other,
        })?);
    }
    if pending.is_empty() {
        return Err(PlanError::Invalid(format!(
            "{}: the vendor pack has no Azure template (azure/*.json)",
            vendor.pack.display_path("azure")
        )));
    }
    // Revoke deletes the one `delete` stack (the vendor's access) first, then detaches the one
    // `detach` stack: a second stack of either fate could not be revoked in a stated order.
    for fate in [Fate::Delete, Fate::Detach] {
        let same: Vec<&str> = pending.iter().filter(|s| s.fate == fate).map(|s| s.file).collect();
        if same.len() > 1 {
            return Err(PlanError::Invalid(format!(
                "{}: {} Azure stacks say fate `{}`; cloudgrant revokes one stack of each fate — merge their templates into one",
                vendor.pack.display_path("azure"),
                same.len(),
                fate.word()
            )));
        }
    }
    for s in &pending {
        for a in &s.after {
            if !pending.iter().any(|o| &o.key == a) {
                return Err(PlanError::Invalid(format!(
                    "{}: it comes after the stack `{a}`, which the pack does not have (azure/{a}.json)",
                    vendor.pack.display_path(s.file)
                )));
            }
        }
    }
    let mut ordered: Vec<StackDef> = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|s| s.after.iter().all(|a| ordered.iter().any(|o| &o.key == a)));
        let Some(i) = ready else {
            let keys: Vec<&str> = pending.iter().map(|s| s.key.as_str()).collect();
            return Err(PlanError::Invalid(format!(
                "the Azure stacks {} wait for each other (metadata.cloudgrant.after / inputs): no order can create them",
                keys.join(", ")
            )));
        };
        ordered.push(pending.remove(i));
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn def(meta: Value) -> Result<StackDef, PlanError> {
        let t = serde_json::json!({
            "metadata": {"cloudgrant": meta},
            "parameters": {"a": {"type": "string"}},
            "outputs": {"o": {"type": "string", "value": "x"}},
            "resources": []
        });
        read("azure/x.json", leak(t.to_string()))
    }

    #[test]
    fn a_stack_declares_its_fate_order_inputs_and_published_outputs() {
        let d =
            def(serde_json::json!({"fate": "delete", "inputs": {"a": "data.o"}, "publish": {"O": "o"}})).expect("def");
        assert_eq!(d.key, "x");
        assert_eq!(d.fate, Fate::Delete);
        assert_eq!(d.after, ["data"]);
        assert_eq!(d.inputs, [("a".to_string(), "data".to_string(), "o".to_string())]);
        assert_eq!(d.publish, [("O".to_string(), "o".to_string())]);
        assert!(!d.needs_principal);
    }

    #[test]
    fn a_missing_or_unknown_fate_and_bad_wiring_are_refused_by_name() {
        let e = def(serde_json::json!({})).expect_err("no fate").to_string();
        assert!(e.contains("metadata.cloudgrant.fate") && e.contains("azure/x.json"), "{e}");
        let e = def(serde_json::json!({"fate": "keep"})).expect_err("bad fate").to_string();
        assert!(e.contains("`keep`"), "{e}");
        let e = def(serde_json::json!({"fate": "detach", "inputs": {"b": "s.o"}})).expect_err("param").to_string();
        assert!(e.contains("`b`"), "{e}");
        let e = def(serde_json::json!({"fate": "detach", "inputs": {"a": "so"}})).expect_err("form").to_string();
        assert!(e.contains("<stack key>.<output>"), "{e}");
        let e = def(serde_json::json!({"fate": "detach", "publish": {"N": "nope"}})).expect_err("output").to_string();
        assert!(e.contains("`nope`"), "{e}");
    }

    #[test]
    fn the_bundled_stacks_come_storage_first() {
        let v = VendorProfile::bundled().expect("bundled");
        let s = stacks(&v).expect("stacks");
        let keys: Vec<(&str, Fate)> = s.iter().map(|d| (d.key.as_str(), d.fate)).collect();
        assert_eq!(keys, [("storage", Fate::Detach), ("main", Fate::Delete)]);
        assert_eq!(stack_name("acme", "o", "main"), "acme-o");
        assert_eq!(stack_name("acme", "o", "storage"), "acme-o-storage");
    }
}
