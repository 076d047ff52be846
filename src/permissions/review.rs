//! The review of a plan's permissions as a non-expert reads it: trust first (who may act as which
//! role), then who can do what, grouped by principal → service → access level, each grant with the
//! flags that concern it; Deny statements apart, as protections. Pure data: the TUI preview and the
//! Markdown renderer both draw from it.

use super::actions::{classify, expand};
use super::principal::{describe_principal, PrincipalKind};
use super::risk::{on_phrase, Context};
use super::table;
use super::{conditions, AccessLevel, ActionAccess, Risk, Severity, SourceLocation};
use crate::model::{Cloud, Effect, Permission, PermissionKind, Plan};

/// One permission of a plan: `plan.groups[group].permissions[index]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PermissionRef {
    pub group: usize,
    pub index: usize,
}

impl PermissionRef {
    pub fn get(self, plan: &Plan) -> Option<&Permission> {
        plan.groups.get(self.group).and_then(|g| g.permissions.get(self.index))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The plan's cloud: what trust means differs (assume a role, act as a service account, sign
    /// in to the tenant as a service principal).
    pub cloud: Cloud,
    /// Who may act as which role (trust statements that allow).
    pub trust: Vec<TrustEntry>,
    /// What each principal may do, in order of first appearance in the plan.
    pub principals: Vec<PrincipalAccess>,
    /// Deny statements: access taken away.
    pub protections: Vec<Protection>,
}

impl Review {
    /// Every flag once, with the permission it is on, worst first.
    pub fn all_risks<'p>(&self, plan: &'p Plan) -> Vec<(PermissionRef, &'p Risk)> {
        let mut out: Vec<(PermissionRef, &Risk)> = Vec::new();
        for (gi, g) in plan.groups.iter().enumerate() {
            for (pi, p) in g.permissions.iter().enumerate() {
                out.extend(p.risks.iter().map(|r| (PermissionRef { group: gi, index: pi }, r)));
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.1.severity));
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrustEntry {
    pub at: PermissionRef,
    pub principal: String,
    /// "Acme ML's account (111122223333)".
    pub label: String,
    pub kind: PrincipalKind,
    /// The role it may assume (its name when the plan fixes one, else the logical id).
    pub role: String,
    pub actions: Vec<String>,
    /// The conditions in words.
    pub conditions: Option<String>,
    pub risks: Vec<Risk>,
    pub source: Option<SourceLocation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalAccess {
    /// Grouping key: a role of this plan by name, else the principal as written.
    pub key: String,
    pub label: String,
    pub kind: PrincipalKind,
    /// For a role: who may assume it (labels from the trust entries).
    pub assumed_by: Vec<String>,
    pub services: Vec<ServiceAccess>,
    /// The worst flag on any of its grants.
    pub worst: Option<Severity>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccess {
    /// `ec2`, `*` for every service.
    pub service: String,
    /// "Amazon EC2".
    pub name: String,
    /// In [`AccessLevel`] order, unknown actions last.
    pub levels: Vec<LevelAccess>,
}

impl ServiceAccess {
    /// Every flag of the service's grants once (a statement's flag appears under each level its
    /// actions span; here it is listed once).
    pub fn risks(&self) -> Vec<(PermissionRef, &Risk)> {
        let mut out: Vec<(PermissionRef, &Risk)> = Vec::new();
        for g in self.levels.iter().flat_map(|l| &l.grants) {
            for r in &g.risks {
                if !out.iter().any(|(at, seen)| *at == g.at && *seen == r) {
                    out.push((g.at, r));
                }
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.1.severity));
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LevelAccess {
    /// `None`: actions the reference does not know.
    pub level: Option<AccessLevel>,
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub at: PermissionRef,
    /// As written (`ec2:Describe*`).
    pub action: String,
    /// For a wildcard: the actions of this level it stands for, as far as the bundled table lists
    /// them (the full list on demand: [`super::expand`]).
    pub matched: Vec<String>,
    /// How many actions of this level it stands for, where known.
    pub count: Option<usize>,
    pub resources: Vec<String>,
    /// The resources in words ("every object in bucket b"; in a key policy `*` is "this key").
    pub on: String,
    pub conditions: Option<String>,
    pub sid: Option<String>,
    /// The statement's flags that concern this action.
    pub risks: Vec<Risk>,
    pub source: Option<SourceLocation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Protection {
    pub at: PermissionRef,
    pub label: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub conditions: Option<String>,
    pub risks: Vec<Risk>,
    pub source: Option<SourceLocation>,
}

fn service_name(cloud: Cloud, service: &str) -> String {
    match (cloud, service) {
        (_, "*") => format!("every {} service", cloud.title()),
        (Cloud::Aws, s) => table::aws().service(s).map(|i| i.name.to_string()).unwrap_or_else(|| s.to_string()),
        (_, s) => s.to_string(),
    }
}

/// Group a plan's permissions for review. Uses the access and flags [`super::annotate`] stored on
/// each permission (classifying afresh where a permission carries none); principals are named
/// with [`Context::from_plan`].
pub fn review(plan: &Plan) -> Review {
    let ctx = Context::from_plan(plan);
    let mut out = Review { cloud: plan.cloud, trust: Vec::new(), principals: Vec::new(), protections: Vec::new() };
    for (gi, g) in plan.groups.iter().enumerate() {
        for (pi, p) in g.permissions.iter().enumerate() {
            let at = PermissionRef { group: gi, index: pi };
            let who = describe_principal(&p.principal, &ctx);
            let when = conditions::describe(&p.conditions);
            if p.effect == Effect::Deny {
                out.protections.push(Protection {
                    at,
                    label: who.label,
                    actions: p.actions.clone(),
                    resources: p.resources.clone(),
                    conditions: when,
                    risks: p.risks.clone(),
                    source: p.source.clone(),
                });
                continue;
            }
            if p.kind == PermissionKind::Trust {
                // GCP: a binding on a service account; the account is what may be acted as.
                let service_account =
                    p.resources.iter().find_map(|r| r.rsplit_once("/serviceAccounts/").map(|(_, e)| e.to_string()));
                // Azure: the vendor's service principal is itself what acts; its grants are listed
                // under it.
                let service_account = if plan.cloud == Cloud::Azure { Some(who.key.clone()) } else { service_account };
                let role = service_account.unwrap_or_else(|| {
                    g.resources
                        .iter()
                        .find(|r| r.id == p.holder)
                        .and_then(|r| r.name.clone())
                        .unwrap_or_else(|| p.holder.clone())
                });
                out.trust.push(TrustEntry {
                    at,
                    principal: p.principal.clone(),
                    label: who.label,
                    kind: who.kind,
                    role,
                    actions: p.actions.clone(),
                    conditions: when,
                    risks: p.risks.clone(),
                    source: p.source.clone(),
                });
                continue;
            }
            let pos = match out.principals.iter().position(|x| x.key == who.key) {
                Some(i) => i,
                None => {
                    out.principals.push(PrincipalAccess {
                        key: who.key.clone(),
                        label: who.label.clone(),
                        kind: who.kind,
                        assumed_by: Vec::new(),
                        services: Vec::new(),
                        worst: None,
                    });
                    out.principals.len() - 1
                }
            };
            let access: Vec<ActionAccess> = if p.access.len() == p.actions.len() {
                p.access.clone()
            } else {
                p.actions.iter().map(|a| classify(plan.cloud, a)).collect()
            };
            let on = on_phrase(p, &ctx);
            for a in &access {
                for (level, matched, count) in split_by_level(plan.cloud, a) {
                    let grant = Grant {
                        at,
                        action: a.action.clone(),
                        matched,
                        count,
                        resources: p.resources.clone(),
                        on: on.clone(),
                        conditions: when.clone(),
                        sid: p.sid.clone(),
                        risks: p
                            .risks
                            .iter()
                            .filter(|r| r.actions.is_empty() || r.actions.contains(&a.action))
                            .cloned()
                            .collect(),
                        source: p.source.clone(),
                    };
                    add(&mut out.principals[pos], plan.cloud, &a.service, level, grant);
                }
            }
        }
    }
    for pa in &mut out.principals {
        // On Azure the trust entry is the vendor's service principal itself, not someone acting as it.
        if plan.cloud != Cloud::Azure {
            pa.assumed_by = out.trust.iter().filter(|t| t.role == pa.key).map(|t| t.label.clone()).collect();
        }
        pa.worst = pa
            .services
            .iter()
            .flat_map(|s| &s.levels)
            .flat_map(|l| &l.grants)
            .flat_map(|g| &g.risks)
            .map(|r| r.severity)
            .max();
        pa.services.sort_by(|a, b| a.service.cmp(&b.service));
        for s in &mut pa.services {
            s.levels.sort_by_key(|l| (l.level.is_none(), l.level));
        }
    }
    out
}

/// The levels one action spans, with the actions of each level it stands for.
fn split_by_level(cloud: Cloud, a: &ActionAccess) -> Vec<(Option<AccessLevel>, Vec<String>, Option<usize>)> {
    if a.unknown || a.levels.is_empty() {
        return vec![(None, Vec::new(), Some(0))];
    }
    if !a.wildcard {
        return vec![(a.level, Vec::new(), Some(1))];
    }
    let e = expand(cloud, &a.action);
    a.levels
        .iter()
        .map(|l| {
            let matched: Vec<String> = e.actions.iter().filter(|(_, al)| al == l).map(|(n, _)| n.clone()).collect();
            let count = if e.complete {
                Some(matched.len())
            } else if cloud == Cloud::Aws {
                // `*` or a service that is not bundled: the summary counts every level.
                let t = table::aws();
                let idx = AccessLevel::ALL.iter().position(|x| x == l).unwrap_or(0);
                let services: Vec<_> = if a.action == "*" {
                    t.services.iter().collect()
                } else {
                    t.services.iter().filter(|s| s.prefix.eq_ignore_ascii_case(&a.service)).collect()
                };
                (a.action == "*" || a.action.ends_with(":*")).then(|| services.iter().map(|s| s.per_level[idx]).sum())
            } else {
                None
            };
            (Some(*l), matched, count)
        })
        .collect()
}

fn add(pa: &mut PrincipalAccess, cloud: Cloud, service: &str, level: Option<AccessLevel>, grant: Grant) {
    let s = match pa.services.iter().position(|s| s.service == service) {
        Some(i) => &mut pa.services[i],
        None => {
            pa.services.push(ServiceAccess {
                service: service.to_string(),
                name: service_name(cloud, service),
                levels: Vec::new(),
            });
            let last = pa.services.len() - 1;
            &mut pa.services[last]
        }
    };
    match s.levels.iter_mut().find(|l| l.level == level) {
        Some(l) => l.grants.push(grant),
        None => s.levels.push(LevelAccess { level, grants: vec![grant] }),
    }
}
