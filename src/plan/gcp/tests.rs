use super::*;

fn vendor() -> VendorProfile {
    VendorProfile::bundled().expect("bundled vendor")
}

fn choices(project: Option<&str>) -> Choices {
    Choices {
        org: "acme-research".into(),
        region: "europe-west1".into(),
        account: project.map(Into::into),
        external_id: None,
    }
}

#[test]
fn bundled_definitions_render_for_a_project() {
    let plan = build(&vendor(), &choices(Some("acme-prod-123"))).expect("plan");
    assert_eq!(plan.cloud, Cloud::Gcp);
    assert_eq!(plan.account.as_deref(), Some("acme-prod-123"));
    let g = &plan.groups[0];
    assert_eq!(g.name, "acmeml-acme-research");
    let name = |id: &str| g.resources.iter().find(|r| r.id == id).and_then(|r| r.name.clone()).expect(id);
    assert_eq!(name("ManagerRole"), "projects/acme-prod-123/roles/acmeml_acme_research_manager");
    assert_eq!(name("InstanceServiceAccount"), "cg-acme-research-vm@acme-prod-123.iam.gserviceaccount.com");
    assert_eq!(
        name("DataKey"),
        "projects/acme-prod-123/locations/europe-west1/keyRings/acmeml-acme-research/cryptoKeys/data"
    );
    assert_eq!(name("DataBucket"), "acme-prod-123-acme-research-data");
    let vendor_binding = g.permissions.iter().find(|p| p.holder == "VendorManagerBinding").expect("binding");
    assert_eq!(vendor_binding.principal, "serviceAccount:acmeml-control@acmeml-prod.iam.gserviceaccount.com");
    assert_eq!(vendor_binding.resources, ["//cloudresourcemanager.googleapis.com/projects/acme-prod-123"]);
    assert!(vendor_binding.actions.contains(&"compute.instances.start".to_string()));
    let act_as = g.permissions.iter().find(|p| p.holder == "VendorActAsBinding").expect("act as");
    assert_eq!(act_as.kind, PermissionKind::Trust);
    assert_eq!(act_as.source.as_ref().map(|s| s.file.as_str()), Some("gcp/install.yaml"));
    assert!(plan.tags.contains(&("cloudgrant-install".into(), "acmeml-acme-research".into())));
}

#[test]
fn without_a_project_names_say_so() {
    let plan = build(&vendor(), &choices(None)).expect("plan");
    assert_eq!(plan.account, None);
    assert!(plan.groups[0].resources.iter().any(|r| r.name.as_deref() == Some("<project>-acme-research-data")));
}

#[test]
fn bad_choices_name_the_field() {
    let e = build(&vendor(), &choices(Some("Acme_Prod"))).expect_err("bad project").to_string();
    assert!(e.contains("project id `Acme_Prod`"), "{e}");
    let mut c = choices(None);
    c.region = "eu-west-1".into();
    let e = build(&vendor(), &c).expect_err("bad region").to_string();
    assert!(e.contains("region `eu-west-1`") && e.contains("us-central1"), "{e}");
}

#[test]
fn malformed_definitions_name_the_entry_and_the_fix() {
    let text = Spec::asset().text;
    let cases = [
        (
            text.replace("member: serviceAccount:${vendor_sa}\n    on: project", "member: robot\n    on: project"),
            "binding VendorManagerBinding member `robot`",
        ),
        (
            text.replace("role: roles/iam.serviceAccountUser\n    member", "role: roles/owner\n    member"),
            "binding VendorActAsBinding role `roles/owner`",
        ),
        (text.replace("on: DataKey", "on: Nowhere"), "binding InstanceKeyBinding on `Nowhere`"),
        (text.replace("${install}\n    location", "${instal}\n    location"), "unknown placeholder `${instal}`"),
        (text.replace("- compute.zones.list", "- compute zones list"), "permission `compute zones list`"),
        (text.replace("account_id: cg-${org}-vm", "account_id: CG-${org}"), "account_id `CG-acme-research`"),
        (text.replace("destroy_scheduled_days: 30", "destroy_scheduled_days: 400"), "1 to 120 days"),
        (
            text.replace("DataBucket, DataKey]", "DataBucket, VendorManagerBinding]"),
            "send_to_vendor[3] `VendorManagerBinding`: is neither `Project` nor the logical id of a resource",
        ),
        (text.replace("  - id: KmsApi", "  - id: Project"), "id `Project`: is reserved"),
        (text.replace("  - id: KmsApi", "  - id: IamApi"), "id `IamApi`: is used twice"),
    ];
    for (t, want) in cases {
        let Err(e) = build_from(&t, "gcp/install.yaml", &vendor(), &choices(Some("acme-prod-123"))) else {
            panic!("accepted, wanted an error saying `{want}`");
        };
        let e = e.to_string();
        assert!(e.starts_with("gcp/install.yaml: "), "{e}");
        assert!(e.contains(want), "want `{want}` in: {e}");
    }
}

#[test]
fn spec_for_refuses_a_plan_it_would_not_build() {
    let v = vendor();
    let mut plan = build(&v, &choices(Some("acme-prod-123"))).expect("plan");
    assert!(spec_for(&plan, &v).is_ok());
    plan.groups[0].permissions[0].actions.push("compute.instances.setIamPolicy".into());
    assert!(spec_for(&plan, &v).is_err());
}

#[test]
fn every_section_is_optional_and_send_to_vendor_names_any_resource() {
    let text = "labels:\n  managed-by: cloudgrant\n  cloudgrant-install: ${install}\nbuckets:\n  - id: Data\n    name: ${project}-${org}-x\n    location: ${location}\n    uniform_bucket_level_access: true\n    why: Data.\nsend_to_vendor: [Data, Project]\n";
    let plan = build_from(text, "gcp/install.yaml", &vendor(), &choices(Some("acme-prod-123"))).expect("plan");
    let ids: Vec<&str> = plan.groups[0].resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["Data"]);
    assert!(plan.groups[0].permissions.is_empty());
    assert_eq!(plan.send_to_vendor, ["Data", "Project"]);
    let spec =
        Spec::render(text, "gcp/install.yaml", &Vars::new(&vendor(), &choices(Some("acme-prod-123")))).expect("spec");
    assert_eq!(spec.value_of("Data").as_deref(), Some("acme-prod-123-acme-research-x"));
    assert_eq!(spec.value_of("Project").as_deref(), Some("acme-prod-123"));
    assert_eq!(spec.value_of("Nope"), None);
    // A missing `why` is the vendor check's to refuse (rule `why`), as on AWS.
    let no_why = text.replace("    why: Data.\n", "");
    let plan = build_from(&no_why, "gcp/install.yaml", &vendor(), &choices(Some("acme-prod-123"))).expect("plan");
    assert_eq!(plan.groups[0].resources[0].why, "");
}

#[test]
fn members_include_everyone_and_domains_only_in_their_documented_forms() {
    let spec = Spec::render(Spec::asset().text, "gcp/install.yaml", &Vars::new(&vendor(), &choices(Some("p-123456"))))
        .expect("spec");
    for ok in ["allUsers", "allAuthenticatedUsers", "domain:example.com", "user:a@b.example", "group:g@b.example"] {
        assert_eq!(spec.member(ok).as_deref(), Some(ok));
    }
    for bad in ["alluser", "domain:a@b.example", "user:nobody", "robot:x@y"] {
        assert_eq!(spec.member(bad), None, "{bad}");
    }
}
