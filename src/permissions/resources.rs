//! Resource ARNs, Google resource names and Azure Resource Manager ids in words, and how much of
//! the account a resource pattern covers.

use super::is_wildcard;

/// How much a statement's resource covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Named resources (an S3 object path `bucket/*` counts: it stays in one bucket).
    Specific,
    /// A pattern over many resources (`instance/*`, `role/*`).
    Pattern,
    /// `*`: every resource.
    All,
}

/// The parts of an ARN: service, region, account, and the resource part.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut p = arn.splitn(6, ':');
    match (p.next(), p.next(), p.next(), p.next(), p.next(), p.next()) {
        (Some("arn"), Some(_), Some(service), Some(region), Some(account), Some(rest)) => {
            Some((service, region, account, rest))
        }
        _ => None,
    }
}

pub fn scope(resource: &str) -> Scope {
    if resource == "*" {
        return Scope::All;
    }
    if let Some(arm) = arm_scope(resource) {
        return arm;
    }
    if !is_wildcard(resource) {
        return Scope::Specific;
    }
    match arn_parts(resource) {
        Some(("s3", _, _, rest)) => {
            let bucket = rest.split('/').next().unwrap_or(rest);
            if is_wildcard(bucket) {
                Scope::Pattern
            } else {
                Scope::Specific
            }
        }
        _ => Scope::Pattern,
    }
}

/// The widest scope of a statement's resources (`key_policy`: `*` means the key itself).
pub fn widest(resources: &[String], key_policy: bool) -> Scope {
    if key_policy {
        return Scope::Specific;
    }
    resources.iter().map(|r| scope(r)).max().unwrap_or(Scope::Specific)
}

/// "every object in bucket b", "role r", "every instance in eu-west-1", "every resource".
pub fn phrase(resource: &str) -> String {
    if resource == "*" {
        return "every resource".into();
    }
    if let Some(inner) = resource.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        // A placeholder for an id the cloud assigns: `<DataKey.Arn>`.
        let id = inner.split('.').next().unwrap_or(inner);
        return format!("{id} (created by this plan)");
    }
    if let Some(full) = resource.strip_prefix("//") {
        return gcp_phrase(full).unwrap_or_else(|| resource.to_string());
    }
    if let Some(words) = arm_phrase(resource) {
        return words;
    }
    let Some((service, region, _, rest)) = arn_parts(resource) else { return resource.to_string() };
    let where_ = if region.is_empty() || region == "*" { String::new() } else { format!(" in {region}") };
    match service {
        "s3" => match rest.split_once('/') {
            Some((bucket, "*")) => format!("every object in bucket {bucket}"),
            Some((bucket, key)) => format!("objects {key} in bucket {bucket}"),
            None if rest == "*" => "every bucket".into(),
            None => format!("bucket {rest}"),
        },
        _ => match rest.split_once(['/', ':']) {
            Some((kind, "*")) => format!("every {kind}{where_}"),
            Some((kind, name)) if is_wildcard(name) => format!("every {kind} matching {name}{where_}"),
            Some((kind, name)) => format!("{kind} {name}"),
            None => resource.to_string(),
        },
    }
}

/// A Google full resource name (without the leading `//`) in words.
fn gcp_phrase(full: &str) -> Option<String> {
    let (host, path) = full.split_once('/')?;
    let parts: Vec<&str> = path.split('/').collect();
    Some(match (host, parts.as_slice()) {
        ("cloudresourcemanager.googleapis.com", ["projects", p]) => format!("the whole project {p}"),
        ("storage.googleapis.com", ["projects", "_", "buckets", b]) => format!("bucket {b}"),
        ("iam.googleapis.com", ["projects", _, "serviceAccounts", e]) => format!("service account {e}"),
        ("cloudkms.googleapis.com", ["projects", _, "locations", l, "keyRings", r, "cryptoKeys", k]) => {
            format!("key {k} (key ring {r}, {l})")
        }
        ("cloudkms.googleapis.com", ["projects", _, "locations", l, "keyRings", r]) => format!("key ring {r} ({l})"),
        _ => return None,
    })
}

/// The segments of an Azure Resource Manager id (`/subscriptions/…/resourceGroups/…/providers/…`),
/// or of a scope written relative to its resource group (`Microsoft.KeyVault/vaults/kv`, as ARM
/// templates write a role assignment's `scope`). `None` for anything else.
fn arm_segments(id: &str) -> Option<Vec<&str>> {
    if id == "/" {
        return Some(Vec::new());
    }
    let rel = !id.starts_with('/') && id.starts_with("Microsoft.") && id.contains('/');
    if !id.starts_with('/') && !rel {
        return None;
    }
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    let first = parts.first().copied().unwrap_or_default();
    let known = rel
        || first.eq_ignore_ascii_case("subscriptions")
        || (first.eq_ignore_ascii_case("providers")
            && parts.get(1).is_some_and(|p| p.eq_ignore_ascii_case("Microsoft.Management")));
    (known && parts.iter().all(|p| !p.is_empty())).then_some(parts)
}

/// How much of the tenant an ARM scope covers: a subscription or wider is everything; a resource
/// group or a resource is named.
fn arm_scope(id: &str) -> Option<Scope> {
    let parts = arm_segments(id)?;
    let wide = match parts.as_slice() {
        [] => true,
        [s, _] if s.eq_ignore_ascii_case("subscriptions") => true,
        [p, m, g, _] => {
            p.eq_ignore_ascii_case("providers")
                && m.eq_ignore_ascii_case("Microsoft.Management")
                && g.eq_ignore_ascii_case("managementGroups")
        }
        _ => false,
    };
    Some(if wide { Scope::All } else { Scope::Specific })
}

/// Whether a resource is an Azure scope wider than a resource group (a subscription, a
/// management group, the tenant root).
pub fn is_arm_wide_scope(id: &str) -> bool {
    arm_scope(id) == Some(Scope::All)
}

/// An Azure Resource Manager id in words: "resource group acmeml-demo", "Key Vault acmeml-kv-x1",
/// "the whole subscription 0000…".
fn arm_phrase(id: &str) -> Option<String> {
    let parts = arm_segments(id)?;
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match parts.as_slice() {
        [] => return Some("every subscription of your tenant (the root scope)".into()),
        [s, sub] if eq(s, "subscriptions") => return Some(format!("the whole subscription {sub}")),
        [s, _, g, rg] if eq(s, "subscriptions") && eq(g, "resourceGroups") => {
            return Some(format!("resource group {rg}"))
        }
        [p, m, g, name] if eq(p, "providers") && eq(m, "Microsoft.Management") && eq(g, "managementGroups") => {
            return Some(format!("the whole management group {name}"))
        }
        _ => {}
    }
    // From the provider namespace on: `Namespace/type/name(/type/name)*`.
    let start = parts.iter().rposition(|p| eq(p, "providers")).map_or(0, |i| i + 1);
    let rest = &parts[start..];
    let (namespace, pairs) = rest.split_first()?;
    if pairs.is_empty() || pairs.len() % 2 != 0 {
        return None;
    }
    let types: Vec<&str> = pairs.iter().step_by(2).copied().collect();
    let names: Vec<&str> = pairs.iter().skip(1).step_by(2).copied().collect();
    let full_type = format!("{namespace}/{}", types.join("/")).to_ascii_lowercase();
    let name = names.last().copied().unwrap_or_default();
    let parent = |i: usize| names.get(i).copied().unwrap_or_default();
    Some(match full_type.as_str() {
        "microsoft.keyvault/vaults" => format!("Key Vault {name}"),
        "microsoft.keyvault/vaults/secrets" => format!("secret {name} in Key Vault {}", parent(0)),
        "microsoft.storage/storageaccounts" => format!("storage account {name}"),
        "microsoft.storage/storageaccounts/blobservices" => format!("the blobs of storage account {}", parent(0)),
        "microsoft.storage/storageaccounts/blobservices/containers" => {
            format!("container {name} in storage account {}", parent(0))
        }
        "microsoft.containerregistry/registries" => format!("container registry {name}"),
        "microsoft.managedidentity/userassignedidentities" => format!("managed identity {name}"),
        "microsoft.network/virtualnetworks" => format!("virtual network {name}"),
        "microsoft.network/virtualnetworks/subnets" => format!("subnet {name} of virtual network {}", parent(0)),
        "microsoft.compute/virtualmachines" => format!("virtual machine {name}"),
        _ => format!("{} {name}", types.last().copied().unwrap_or_default()),
    })
}

/// Phrases for a list of resources, joined.
pub fn phrases(resources: &[String]) -> String {
    let mut out: Vec<String> = Vec::new();
    for r in resources {
        let p = phrase(r);
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_in_words() {
        assert_eq!(phrase("*"), "every resource");
        assert_eq!(phrase("arn:aws:s3:::data"), "bucket data");
        assert_eq!(phrase("arn:aws:s3:::data/*"), "every object in bucket data");
        assert_eq!(phrase("arn:aws:iam::123456789012:role/acmeml-demo-instance"), "role acmeml-demo-instance");
        assert_eq!(phrase("arn:aws:ec2:eu-west-1:123456789012:instance/*"), "every instance in eu-west-1");
        assert_eq!(phrase("arn:aws:ec2:eu-west-1::image/*"), "every image in eu-west-1");
        assert_eq!(phrase("<DataKey.Arn>"), "DataKey (created by this plan)");
        assert_eq!(phrase("arn:aws:kms:eu-west-1:123456789012:key/abcd"), "key abcd");
        assert_eq!(phrase("//cloudresourcemanager.googleapis.com/projects/p-123"), "the whole project p-123");
        assert_eq!(phrase("//storage.googleapis.com/projects/_/buckets/b"), "bucket b");
        assert_eq!(
            phrase("//iam.googleapis.com/projects/p/serviceAccounts/a@p.iam.gserviceaccount.com"),
            "service account a@p.iam.gserviceaccount.com"
        );
        assert_eq!(
            phrase("//cloudkms.googleapis.com/projects/p/locations/eu/keyRings/r/cryptoKeys/data"),
            "key data (key ring r, eu)"
        );
        assert_eq!(phrase("//example.googleapis.com/x"), "//example.googleapis.com/x");
    }

    #[test]
    fn azure_ids_in_words() {
        let sub = "/subscriptions/00000000-0000-0000-0000-000000000001";
        assert_eq!(phrase(sub), "the whole subscription 00000000-0000-0000-0000-000000000001");
        assert_eq!(phrase(&format!("{sub}/resourceGroups/acmeml-demo")), "resource group acmeml-demo");
        assert_eq!(phrase(&format!("{sub}/resourcegroups/acmeml-demo/")), "resource group acmeml-demo");
        let rg = format!("{sub}/resourceGroups/acmeml-demo/providers");
        assert_eq!(
            phrase(&format!("{rg}/Microsoft.KeyVault/vaults/acmeml-kv-x1y2z3w4")),
            "Key Vault acmeml-kv-x1y2z3w4"
        );
        assert_eq!(
            phrase(&format!("{rg}/Microsoft.Storage/storageAccounts/acmemldatax1")),
            "storage account acmemldatax1"
        );
        assert_eq!(
            phrase(&format!("{rg}/Microsoft.ContainerRegistry/registries/acmemlregx1")),
            "container registry acmemlregx1"
        );
        assert_eq!(
            phrase(&format!("{rg}/Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/data")),
            "container data in storage account acct"
        );
        assert_eq!(
            phrase(&format!("{rg}/Microsoft.ManagedIdentity/userAssignedIdentities/acmeml-demo-machines")),
            "managed identity acmeml-demo-machines"
        );
        assert_eq!(phrase(&format!("{rg}/Microsoft.Web/sites/app")), "sites app");
        // As an ARM template writes a role assignment's scope, relative to its resource group.
        assert_eq!(phrase("Microsoft.KeyVault/vaults/kv1"), "Key Vault kv1");
        assert_eq!(phrase("/"), "every subscription of your tenant (the root scope)");
        assert_eq!(phrase("/providers/Microsoft.Management/managementGroups/root"), "the whole management group root");
        assert_eq!(phrase("/subscriptions"), "/subscriptions");
        assert_eq!(phrase("/etc/passwd"), "/etc/passwd");
        assert_eq!(scope(sub), Scope::All);
        assert_eq!(scope(&format!("{sub}/resourceGroups/g")), Scope::Specific);
        assert!(is_arm_wide_scope(sub) && !is_arm_wide_scope("Microsoft.KeyVault/vaults/kv1"));
    }

    #[test]
    fn scopes() {
        assert_eq!(scope("*"), Scope::All);
        assert_eq!(scope("arn:aws:s3:::data/*"), Scope::Specific);
        assert_eq!(scope("arn:aws:s3:::*"), Scope::Pattern);
        assert_eq!(scope("arn:aws:iam::1:role/*"), Scope::Pattern);
        assert_eq!(scope("arn:aws:iam::1:role/r"), Scope::Specific);
        assert_eq!(widest(&["*".into()], true), Scope::Specific);
        assert_eq!(widest(&["arn:aws:s3:::d".into(), "*".into()], false), Scope::All);
    }
}
