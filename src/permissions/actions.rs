//! One action as written → what it stands for: its access level(s), its expansion when it is a
//! wildcard, and whether it is one of the sensitive actions the risk rules name.

use super::azure_roles;
use super::table::{self, ActionInfo};
use super::verbs;
use super::{glob_match, is_wildcard, AccessLevel, ActionAccess, RiskKind};
use crate::model::Cloud;

/// What a wildcard (or a plain action) stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub pattern: String,
    /// The matching actions the bundled table lists (`service:Name`, with level), sorted.
    pub actions: Vec<(String, AccessLevel)>,
    /// How many actions of the whole reference it stands for, where known.
    pub total: Option<usize>,
    /// Whether `actions` lists all of them (false for `*` and for services not bundled).
    pub complete: bool,
}

impl Expansion {
    /// Number of listed actions per level, strongest last.
    pub fn per_level(&self) -> Vec<(AccessLevel, usize)> {
        AccessLevel::ALL
            .into_iter()
            .map(|l| (l, self.actions.iter().filter(|(_, al)| *al == l).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// Expand an action pattern against the reference. GCP has no bundled table: its expansion is
/// empty and incomplete. Azure's lists the operations of the bundled role table it matches
/// ([`super::azure_roles`]), never complete: Azure publishes thousands more.
pub fn expand(cloud: Cloud, pattern: &str) -> Expansion {
    let empty = Expansion { pattern: pattern.to_string(), actions: Vec::new(), total: None, complete: false };
    if cloud == Cloud::Azure {
        let actions: Vec<(String, AccessLevel)> = azure_roles::azure()
            .matching(pattern)
            .into_iter()
            .filter_map(|op| {
                let level = verbs::azure_levels(op)?.into_iter().max()?;
                Some((op.to_string(), level))
            })
            .collect();
        return Expansion { actions, ..empty };
    }
    if cloud != Cloud::Aws {
        return empty;
    }
    let t = table::aws();
    let listed = |infos: Vec<&ActionInfo>| -> Vec<(String, AccessLevel)> {
        infos.into_iter().map(|a| (a.full_name(), a.level)).collect()
    };
    if pattern == "*" {
        let actions = listed(t.matching("*"));
        let complete = actions.len() == t.total_actions();
        return Expansion { actions, total: Some(t.total_actions()), complete, ..empty };
    }
    let Some((service, name)) = pattern.split_once(':') else { return empty };
    let services: Vec<_> = t.services.iter().filter(|s| glob_match(service, s.prefix)).collect();
    if services.is_empty() {
        return Expansion { total: Some(0), complete: true, ..empty };
    }
    let actions = listed(t.matching(pattern));
    if services.iter().all(|s| s.bundled) {
        let total = Some(actions.len());
        return Expansion { actions, total, complete: true, ..empty };
    }
    // A service the table does not list: only `service:*` can be counted (from the summary).
    let total = (name == "*").then(|| services.iter().map(|s| s.actions).sum());
    Expansion { actions, total, complete: false, ..empty }
}

/// Classify one action as written in a statement.
pub fn classify(cloud: Cloud, action: &str) -> ActionAccess {
    match cloud {
        Cloud::Aws => classify_aws(action),
        Cloud::Gcp => classify_gcp(action),
        Cloud::Azure => classify_azure(action),
    }
}

fn unknown(action: &str, service: &str, wildcard: bool, note: String) -> ActionAccess {
    ActionAccess {
        action: action.to_string(),
        service: service.to_string(),
        level: None,
        levels: Vec::new(),
        wildcard,
        matches: Some(0),
        unknown: true,
        note: Some(note),
    }
}

fn known(action: &str, service: &str, levels: Vec<AccessLevel>, matches: Option<usize>) -> ActionAccess {
    ActionAccess {
        action: action.to_string(),
        service: service.to_string(),
        level: levels.iter().copied().max(),
        levels,
        wildcard: is_wildcard(action),
        matches,
        unknown: false,
        note: None,
    }
}

fn classify_aws(action: &str) -> ActionAccess {
    let t = table::aws();
    let bundled = t.bundled_services().join(", ");
    if action == "*" {
        let levels: Vec<AccessLevel> =
            AccessLevel::ALL.into_iter().filter(|l| t.services.iter().any(|s| s.levels().contains(l))).collect();
        let mut a = known(action, "*", levels, Some(t.total_actions()));
        a.note = Some(format!(
            "every action of every AWS service: {} actions in {} services in the reference",
            t.total_actions(),
            t.services.len()
        ));
        return a;
    }
    let Some((service, name)) = action.split_once(':') else {
        return unknown(action, "", false, "not of the form `service:Action`".into());
    };
    let service_lc = service.to_ascii_lowercase();
    let wildcard = is_wildcard(action);
    let services: Vec<_> = t.services.iter().filter(|s| glob_match(service, s.prefix)).collect();
    if services.is_empty() {
        return unknown(action, &service_lc, wildcard, format!("no AWS service has the prefix `{service}`"));
    }
    if !wildcard {
        if let Some(info) = t.lookup(action) {
            return known(action, info.service, vec![info.level], Some(1));
        }
        let note = if services.iter().all(|s| s.bundled) {
            format!("{service_lc} has no action `{name}` in the AWS Service Authorization Reference")
        } else {
            format!(
                "{service_lc} is not in cloudgrant's bundled action table ({bundled}), so `{name}` cannot be checked; add it to assets/permissions/generate.py"
            )
        };
        return unknown(action, &service_lc, false, note);
    }
    let e = expand(Cloud::Aws, action);
    if e.complete {
        if e.actions.is_empty() {
            return unknown(action, &service_lc, true, "matches no action in the reference".into());
        }
        let levels: Vec<AccessLevel> = e.per_level().into_iter().map(|(l, _)| l).collect();
        return known(action, &service_lc, levels, Some(e.actions.len()));
    }
    if name == "*" {
        let levels: Vec<AccessLevel> =
            AccessLevel::ALL.into_iter().filter(|l| services.iter().any(|s| s.levels().contains(l))).collect();
        let mut a = known(action, &service_lc, levels, e.total);
        a.note = Some(format!("every action of {service_lc}; the bundled table ({bundled}) does not list them"));
        return a;
    }
    unknown(
        action,
        &service_lc,
        true,
        format!("{service_lc} is not in cloudgrant's bundled action table ({bundled}), so what `{name}` matches cannot be counted"),
    )
}

fn classify_gcp(permission: &str) -> ActionAccess {
    let service = permission.split('.').next().unwrap_or_default();
    if is_wildcard(permission) {
        return unknown(permission, service, true, "GCP roles list exact permissions; wildcards are not valid".into());
    }
    match verbs::gcp_level(permission) {
        Some(level) => known(permission, service, vec![level], Some(1)),
        None if verbs::gcp_parts(permission).is_none() => {
            unknown(permission, service, false, "not of the form `service.resource.verb`".into())
        }
        None => {
            unknown(permission, service, false, format!("the verb of `{permission}` is not one cloudgrant classifies"))
        }
    }
}

fn classify_azure(action: &str) -> ActionAccess {
    let provider = action.split('/').next().unwrap_or_default();
    let wildcard = is_wildcard(action);
    match verbs::azure_levels(action) {
        // A wildcard spans the levels its verb says and those of the table operations it matches;
        // its count is not known (Azure publishes far more operations than the table holds).
        Some(mut levels) if wildcard => {
            for (_, l) in expand(Cloud::Azure, action).actions {
                if !levels.contains(&l) {
                    levels.push(l);
                }
            }
            levels.sort();
            known(action, provider, levels, None)
        }
        Some(levels) => known(action, provider, levels, Some(1)),
        None if verbs::azure_parts(action).is_none() => {
            unknown(action, provider, wildcard, "not of the form `Provider.Namespace/resource/verb`".into())
        }
        None => unknown(action, provider, wildcard, format!("the verb of `{action}` is not one cloudgrant classifies")),
    }
}

/// A sensitive action a written action stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sensitivity {
    pub kind: RiskKind,
    /// The sensitive action (`iam:PassRole`).
    pub action: &'static str,
    /// What it lets the holder do, in a few plain words.
    pub what: &'static str,
}

/// The sensitive actions `action` (a plain action or a wildcard) stands for.
pub fn sensitivity(cloud: Cloud, action: &str) -> Vec<Sensitivity> {
    let list: &[(&'static str, RiskKind, &'static str)] = match cloud {
        Cloud::Aws => AWS_SENSITIVE,
        Cloud::Gcp => GCP_SENSITIVE,
        Cloud::Azure => AZURE_SENSITIVE,
    };
    // The written action stands for the listed one, or the listed pattern covers the written one.
    let mut out: Vec<Sensitivity> = list
        .iter()
        .filter(|(a, _, _)| {
            glob_match(action, a)
                || (is_wildcard(a) && (glob_match(a, action) || glob_match(action, &a.replace(['*', '?'], "x"))))
        })
        .map(|(a, kind, what)| Sensitivity { kind: *kind, action: a, what })
        .collect();
    // Any other GCP setIamPolicy opens the resource it is on to others.
    if cloud == Cloud::Gcp && !is_wildcard(action) && action.ends_with(".setIamPolicy") && out.is_empty() {
        out.push(Sensitivity {
            kind: RiskKind::ResourceExposure,
            action: "*.setIamPolicy",
            what: "grant anyone access to the resource",
        });
    }
    out
}

use RiskKind::{CredentialsExposure as Cred, DataAccess as Data, PrivilegeEscalation as Esc, ResourceExposure as Exp};

/// AWS actions the risk rules name: privilege escalation (after Rhino Security Labs' and Bishop
/// Fox's lists, as parliament's auditor uses), credentials exposure (parliament's list), data
/// access, resource exposure.
const AWS_SENSITIVE: &[(&str, RiskKind, &str)] = &[
    ("iam:PassRole", Esc, "give a role to a service, which then acts with that role's permissions"),
    ("iam:CreatePolicyVersion", Esc, "rewrite a managed policy to grant anything"),
    ("iam:SetDefaultPolicyVersion", Esc, "switch a managed policy to another version"),
    ("iam:AttachRolePolicy", Esc, "attach any managed policy (even AdministratorAccess) to a role"),
    ("iam:AttachUserPolicy", Esc, "attach any managed policy to a user"),
    ("iam:AttachGroupPolicy", Esc, "attach any managed policy to a group"),
    ("iam:PutRolePolicy", Esc, "write an inline policy granting a role anything"),
    ("iam:PutUserPolicy", Esc, "write an inline policy granting a user anything"),
    ("iam:PutGroupPolicy", Esc, "write an inline policy granting a group anything"),
    ("iam:UpdateAssumeRolePolicy", Esc, "change who may assume a role"),
    ("iam:AddUserToGroup", Esc, "join a group with more permissions"),
    ("iam:PutRolePermissionsBoundary", Esc, "replace the boundary that caps a role's permissions"),
    ("iam:DeleteRolePermissionsBoundary", Esc, "remove the boundary that caps a role's permissions"),
    ("iam:PutUserPermissionsBoundary", Esc, "replace the boundary that caps a user's permissions"),
    ("iam:DeleteUserPermissionsBoundary", Esc, "remove the boundary that caps a user's permissions"),
    ("sts:AssumeRole", Esc, "act as other roles that trust this account"),
    ("lambda:UpdateFunctionCode", Esc, "replace a function's code, which runs with the function's role"),
    ("glue:UpdateDevEndpoint", Esc, "take over a Glue endpoint and its role"),
    ("ssm:SendCommand", Esc, "run commands on machines, with the machines' role"),
    ("ssm:StartSession", Esc, "open a shell on machines, with the machines' role"),
    ("iam:CreateAccessKey", Cred, "create long-lived access keys"),
    ("iam:UpdateAccessKey", Cred, "re-activate access keys"),
    ("iam:CreateLoginProfile", Cred, "set a console password for a user"),
    ("iam:UpdateLoginProfile", Cred, "change a user's console password"),
    ("iam:CreateServiceSpecificCredential", Cred, "create service passwords (CodeCommit, Keyspaces)"),
    ("iam:ResetServiceSpecificCredential", Cred, "reset service passwords"),
    ("sts:GetFederationToken", Cred, "obtain temporary credentials as a federated user"),
    ("sts:GetSessionToken", Cred, "obtain temporary session credentials"),
    ("sts:AssumeRoleWithSAML", Cred, "obtain credentials through a SAML login"),
    ("sts:AssumeRoleWithWebIdentity", Cred, "obtain credentials through a web identity token"),
    ("ec2:GetPasswordData", Cred, "read the administrator password of Windows machines"),
    ("ecr:GetAuthorizationToken", Cred, "obtain container registry credentials"),
    ("redshift:GetClusterCredentials", Cred, "obtain database credentials"),
    ("rds-db:connect", Cred, "log in to databases with IAM authentication"),
    ("sso:GetRoleCredentials", Cred, "obtain role credentials through IAM Identity Center"),
    ("cognito-identity:GetCredentialsForIdentity", Cred, "obtain credentials for an identity pool identity"),
    ("codepipeline:PollForJobs", Cred, "receive pipeline jobs with their credentials"),
    ("lightsail:GetInstanceAccessDetails", Cred, "obtain SSH keys of Lightsail machines"),
    ("iot:AssumeRoleWithCertificate", Cred, "obtain credentials with a device certificate"),
    ("gamelift:RequestUploadCredentials", Cred, "obtain upload credentials"),
    ("s3:GetObject", Data, "read objects"),
    ("s3:GetObjectVersion", Data, "read earlier versions of objects"),
    ("s3:PutObject", Data, "write and overwrite objects"),
    ("s3:DeleteObject", Data, "delete objects"),
    ("s3:DeleteObjectVersion", Data, "permanently delete object versions"),
    ("s3:DeleteBucket", Data, "delete buckets"),
    ("kms:Decrypt", Data, "decrypt data encrypted with the key"),
    ("kms:ReEncryptFrom", Data, "re-encrypt data away from the key"),
    ("kms:ScheduleKeyDeletion", Data, "schedule the key's deletion (its data becomes unreadable)"),
    ("kms:DisableKey", Data, "disable the key (its data becomes unreadable until re-enabled)"),
    ("secretsmanager:GetSecretValue", Data, "read secrets"),
    ("ssm:GetParameter", Data, "read parameters, including secure strings"),
    ("ssm:GetParameters", Data, "read parameters, including secure strings"),
    ("ssm:GetParametersByPath", Data, "read parameters, including secure strings"),
    ("dynamodb:GetItem", Data, "read table items"),
    ("dynamodb:BatchGetItem", Data, "read table items"),
    ("dynamodb:Query", Data, "read table items"),
    ("dynamodb:Scan", Data, "read whole tables"),
    ("ec2:CreateSnapshot", Data, "copy a disk's contents into a snapshot"),
    ("s3:PutBucketPolicy", Exp, "change the bucket policy (e.g. make the bucket public)"),
    ("s3:DeleteBucketPolicy", Exp, "remove the bucket policy and its protections"),
    ("s3:PutBucketAcl", Exp, "grant other accounts or everyone access through ACLs"),
    ("s3:PutObjectAcl", Exp, "grant access to objects through ACLs"),
    ("s3:PutObjectVersionAcl", Exp, "grant access to object versions through ACLs"),
    ("s3:PutBucketPublicAccessBlock", Exp, "turn off the bucket's block on public access"),
    ("s3:PutAccountPublicAccessBlock", Exp, "turn off the account's block on public access"),
    ("s3:PutAccessPointPolicy", Exp, "open an access point to others"),
    ("s3:PutBucketOwnershipControls", Exp, "re-enable object ACLs on the bucket"),
    ("kms:PutKeyPolicy", Exp, "change who may use or manage the key"),
    ("kms:CreateGrant", Exp, "let another principal use the key"),
    ("ec2:ModifySnapshotAttribute", Exp, "share disk snapshots with other accounts or the public"),
    ("ec2:ModifyImageAttribute", Exp, "share machine images with other accounts or the public"),
    ("ec2:AuthorizeSecurityGroupIngress", Exp, "open firewalls to inbound traffic"),
    ("lambda:AddPermission", Exp, "let others invoke a function"),
    ("sqs:AddPermission", Exp, "let other accounts use a queue"),
    ("sns:AddPermission", Exp, "let other accounts use a topic"),
    ("ecr:SetRepositoryPolicy", Exp, "open a container repository to others"),
    ("secretsmanager:PutResourcePolicy", Exp, "let others read a secret"),
];

const GCP_SENSITIVE: &[(&str, RiskKind, &str)] = &[
    ("iam.serviceAccounts.actAs", Esc, "run resources as a service account, with its permissions"),
    ("iam.serviceAccounts.implicitDelegation", Esc, "act as service accounts through a chain of delegation"),
    ("iam.serviceAccounts.setIamPolicy", Esc, "let anyone act as a service account"),
    ("iam.roles.create", Esc, "define new roles with any permission"),
    ("iam.roles.update", Esc, "add any permission to an existing role"),
    ("resourcemanager.projects.setIamPolicy", Esc, "grant anyone any role on the whole project"),
    ("resourcemanager.folders.setIamPolicy", Esc, "grant anyone any role on a folder"),
    ("resourcemanager.organizations.setIamPolicy", Esc, "grant anyone any role on the organization"),
    ("compute.instances.setServiceAccount", Esc, "change the service account machines run as"),
    ("compute.instances.setMetadata", Esc, "add SSH keys and startup scripts to machines"),
    ("iam.serviceAccountKeys.create", Cred, "create long-lived service account keys"),
    ("iam.serviceAccounts.getAccessToken", Cred, "obtain access tokens of a service account"),
    ("iam.serviceAccounts.getOpenIdToken", Cred, "obtain identity tokens of a service account"),
    ("iam.serviceAccounts.signBlob", Cred, "sign data as a service account"),
    ("iam.serviceAccounts.signJwt", Cred, "sign tokens as a service account"),
    ("storage.hmacKeys.create", Cred, "create storage HMAC keys"),
    ("storage.objects.get", Data, "read objects"),
    ("storage.objects.create", Data, "write objects"),
    ("storage.objects.update", Data, "change objects"),
    ("storage.objects.delete", Data, "delete objects"),
    ("cloudkms.cryptoKeyVersions.useToDecrypt", Data, "decrypt data encrypted with the key"),
    ("cloudkms.cryptoKeyVersions.destroy", Data, "destroy key versions (their data becomes unreadable)"),
    ("secretmanager.versions.access", Data, "read secrets"),
    ("bigquery.tables.getData", Data, "read tables"),
    ("storage.buckets.setIamPolicy", Exp, "grant anyone access to the bucket"),
    ("storage.objects.setIamPolicy", Exp, "grant anyone access to objects"),
    ("cloudkms.cryptoKeys.setIamPolicy", Exp, "grant anyone use of the key"),
    ("cloudkms.keyRings.setIamPolicy", Exp, "grant anyone use of the key ring's keys"),
    ("compute.firewalls.create", Exp, "open the network to inbound traffic"),
    ("compute.firewalls.update", Exp, "open the network to inbound traffic"),
];

/// Azure operations the risk rules name. An entry written as a pattern (`Microsoft.Authorization/
/// */write`) stands for every operation it matches.
const AZURE_SENSITIVE: &[(&str, RiskKind, &str)] = &[
    ("Microsoft.Authorization/roleAssignments/write", Esc, "assign any role, to anyone, within its scope"),
    ("Microsoft.Authorization/roleDefinitions/write", Esc, "define roles with any permission"),
    ("Microsoft.Authorization/elevateAccess/action", Esc, "make a Global Administrator User Access Administrator"),
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
        Esc,
        "attach a managed identity to machines, which then act with its permissions",
    ),
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
        Esc,
        "let outside identities sign in as a managed identity",
    ),
    ("Microsoft.Compute/virtualMachines/runCommand/action", Esc, "run commands on machines, with their identity"),
    ("Microsoft.Compute/virtualMachines/runCommands/write", Esc, "run commands on machines, with their identity"),
    (
        "Microsoft.Compute/virtualMachines/extensions/write",
        Esc,
        "install extensions that run code on machines, with their identity",
    ),
    (
        "Microsoft.Storage/storageAccounts/listKeys/action",
        Cred,
        "read the storage account keys (full access to its data)",
    ),
    ("Microsoft.Storage/storageAccounts/regenerateKey/action", Cred, "regenerate the storage account keys"),
    ("Microsoft.Storage/storageAccounts/listAccountSas/action", Cred, "create shared access signatures"),
    ("Microsoft.Storage/storageAccounts/listServiceSas/action", Cred, "create shared access signatures"),
    (
        "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        Cred,
        "obtain a key that signs shared access links to blobs, which work for whoever holds them for up to 7 days (within its own blob access)",
    ),
    ("Microsoft.ContainerRegistry/registries/listCredentials/action", Cred, "read the registry's admin credentials"),
    ("Microsoft.Web/sites/config/list/action", Cred, "read web apps' secrets and connection strings"),
    (
        "Microsoft.KeyVault/vaults/secrets/getSecret/action",
        Cred,
        "read secret values, which are often passwords and keys",
    ),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", Data, "read blobs"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", Data, "write and overwrite blobs"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action", Data, "write and overwrite blobs"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action", Data, "move and rename blobs"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete", Data, "delete blobs"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers/delete", Data, "delete containers with their blobs"),
    ("Microsoft.KeyVault/vaults/secrets/getSecret/action", Data, "read Key Vault secrets"),
    ("Microsoft.KeyVault/vaults/keys/decrypt/action", Data, "decrypt data with Key Vault keys"),
    ("Microsoft.KeyVault/vaults/keys/unwrap/action", Data, "unwrap keys that protect data"),
    ("Microsoft.ContainerRegistry/registries/pull/read", Data, "pull container images (the vendor's code, and whatever is baked into it)"),
    ("Microsoft.KeyVault/vaults/accessPolicies/write", Exp, "grant others access to a Key Vault"),
    ("Microsoft.KeyVault/vaults/write", Exp, "change a Key Vault's network rules and access model"),
    ("Microsoft.Network/networkSecurityGroups/securityRules/write", Exp, "open the network to inbound traffic"),
    ("Microsoft.Network/networkSecurityGroups/write", Exp, "open the network to inbound traffic"),
    ("Microsoft.Network/publicIPAddresses/write", Exp, "create public IP addresses that reach machines from the internet"),
    ("Microsoft.Network/publicIPAddresses/join/action", Exp, "give machines a public IP address"),
    ("Microsoft.Storage/storageAccounts/write", Exp, "change a storage account's network rules and public access"),
    (
        "Microsoft.Storage/storageAccounts/blobServices/containers/write",
        Exp,
        "change a container's public access level (Azure refuses it while the account disallows public blob access)",
    ),
    ("Microsoft.ContainerRegistry/registries/write", Exp, "enable anonymous pull or the admin user on a registry"),
    ("Microsoft.Authorization/*/write", Exp, "grant access within its scope: role assignments, policies, locks"),
    ("Microsoft.Authorization/*/delete", Exp, "remove role assignments, policies and locks that protect resources"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use AccessLevel::*;

    #[test]
    fn plain_aws_actions_get_the_table_level() {
        let a = classify(Cloud::Aws, "ec2:DescribeInstances");
        assert_eq!((a.level, a.matches, a.unknown, a.wildcard), (Some(List), Some(1), false, false));
        assert_eq!(a.service, "ec2");
        assert_eq!(classify(Cloud::Aws, "s3:GetObject").level, Some(Read));
        assert_eq!(classify(Cloud::Aws, "iam:PutRolePolicy").level, Some(PermissionsManagement));
    }

    #[test]
    fn unknown_aws_actions_are_flagged_with_the_reason() {
        let a = classify(Cloud::Aws, "ec2:DescribeEverything");
        assert!(a.unknown && a.level.is_none());
        assert!(a.note.as_deref().is_some_and(|n| n.contains("ec2 has no action `DescribeEverything`")), "{a:?}");
        let a = classify(Cloud::Aws, "frob:DoIt");
        assert!(a.unknown && a.note.as_deref().is_some_and(|n| n.contains("no AWS service has the prefix `frob`")));
        let a = classify(Cloud::Aws, "lambda:InvokeFunction");
        assert!(a.unknown && a.note.as_deref().is_some_and(|n| n.contains("not in cloudgrant's bundled action table")));
        let a = classify(Cloud::Aws, "ec2:Nothing*");
        assert!(a.unknown && a.wildcard);
        assert!(classify(Cloud::Aws, "DescribeInstances").unknown);
    }

    #[test]
    fn wildcards_expand_to_the_table_actions() {
        let table = table::aws();
        let describe_rows: Vec<&str> = table::ACTIONS_TSV
            .lines()
            .filter(|l| l.starts_with("ec2\tDescribe"))
            .filter_map(|l| l.split('\t').nth(1))
            .collect();
        let e = expand(Cloud::Aws, "ec2:Describe*");
        assert!(e.complete);
        assert_eq!(e.actions.len(), describe_rows.len());
        assert_eq!(e.total, Some(describe_rows.len()));
        assert!(e.actions.iter().all(|(a, _)| a.starts_with("ec2:Describe")));
        assert!(e.actions.iter().any(|(a, _)| a == "ec2:DescribeInstances"));
        let a = classify(Cloud::Aws, "ec2:Describe*");
        assert_eq!(a.matches, Some(describe_rows.len()));
        assert!(a.wildcard && !a.unknown);
        assert_eq!(a.levels, e.per_level().into_iter().map(|(l, _)| l).collect::<Vec<_>>());

        let all = expand(Cloud::Aws, "*");
        assert_eq!(all.total, Some(table.total_actions()));
        assert_eq!(all.actions.len(), table.actions.len());
        assert!(!all.complete, "* covers services the table does not list");
        let star = classify(Cloud::Aws, "*");
        assert_eq!(star.matches, Some(table.total_actions()));
        assert_eq!(star.level, Some(PermissionsManagement));

        let kms = classify(Cloud::Aws, "kms:*");
        assert_eq!(kms.matches, table.service("kms").map(|s| s.actions));
        assert_eq!(kms.levels, [List, Read, Tagging, Write, PermissionsManagement]);
        // A service that is not bundled: `svc:*` is counted from the summary, nothing listed.
        let lambda = expand(Cloud::Aws, "lambda:*");
        assert!(!lambda.complete && lambda.actions.is_empty());
        assert_eq!(lambda.total, table.service("lambda").map(|s| s.actions));
        assert!(!classify(Cloud::Aws, "lambda:*").unknown);
        assert!(classify(Cloud::Aws, "lambda:Get*").unknown);
    }

    #[test]
    fn gcp_and_azure_actions_are_classified_by_verb() {
        let g = classify(Cloud::Gcp, "storage.objects.get");
        assert_eq!((g.level, g.service.as_str(), g.unknown), (Some(Read), "storage", false));
        assert_eq!(classify(Cloud::Gcp, "iam.serviceAccounts.actAs").level, Some(Write));
        assert!(classify(Cloud::Gcp, "compute.instances.frobnicate").unknown);
        assert!(classify(Cloud::Gcp, "compute.instances.*").unknown);
        let z = classify(Cloud::Azure, "Microsoft.Authorization/roleAssignments/write");
        assert_eq!((z.level, z.service.as_str()), (Some(PermissionsManagement), "Microsoft.Authorization"));
        let w = classify(Cloud::Azure, "Microsoft.Compute/*");
        assert!(w.wildcard && !w.unknown && w.matches.is_none());
        assert!(classify(Cloud::Azure, "Microsoft.Compute/virtualMachines/explode").unknown);
    }

    #[test]
    fn sensitive_actions_are_found_through_wildcards() {
        let kinds = |cloud, a| sensitivity(cloud, a).into_iter().map(|s| s.kind).collect::<Vec<_>>();
        assert_eq!(kinds(Cloud::Aws, "iam:PassRole"), [Esc]);
        assert_eq!(kinds(Cloud::Aws, "iam:passrole"), [Esc]);
        assert_eq!(kinds(Cloud::Aws, "s3:GetObject"), [Data]);
        assert_eq!(kinds(Cloud::Aws, "s3:PutBucketPolicy"), [Exp]);
        assert_eq!(kinds(Cloud::Aws, "iam:CreateAccessKey"), [Cred]);
        assert_eq!(kinds(Cloud::Aws, "sts:GetFederationToken"), [Cred]);
        assert!(kinds(Cloud::Aws, "ec2:DescribeInstances").is_empty());
        assert!(kinds(Cloud::Aws, "ec2:Describe*").is_empty());
        let s3 = kinds(Cloud::Aws, "s3:*");
        assert!(s3.contains(&Data) && s3.contains(&Exp) && !s3.contains(&Esc));
        assert!(kinds(Cloud::Aws, "*").contains(&Esc));
        assert_eq!(kinds(Cloud::Gcp, "iam.serviceAccounts.actAs"), [Esc]);
        assert_eq!(kinds(Cloud::Gcp, "storage.objects.get"), [Data]);
        assert_eq!(kinds(Cloud::Gcp, "pubsub.topics.setIamPolicy"), [Exp]);
        assert_eq!(kinds(Cloud::Gcp, "iam.serviceAccountKeys.create"), [Cred]);
        assert_eq!(kinds(Cloud::Azure, "microsoft.authorization/roleassignments/write"), [Esc, Exp]);
        assert_eq!(kinds(Cloud::Azure, "Microsoft.Storage/storageAccounts/listKeys/action"), [Cred]);
        assert!(kinds(Cloud::Azure, "*/read").contains(&Data));
        assert_eq!(kinds(Cloud::Azure, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"), [Data]);
        assert_eq!(kinds(Cloud::Azure, "Microsoft.KeyVault/vaults/secrets/getSecret/action"), [Cred, Data]);
        assert_eq!(kinds(Cloud::Azure, "Microsoft.ContainerRegistry/registries/pull/read"), [Data]);
        assert_eq!(kinds(Cloud::Azure, "Microsoft.Compute/virtualMachines/extensions/write"), [Esc]);
        assert_eq!(kinds(Cloud::Azure, "Microsoft.Storage/storageAccounts/regenerateKey/action"), [Cred]);
        assert_eq!(kinds(Cloud::Azure, "Microsoft.Network/publicIPAddresses/write"), [Exp]);
        // Every write under Microsoft.Authorization opens access; assignments escalate as well.
        assert_eq!(kinds(Cloud::Azure, "Microsoft.Authorization/locks/write"), [Exp]);
        assert_eq!(kinds(Cloud::Azure, "Microsoft.Authorization/roleAssignments/write"), [Esc, Exp]);
        assert!(kinds(Cloud::Azure, "Microsoft.Authorization/*/read").is_empty());
        assert!(kinds(Cloud::Azure, "Microsoft.Authorization/*").contains(&Exp));
        assert!(kinds(Cloud::Azure, "*").contains(&Esc));
        assert!(kinds(Cloud::Azure, "Microsoft.Compute/virtualMachines/read").is_empty());
    }

    #[test]
    fn azure_wildcards_expand_against_the_role_table() {
        let e = expand(Cloud::Azure, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*");
        assert!(!e.complete && e.total.is_none());
        assert_eq!(e.actions.len(), 5, "{:?}", e.actions);
        assert!(e.per_level().iter().any(|(l, _)| *l == Read) && e.per_level().iter().any(|(l, _)| *l == Write));
        let a = classify(Cloud::Azure, "Microsoft.Storage/*");
        assert!(a.wildcard && a.levels.contains(&List), "the table's containers/read is List: {a:?}");
        assert!(expand(Cloud::Gcp, "storage.*").actions.is_empty());
    }
}
