//! From the rendered definitions to the [`Plan`] the preview shows: one group, a resource per
//! entry, a permission per binding (with the role's permissions), each with the line it was
//! written at.

use super::*;

/// The line an entry with `id: <id>` starts at.
fn line_of(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim();
            t.strip_prefix("id:").is_some_and(|v| v.trim() == id)
        })
        .map(|i| i + 1)
}

/// The plan for these choices from the bundled definitions. `choices.account` is the project id
/// (`<project>` in names when not chosen yet); `choices.region` the location.
pub fn build(vendor: &VendorProfile, choices: &Choices) -> Result<Plan, PlanError> {
    let a = Spec::of(vendor)?;
    build_from(a.text, a.path, vendor, choices)
}

/// The plan from definitions `text` (named `file`).
pub fn build_from(text: &str, file: &str, vendor: &VendorProfile, choices: &Choices) -> Result<Plan, PlanError> {
    validate::org(&choices.org)?;
    validate::gcp_region(&choices.region)?;
    if let Some(p) = &choices.account {
        validate::gcp_project_id(p)?;
    }
    let vars = Vars::new(vendor, choices);
    let spec = Spec::render(text, file, &vars)?;
    let mut plan = plan_of(&spec, &vars, file, text);
    plan.pack_sha256 = vendor.pack.digest.clone();
    plan.send_to_vendor = spec.send_to_vendor.clone();
    crate::permissions::annotate(&mut plan, vendor);
    Ok(plan)
}

fn resource(id: &str, type_: &str, name: String, why: &str, on_revoke: OnRevoke, depends_on: Vec<String>) -> Resource {
    Resource {
        id: id.to_string(),
        type_: type_.to_string(),
        name: Some(name),
        why: why.to_string(),
        on_revoke,
        pending_window_days: None,
        depends_on,
        network: None,
        exceptions: Vec::new(),
    }
}

fn api_for(spec: &Spec, service: &str) -> Vec<String> {
    spec.apis.iter().filter(|a| a.service == service).map(|a| a.id.clone()).collect()
}

/// The logical ids a binding waits for: its role, its member and its target where they are ours.
fn binding_needs(spec: &Spec, b: &Binding) -> Vec<String> {
    let ids = spec.ids();
    [b.role.as_str(), b.member.as_str(), b.on.as_str()]
        .into_iter()
        .filter(|x| ids.contains(x))
        .map(str::to_string)
        .collect()
}

fn plan_of(spec: &Spec, vars: &Vars, file: &str, text: &str) -> Plan {
    let p = &spec.project;
    let mut resources = Vec::new();
    for a in &spec.apis {
        resources.push(resource(&a.id, TYPE_API, a.service.clone(), &a.why, OnRevoke::Keep, Vec::new()));
    }
    for r in &spec.roles {
        resources.push(resource(
            &r.id,
            TYPE_ROLE,
            spec.role_name(r),
            &r.why,
            OnRevoke::SoftDelete,
            api_for(spec, "iam.googleapis.com"),
        ));
    }
    for s in &spec.service_accounts {
        resources.push(resource(
            &s.id,
            TYPE_SERVICE_ACCOUNT,
            spec.service_account_email(s),
            &s.why,
            OnRevoke::Delete,
            api_for(spec, "iam.googleapis.com"),
        ));
    }
    for r in &spec.key_rings {
        resources.push(resource(
            &r.id,
            TYPE_KEY_RING,
            spec.key_ring_name(r),
            &r.why,
            OnRevoke::Keep,
            api_for(spec, "cloudkms.googleapis.com"),
        ));
    }
    for k in &spec.crypto_keys {
        let mut r = resource(
            &k.id,
            TYPE_CRYPTO_KEY,
            spec.crypto_key_name(k),
            &k.why,
            OnRevoke::ScheduledDeletion,
            vec![k.key_ring.clone()],
        );
        r.pending_window_days = Some(k.destroy_scheduled_days);
        resources.push(r);
    }
    for b in &spec.buckets {
        resources.push(resource(
            &b.id,
            TYPE_BUCKET,
            b.name.clone(),
            &b.why,
            OnRevoke::Keep,
            api_for(spec, "storage.googleapis.com"),
        ));
    }
    let mut permissions = Vec::new();
    for b in &spec.bindings {
        // `check` made sure role, member and target resolve.
        let (role, actions) = spec.role_permissions(&b.role).unwrap_or_default();
        let member = spec.member(&b.member).unwrap_or_default();
        let target = spec.target(&b.on).unwrap_or(Target::Project);
        let kind = match target {
            // Who may act as a service account: GCP's form of assuming a role.
            Target::ServiceAccount { .. } => PermissionKind::Trust,
            Target::Project => PermissionKind::Identity,
            _ => PermissionKind::Resource,
        };
        let full = target.full_name(p);
        resources.push(resource(
            &b.id,
            TYPE_BINDING,
            format!("{role} → {member} on {full}"),
            &b.why,
            OnRevoke::Delete,
            binding_needs(spec, b),
        ));
        permissions.push(Permission {
            principal: member,
            kind,
            holder: b.id.clone(),
            policy: role,
            sid: None,
            effect: Effect::Allow,
            actions,
            resources: vec![full],
            conditions: serde_json::Value::Null,
            access_level: None,
            access: Vec::new(),
            risks: Vec::new(),
            source: line_of(text, &b.id).map(|line| SourceLocation { file: file.to_string(), line }),
        });
    }
    let tool =
        |name: &str, value: &str| Parameter { name: name.into(), value: value.into(), source: ParameterSource::Tool };
    let install = vars.install();
    let group = Group {
        key: "install".into(),
        name: install.clone(),
        title: "Labelled resource set".into(),
        template: file.to_string(),
        description: format!(
            "Everything below carries the label {LABEL_INSTALL}={install} (roles and service accounts: in their description)."
        ),
        depends_on: Vec::new(),
        parameters: vec![
            tool("Project", p),
            tool("Location", &spec.location),
            tool("Org", &vars.org),
            tool("VendorServiceAccount", &vars.vendor_sa),
            tool("InstallId", &install),
        ],
        resources,
        permissions,
    };
    Plan {
        cloud: Cloud::Gcp,
        vendor: vars.vendor_name.clone(),
        vendor_id: vars.vendor_id.clone(),
        org: vars.org.clone(),
        region: spec.location.clone(),
        account: (p != NO_PROJECT).then(|| p.clone()),
        tags: spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        groups: vec![group],
        pack_sha256: String::new(),
        send_to_vendor: Vec::new(),
    }
}

/// The rendered definitions a plan was built from: the provider creates from these, after checking
/// that they give exactly the plan the user saw.
pub fn spec_for(plan: &Plan, vendor: &VendorProfile) -> Result<Spec, PlanError> {
    let choices = Choices {
        org: plan.org.clone(),
        region: plan.region.clone(),
        account: plan.account.clone(),
        external_id: None,
    };
    let spec = Spec::bundled(vendor, &choices)?;
    let again = build(vendor, &choices)?;
    // The install id is the one label the definitions cannot give: it is the plan's.
    let install_id = plan.tags.iter().find(|(k, _)| k == crate::plan::MARK_INSTALL_ID).map(|(_, v)| v.clone());
    let tags: Vec<(String, String)> =
        plan.tags.iter().filter(|(k, _)| k != crate::plan::MARK_INSTALL_ID).cloned().collect();
    if again.groups != plan.groups || again.tags != tags {
        return Err(PlanError::Invalid(
            "the plan differs from what the vendor pack's definitions give for it (built by another version of cloudgrant?)"
                .into(),
        ));
    }
    Ok(spec.with_install_id(install_id))
}
