//! Exactness of the Azure permissions: every role assignment of `assets/azure/*.json`, found by a
//! plain walk of the JSON (no plan code), with its role resolved independently — a built-in role
//! through `assets/permissions/azure-roles.json` read here with serde_json, the custom role from
//! the template itself — is in the Plan as exactly those actions and data actions, for that
//! principal on that scope, and nothing else is; and the Preview's Permissions tab lists exactly
//! those actions.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests: a panic is the failure report

mod tui_support;

use std::collections::{BTreeMap, BTreeSet};

use cloudgrant::model::{Effect, PermissionKind, Plan};
use cloudgrant::tui::screens::preview::{self, Tab};
use cloudgrant::tui::{Action, App};
use ratatui::layout::Rect;
use serde_json::{Map, Value};
use tui_support::*;

fn read(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The few ARM expressions the templates name things with: string literals, `parameters('x')`,
/// `variables('x')` and `format('…{0}…', …)`. Anything else (`reference`, `guid`, `resourceId`) is
/// unknown here, and `None`.
struct Ctx {
    parameters: BTreeMap<String, String>,
    variables: Map<String, Value>,
}

impl Ctx {
    fn eval(&self, value: &str) -> Option<String> {
        match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            Some(expr) => self.expr(expr.trim()),
            None => Some(value.to_string()),
        }
    }

    fn expr(&self, e: &str) -> Option<String> {
        if let Some(lit) = e.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
            return Some(lit.to_string());
        }
        let (name, args) = e.split_once('(')?;
        let args = split_args(args.strip_suffix(')')?);
        match name {
            "parameters" => self.parameters.get(&self.expr(&args[0])?).cloned(),
            "variables" => self.variables.get(&self.expr(&args[0])?)?.as_str().and_then(|v| self.eval(v)),
            "format" => {
                let mut out = self.expr(&args[0])?;
                for (i, a) in args[1..].iter().enumerate() {
                    out = out.replace(&format!("{{{i}}}"), &self.expr(a)?);
                }
                Some(out)
            }
            _ => None,
        }
    }
}

/// Top-level arguments of a call, split at commas outside quotes and parentheses.
fn split_args(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0, false);
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// The first GUID written in `text`.
fn guid_in(text: &str) -> Option<String> {
    let is_guid = |w: &str| {
        let g: Vec<&str> = w.split('-').collect();
        g.len() == 5
            && g.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
    };
    (0..text.len().saturating_sub(35)).map(|i| &text[i..i + 36]).find(|w| is_guid(w)).map(str::to_lowercase)
}

/// The `variables('x')` names an expression mentions.
fn variable_refs(e: &str) -> Vec<String> {
    e.split("variables('").skip(1).filter_map(|p| p.split_once('\'').map(|(n, _)| n.to_string())).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    /// The template's id of the role assignment.
    holder: String,
    /// `vendor` or `identity`.
    principal: &'static str,
    /// The scope as an ARM id.
    scope: String,
    actions: Vec<String>,
    refused: Vec<String>,
}

const VENDOR_ID: &str = "acmeml";
const ORG: &str = "demo";

/// Every role assignment in one template (and the templates nested in it), evaluated in `ctx`;
/// `group` is the resource group the template deploys into, if any.
fn walk(template: &Value, ctx: &Ctx, group: Option<&str>, roles: &[Value], out: &mut Vec<Expected>) {
    let resources = template["resources"].as_array().unwrap();
    for r in resources {
        let type_ = r["type"].as_str().unwrap();
        if type_ == "Microsoft.Resources/deployments" {
            let inner = &r["properties"]["template"];
            let rg = r["resourceGroup"].as_str().and_then(|g| ctx.eval(g));
            let mut parameters = BTreeMap::new();
            for (k, v) in r["properties"]["parameters"].as_object().unwrap() {
                if let Some(s) = v["value"].as_str().and_then(|s| ctx.eval(s)) {
                    parameters.insert(k.clone(), s);
                } else if let Some(s) = v["value"].as_str() {
                    // Unknown before Azure runs it (a reference); kept as written, to say whose it is.
                    parameters.insert(k.clone(), format!("<{s}>"));
                }
            }
            let variables = inner["variables"].as_object().cloned().unwrap_or_default();
            walk(inner, &Ctx { parameters, variables }, rg.as_deref().or(group), roles, out);
            continue;
        }
        if type_ != "Microsoft.Authorization/roleAssignments" {
            continue;
        }
        let holder = r["metadata"]["cloudgrant"]["id"].as_str().unwrap().to_string();
        let props = &r["properties"];
        let definition = props["roleDefinitionId"].as_str().unwrap();
        // The definition's text with its variables substituted, as far as they are plain strings.
        let mut text = definition.to_string();
        for v in variable_refs(definition) {
            text.push_str(ctx.variables.get(&v).and_then(Value::as_str).unwrap_or_default());
        }
        let (actions, refused) = match guid_in(&text) {
            Some(guid) => {
                let role = roles
                    .iter()
                    .find(|x| x["id"].as_str().unwrap().eq_ignore_ascii_case(&guid))
                    .unwrap_or_else(|| panic!("{holder}: built-in role {guid} is not in azure-roles.json"));
                let list = |k: &str| role[k].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string());
                (
                    list("actions").chain(list("dataActions")).collect::<Vec<_>>(),
                    list("notActions").chain(list("notDataActions")).collect::<Vec<_>>(),
                )
            }
            None => {
                // A custom role of the same template, named by the same variable.
                let refs = variable_refs(definition);
                let def = resources
                    .iter()
                    .find(|d| {
                        d["type"] == "Microsoft.Authorization/roleDefinitions"
                            && variable_refs(d["name"].as_str().unwrap()).iter().any(|n| refs.contains(n))
                    })
                    .unwrap_or_else(|| panic!("{holder}: no role definition for {definition}"));
                let perms = def["properties"]["permissions"].as_array().unwrap();
                let all = |k: &str| {
                    perms
                        .iter()
                        .flat_map(|p| p[k].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()))
                        .collect::<Vec<_>>()
                };
                let mut a = all("actions");
                a.extend(all("dataActions"));
                let mut n = all("notActions");
                n.extend(all("notDataActions"));
                (a, n)
            }
        };
        let principal_expr = props["principalId"].as_str().unwrap();
        let via = principal_expr.trim_start_matches('[').split("parameters('").nth(1).and_then(|p| p.split_once('\''));
        let passed = via.and_then(|(p, _)| ctx.parameters.get(p)).cloned().unwrap_or_default();
        let principal = if principal_expr.contains("vendorPrincipalId") || passed.contains("vendorPrincipalId") {
            "vendor"
        } else {
            "identity"
        };
        let group = group.unwrap_or_else(|| panic!("{holder}: not in a resource group"));
        let base = format!("/subscriptions/{AZURE_SUB}/resourceGroups/{group}");
        let scope = match r["scope"].as_str() {
            Some(s) => format!("{base}/providers/{}", ctx.eval(s).unwrap_or_else(|| panic!("{holder}: scope {s}"))),
            None => base,
        };
        out.push(Expected { holder, principal, scope, actions, refused });
    }
}

/// Every role assignment of `assets/azure/*.json`, with its role's content.
fn expected() -> Vec<Expected> {
    let roles = read("assets/permissions/azure-roles.json")["roles"].as_array().unwrap().clone();
    let mut files: Vec<_> = std::fs::read_dir("assets/azure")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    let mut out = Vec::new();
    for f in files {
        let t = read(f.to_str().unwrap());
        let parameters: BTreeMap<String, String> = [
            ("vendorId", VENDOR_ID.to_string()),
            ("vendorName", "Acme ML".to_string()),
            ("org", ORG.to_string()),
            ("location", "westeurope".to_string()),
            ("suffix", AZURE_SUFFIX.to_string()),
            ("vendorPrincipalId", "<vendorPrincipalId>".to_string()),
            ("dataAccountName", format!("{VENDOR_ID}data{AZURE_SUFFIX}")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let variables = t["variables"].as_object().cloned().unwrap_or_default();
        walk(&t, &Ctx { parameters, variables }, None, &roles, &mut out);
    }
    out.sort();
    out
}

fn principal_of(plan_principal: &str) -> &'static str {
    let app = VendorProfileIds::app_id();
    if plan_principal.contains(&app) {
        "vendor"
    } else if plan_principal.contains(&format!("{VENDOR_ID}-{ORG}-machines")) {
        "identity"
    } else {
        panic!("a grant to {plan_principal}, who is neither the vendor's service principal nor the machines' identity")
    }
}

struct VendorProfileIds;
impl VendorProfileIds {
    fn app_id() -> String {
        let v: toml::Value = toml::from_str(&std::fs::read_to_string("assets/vendor.toml").unwrap()).unwrap();
        v["azure"]["app_id"].as_str().unwrap().to_string()
    }
}

#[test]
fn the_walk_finds_every_assignment_of_the_templates() {
    let e = expected();
    let holders: Vec<&str> = e.iter().map(|x| x.holder.as_str()).collect();
    assert_eq!(
        holders,
        [
            "MachinesDataAccess",
            "MachinesImagesAccess",
            "MachinesRegistryAccess",
            "MachinesVaultAccess",
            "VendorRoleAssignment"
        ]
    );
    let vendor = e.iter().find(|x| x.holder == "VendorRoleAssignment").unwrap();
    assert_eq!((vendor.principal, vendor.actions.len()), ("vendor", 20));
    assert_eq!(vendor.scope, format!("/subscriptions/{AZURE_SUB}/resourceGroups/acmeml-demo"));
    let vault = e.iter().find(|x| x.holder == "MachinesVaultAccess").unwrap();
    assert_eq!(
        vault.scope,
        format!("/subscriptions/{AZURE_SUB}/resourceGroups/acmeml-demo/providers/Microsoft.KeyVault/vaults/acmeml-kv-{AZURE_SUFFIX}")
    );
    let data = e.iter().find(|x| x.holder == "MachinesDataAccess").unwrap();
    assert_eq!(data.principal, "identity");
    assert!(data.scope.contains(
        "/resourceGroups/acmeml-demo-storage/providers/Microsoft.Storage/storageAccounts/acmemldatax1y2z3w4"
    ));
}

#[test]
fn the_plan_grants_exactly_what_the_templates_assign() {
    let plan = azure_plan();
    let want = expected();
    // Every assignment: exactly its role's actions and data actions, for that principal and scope.
    for e in &want {
        let allow: Vec<_> = plan
            .permissions()
            .map(|(_, p)| p)
            .filter(|p| p.kind == PermissionKind::Identity && p.holder == e.holder && p.effect == Effect::Allow)
            .collect();
        assert_eq!(allow.len(), 1, "{}: one allow statement", e.holder);
        let p = allow[0];
        assert_eq!(p.actions, e.actions, "{}: the role's actions, then its data actions", e.holder);
        assert_eq!(p.resources, std::slice::from_ref(&e.scope), "{}: on its scope", e.holder);
        assert_eq!(principal_of(&p.principal), e.principal, "{}: to {}", e.holder, p.principal);
        assert_eq!(p.conditions["principalType"], "ServicePrincipal", "{}", e.holder);
        assert!(p.source.as_ref().is_some_and(|s| s.file.starts_with("azure/")), "{}: written at", e.holder);
        let deny: Vec<_> = plan
            .permissions()
            .map(|(_, p)| p)
            .filter(|p| p.holder == e.holder && p.effect == Effect::Deny)
            .flat_map(|p| p.actions.clone())
            .collect();
        assert_eq!(deny, e.refused, "{}: what the role takes back", e.holder);
    }
    // And nothing else: every grant of the plan is one of those.
    let triples = |plan: &Plan| -> BTreeSet<(String, &'static str, String, String)> {
        plan.permissions()
            .map(|(_, p)| p)
            .filter(|p| p.kind != PermissionKind::Trust)
            .flat_map(|p| {
                let who = principal_of(&p.principal);
                p.actions
                    .iter()
                    .flat_map(move |a| p.resources.iter().map(move |r| (p.holder.clone(), who, r.clone(), a.clone())))
            })
            .collect()
    };
    let expected: BTreeSet<(String, &'static str, String, String)> = want
        .iter()
        .flat_map(|e| {
            e.actions.iter().chain(&e.refused).map(move |a| (e.holder.clone(), e.principal, e.scope.clone(), a.clone()))
        })
        .collect();
    assert_eq!(triples(&plan), expected);
    // Trust: the vendor's application, once.
    let trust: Vec<_> = plan.trust().collect();
    assert_eq!(trust.len(), 1);
    assert_eq!(principal_of(&trust[0].1.principal), "vendor");
    assert!(trust[0].1.actions.is_empty());
}

/// The text inside a box of the current frame, one row per line.
fn pane_text(app: &App, area: Rect) -> String {
    let buf = draw(app, app.size.0, app.size.1);
    let mut out = String::new();
    for y in area.top() + 1..area.bottom().saturating_sub(1) {
        let mut line = String::new();
        for x in area.left() + 1..area.right().saturating_sub(1) {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The list box of the Permissions tab, every page.
fn permissions_pages(app: &mut App) -> String {
    app.update(Action::NextTab);
    assert_eq!(app.preview.tab, Tab::Permissions);
    app.update(Action::Home);
    let mut text = String::new();
    loop {
        let before = app.preview.scroll;
        text.push_str(&pane_text(app, preview::list_area(app).expect("the list shows")));
        // Pages overlap; an action cut at the bottom of one is read whole from the next.
        text.push_str("-- page --\n");
        app.update(Action::PageDown);
        if app.preview.scroll == before {
            break;
        }
    }
    text
}

/// The action of each grant line: the word after the four-column indent and the two-column
/// selection marker (headings and continuation lines do not have that shape). An action too long
/// for the line goes on, cut after a `/`, on the lines below it (indented further); one cut by the
/// end of a page is left to the next page, which shows it whole.
fn grant_rows(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let c: Vec<char> = l.chars().collect();
        let shaped = c.len() > 6
            && c[..4].iter().all(|x| *x == ' ')
            && (c[4..6] == [' ', ' '] || c[4..6] == ['>', ' '])
            && c[6] != ' ';
        if !shaped {
            continue;
        }
        let mut action = c[6..].iter().collect::<String>().split_whitespace().next().unwrap_or("").to_string();
        let mut next = i + 1;
        while action.ends_with('/') && next < lines.len() && lines[next].starts_with("        ") {
            action.push_str(lines[next].split_whitespace().next().unwrap_or(""));
            next += 1;
        }
        if !action.ends_with('/') {
            out.push(action);
        }
    }
    out
}

#[test]
fn the_permissions_tab_lists_exactly_the_assigned_actions() {
    let expected: BTreeSet<String> = expected().into_iter().flat_map(|e| e.actions).collect();
    assert!(expected.len() > 25, "{expected:?}");
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app_preview_azure();
        app.update(Action::Resize(w, h));
        let text = permissions_pages(&mut app);
        let shown: BTreeSet<String> = grant_rows(&text).into_iter().collect();
        assert_eq!(shown, expected, "{w}x{h}: the Permissions list is exactly the assigned actions:\n{text}");
        // Resources in words (they may wrap: compared with the lines joined).
        let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for name in
            ["resource group acmeml-demo", "Key Vault acmeml-kv-x1y2z3w4", "container registry acmemlregx1y2z3w4"]
        {
            assert!(words.contains(name), "{w}x{h}: {name} in words:\n{text}");
        }
    }
}

#[test]
fn an_unknown_built_in_role_is_reported_not_dropped() {
    // Owner is a built-in role the table does not hold: the lookup says so.
    let t = cloudgrant::permissions::azure_roles::azure();
    assert_eq!(
        t.lookup("/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
        cloudgrant::permissions::azure_roles::RoleLookup::Unknown
    );
    // Every built-in role the templates assign is in the table, with the same content the plan uses.
    for e in expected().iter().filter(|e| e.holder != "VendorRoleAssignment") {
        let plan = azure_plan();
        let p = plan.permissions().map(|(_, p)| p).find(|p| p.holder == e.holder).unwrap();
        let name = p.policy.trim_end_matches(" (built-in)");
        let role = t.by_name(name).unwrap_or_else(|| panic!("{}: role {name} not in the table", e.holder));
        assert_eq!(role.granted(), p.actions, "{}", e.holder);
    }
}
