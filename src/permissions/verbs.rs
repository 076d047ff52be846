//! GCP permissions (`service.resource.verb`) and Azure actions (`Provider/resource/verb`) are
//! classified by their verb: neither cloud publishes access levels, so the verbs are mapped onto the
//! AWS scale. An Azure operation whose verb misleads has its level in the bundled table
//! ([`super::azure_roles`]). A verb not listed here is reported as unknown, never guessed.

use super::AccessLevel;

/// A GCP permission split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcpPermission<'a> {
    pub service: &'a str,
    pub resource: &'a str,
    pub verb: &'a str,
}

/// `compute.instances.start` → (compute, instances, start). Some permissions have a sub-resource
/// (`compute.instances.osAdminLogin` has three parts, `resourcemanager.tagValueBindings.create`
/// too); the verb is always the last part and the service the first.
pub fn gcp_parts(permission: &str) -> Option<GcpPermission<'_>> {
    let parts: Vec<&str> = permission.split('.').collect();
    if parts.len() < 3 || parts.iter().any(|p| p.is_empty() || p.contains(['/', ':', ' '])) {
        return None;
    }
    let verb = parts[parts.len() - 1];
    let resource = parts[parts.len() - 2];
    Some(GcpPermission { service: parts[0], resource, verb })
}

/// The access level of a GCP permission, from its verb (and resource, for IAM roles).
pub fn gcp_level(permission: &str) -> Option<AccessLevel> {
    let p = gcp_parts(permission)?;
    let verb = p.verb;
    if p.service == "iam" && p.resource == "roles" && ["create", "update", "delete", "undelete"].contains(&verb) {
        // Defining what a role may do is permissions management, as iam:CreatePolicy is on AWS.
        return Some(AccessLevel::PermissionsManagement);
    }
    if p.resource == "tagValueBindings" || p.resource == "tagBindings" {
        return match verb {
            "list" => Some(AccessLevel::List),
            "get" => Some(AccessLevel::Read),
            _ => Some(AccessLevel::Tagging),
        };
    }
    Some(match verb {
        "setIamPolicy" => AccessLevel::PermissionsManagement,
        "setLabels" | "setTags" | "updateLabels" | "createTagBinding" | "deleteTagBinding" => AccessLevel::Tagging,
        "list" | "aggregatedList" | "listEffectiveTags" | "listTagBindings" | "search" => AccessLevel::List,
        "getIamPolicy" | "testIamPermissions" | "read" | "export" | "access" => AccessLevel::Read,
        v if v.starts_with("list") => AccessLevel::List,
        v if v.starts_with("get") => AccessLevel::Read,
        "actAs"
        | "implicitDelegation"
        | "signBlob"
        | "signJwt"
        | "use"
        | "useToDecrypt"
        | "useToEncrypt"
        | "useToSign"
        | "useToVerify"
        | "create"
        | "update"
        | "patch"
        | "delete"
        | "undelete"
        | "start"
        | "stop"
        | "reset"
        | "suspend"
        | "resume"
        | "insert"
        | "enable"
        | "disable"
        | "restore"
        | "destroy"
        | "move"
        | "resize"
        | "attachDisk"
        | "detachDisk"
        | "setMetadata"
        | "setServiceAccount"
        | "setMachineType"
        | "setScheduling"
        | "setDeletionProtection"
        | "addAccessConfig"
        | "deleteAccessConfig"
        | "upload"
        | "cancel"
        | "run"
        | "invoke"
        | "publish"
        | "consume"
        | "connect"
        | "login"
        | "osLogin"
        | "osAdminLogin"
        | "rotate" => AccessLevel::Write,
        v if ["create", "update", "delete", "set", "add", "remove", "use", "attach", "detach"]
            .iter()
            .any(|prefix| v.starts_with(prefix)) =>
        {
            AccessLevel::Write
        }
        _ => return None,
    })
}

/// An Azure action split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureAction<'a> {
    /// The resource provider namespace (`Microsoft.Compute`), or `*`.
    pub provider: &'a str,
    /// The resource path between provider and verb (`virtualMachines`, `storageAccounts/blobServices/containers/blobs`).
    pub resource: String,
    /// `read`, `write`, `delete`, `action` or `*`.
    pub verb: &'a str,
    /// For `…/<operation>/action`: the operation (`start`, `listKeys`).
    pub operation: Option<&'a str>,
}

/// `Microsoft.Compute/virtualMachines/start/action` → provider, resource path, verb, operation.
pub fn azure_parts(action: &str) -> Option<AzureAction<'_>> {
    if action == "*" {
        return Some(AzureAction { provider: "*", resource: "*".into(), verb: "*", operation: None });
    }
    let parts: Vec<&str> = action.split('/').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let provider = parts[0];
    let namespace = provider.contains('.') && !provider.starts_with('.');
    if provider != "*" && !namespace {
        return None;
    }
    let verb = parts[parts.len() - 1];
    let (resource_parts, operation) = if verb.eq_ignore_ascii_case("action") && parts.len() >= 3 {
        (&parts[1..parts.len() - 2], Some(parts[parts.len() - 2]))
    } else {
        (&parts[1..parts.len() - 1], None)
    };
    Some(AzureAction { provider, resource: resource_parts.join("/"), verb, operation })
}

/// The access level of an Azure action (or data action), from its verb. Returns every level for a
/// wildcard verb (`Microsoft.Compute/*`).
pub fn azure_levels(action: &str) -> Option<Vec<AccessLevel>> {
    let a = azure_parts(action)?;
    if !super::is_wildcard(action) {
        // Operations whose verb misleads (`getSecret/action` reads) have their level in the table.
        if let Some(op) = super::azure_roles::azure().operation(action) {
            return Some(vec![op.level]);
        }
    }
    let verb = a.verb.to_ascii_lowercase();
    let provider = a.provider.to_ascii_lowercase();
    let resource = a.resource.to_ascii_lowercase();
    let authorization = provider == "microsoft.authorization";
    let tags = resource == "tags" || resource.ends_with("/tags");
    let level = match verb.as_str() {
        "*" => {
            // Role assignments and definitions live in Microsoft.Authorization only.
            return Some(if provider == "*" {
                AccessLevel::ALL.to_vec()
            } else if authorization {
                vec![AccessLevel::Read, AccessLevel::PermissionsManagement]
            } else if tags || provider == "microsoft.resources" {
                vec![AccessLevel::Read, AccessLevel::Tagging, AccessLevel::Write]
            } else {
                vec![AccessLevel::Read, AccessLevel::Write]
            });
        }
        "read" => AccessLevel::Read,
        "write" | "delete" if authorization => AccessLevel::PermissionsManagement,
        "write" | "delete" if tags => AccessLevel::Tagging,
        "write" | "delete" => AccessLevel::Write,
        "action" => {
            let op = a.operation.unwrap_or_default().to_ascii_lowercase();
            if authorization {
                AccessLevel::PermissionsManagement
            } else if op.starts_with("list") || op.starts_with("get") {
                // listKeys/getSecret return contents (and credentials): Read, flagged separately.
                AccessLevel::Read
            } else {
                AccessLevel::Write
            }
        }
        _ => return None,
    };
    Some(vec![level])
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessLevel::*;

    #[test]
    fn gcp_permissions_are_classified_by_verb() {
        let cases = [
            ("compute.instances.list", Some(List)),
            ("compute.instances.aggregatedList", Some(List)),
            ("compute.instances.get", Some(Read)),
            ("storage.objects.get", Some(Read)),
            ("storage.buckets.getIamPolicy", Some(Read)),
            ("compute.instances.create", Some(Write)),
            ("compute.instances.start", Some(Write)),
            ("compute.instances.stop", Some(Write)),
            ("compute.instances.delete", Some(Write)),
            ("compute.instances.setMetadata", Some(Write)),
            ("cloudkms.cryptoKeyVersions.useToDecrypt", Some(Write)),
            ("iam.serviceAccounts.actAs", Some(Write)),
            ("storage.buckets.setIamPolicy", Some(PermissionsManagement)),
            ("resourcemanager.projects.setIamPolicy", Some(PermissionsManagement)),
            ("iam.roles.update", Some(PermissionsManagement)),
            ("compute.instances.setLabels", Some(Tagging)),
            ("resourcemanager.tagValueBindings.create", Some(Tagging)),
            ("compute.instances.frobnicate", None),
            ("compute.instances", None),
            ("ec2:DescribeInstances", None),
        ];
        for (p, want) in cases {
            assert_eq!(gcp_level(p), want, "{p}");
        }
        assert_eq!(
            gcp_parts("iam.serviceAccounts.actAs"),
            Some(GcpPermission { service: "iam", resource: "serviceAccounts", verb: "actAs" })
        );
    }

    #[test]
    fn azure_actions_are_classified_by_verb() {
        let one = |a: &str| azure_levels(a).filter(|l| l.len() == 1).map(|l| l[0]);
        assert_eq!(one("Microsoft.Compute/virtualMachines/read"), Some(Read));
        assert_eq!(one("Microsoft.Compute/virtualMachines/write"), Some(Write));
        assert_eq!(one("Microsoft.Compute/virtualMachines/delete"), Some(Write));
        assert_eq!(one("Microsoft.Compute/virtualMachines/start/action"), Some(Write));
        assert_eq!(one("Microsoft.Storage/storageAccounts/listKeys/action"), Some(Read));
        assert_eq!(one("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"), Some(Read));
        assert_eq!(one("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"), Some(Write));
        assert_eq!(one("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action"), Some(Write));
        assert_eq!(one("Microsoft.Storage/storageAccounts/blobServices/containers/read"), Some(List));
        // The table fixes what the verb would get wrong: these read, though they are actions.
        assert_eq!(one("Microsoft.KeyVault/vaults/secrets/getSecret/action"), Some(Read));
        assert_eq!(one("Microsoft.KeyVault/vaults/secrets/readMetadata/action"), Some(Read));
        assert_eq!(one("Microsoft.ContainerRegistry/registries/pull/read"), Some(Read));
        assert_eq!(one("Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"), Some(Write));
        assert_eq!(one("Microsoft.Authorization/roleDefinitions/write"), Some(PermissionsManagement));
        assert_eq!(one("Microsoft.Authorization/locks/delete"), Some(PermissionsManagement));
        assert_eq!(one("Microsoft.Compute/virtualMachines/tags/write"), Some(Tagging));
        assert_eq!(one("Microsoft.Authorization/roleAssignments/write"), Some(PermissionsManagement));
        assert_eq!(one("Microsoft.Authorization/roleAssignments/read"), Some(Read));
        assert_eq!(one("Microsoft.Resources/tags/write"), Some(Tagging));
        assert_eq!(one("Microsoft.Compute/virtualMachines/frobnicate"), None);
        assert_eq!(one("virtualMachines/read"), None, "no provider namespace");
        assert_eq!(azure_levels("Microsoft.Compute/*"), Some(vec![Read, Write]));
        assert_eq!(azure_levels("Microsoft.Authorization/*"), Some(vec![Read, PermissionsManagement]));
        assert_eq!(azure_levels("*").map(|l| l.len()), Some(5));
        assert_eq!(azure_levels("*/read"), Some(vec![Read]));
        let parts = azure_parts("Microsoft.Compute/virtualMachines/start/action").expect("parts");
        assert_eq!(
            (parts.provider, parts.resource.as_str(), parts.operation),
            ("Microsoft.Compute", "virtualMachines", Some("start"))
        );
    }
}
