//! The bundled Azure role table (`assets/permissions/azure-roles.json`): the built-in roles the
//! Azure templates assign, with their exact `actions`, `notActions`, `dataActions` and
//! `notDataActions` as Microsoft's built-in roles reference publishes them, and the operations the
//! templates grant whose verb alone does not say their access level (`getSecret/action` reads).
//!
//! Looking a role up never fails: a role definition id the table does not hold is
//! [`RoleLookup::Unknown`], so the preview reports it instead of dropping the assignment.

use std::sync::OnceLock;

use serde::Deserialize;

use super::{glob_match, AccessLevel};

/// The table, as committed.
pub const ROLES_JSON: &str = include_str!("../../assets/permissions/azure-roles.json");

/// One built-in role.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureRole {
    /// The role definition's GUID (the last segment of its id), lowercase.
    pub id: String,
    pub role_name: String,
    pub description: String,
    /// The reference page it was copied from.
    pub source: String,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

impl AzureRole {
    /// The actions followed by the data actions: everything the role grants, as written.
    pub fn granted(&self) -> Vec<String> {
        self.actions.iter().chain(&self.data_actions).cloned().collect()
    }

    /// The not-actions followed by the not-data-actions: what the role takes back.
    pub fn withheld(&self) -> Vec<String> {
        self.not_actions.iter().chain(&self.not_data_actions).cloned().collect()
    }
}

/// An operation whose level the table fixes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureOperation {
    pub operation: String,
    pub level: AccessLevel,
    /// A data action (`dataActions`), not a management action.
    pub data: bool,
    /// Why this level, in a few words.
    pub why: String,
}

#[derive(Debug, Deserialize)]
struct RawOperation {
    operation: String,
    level: String,
    data: bool,
    why: String,
}

#[derive(Debug, Deserialize)]
struct RawSource {
    reference: String,
    files: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RawTable {
    source: RawSource,
    roles: Vec<AzureRole>,
    operations: Vec<RawOperation>,
}

#[derive(Debug, Default)]
pub struct AzureRoles {
    pub roles: Vec<AzureRole>,
    pub operations: Vec<AzureOperation>,
    /// Where the definitions come from: the reference, then each page at its commit.
    pub source: Vec<String>,
    /// What did not parse (a unit test keeps this empty); the rest of the table still serves.
    pub errors: Vec<String>,
}

/// What a role definition id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleLookup<'a> {
    Known(&'a AzureRole),
    /// Not a built-in role the table holds (a custom role, or a built-in one cloudgrant's templates
    /// do not use): the preview cannot list what it grants.
    Unknown,
}

/// The table, parsed once.
pub fn azure() -> &'static AzureRoles {
    static TABLE: OnceLock<AzureRoles> = OnceLock::new();
    TABLE.get_or_init(|| AzureRoles::parse(ROLES_JSON))
}

/// The GUID of a role definition id: a bare GUID, `/providers/Microsoft.Authorization/
/// roleDefinitions/<guid>`, or the same below a subscription. Lowercase; `None` when there is none.
pub fn role_guid(role_definition_id: &str) -> Option<String> {
    let last = role_definition_id.trim().trim_end_matches('/').rsplit('/').next()?;
    is_guid(last).then(|| last.to_ascii_lowercase())
}

/// Whether `s` is a GUID (`8-4-4-4-12` hexadecimal digits).
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

impl AzureRoles {
    /// Parse the table; whatever does not parse is kept in `errors`, never a panic.
    pub fn parse(text: &str) -> AzureRoles {
        let raw: RawTable = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => return AzureRoles { errors: vec![format!("azure-roles.json: {e}")], ..AzureRoles::default() },
        };
        let mut out = AzureRoles::default();
        out.source.push(raw.source.reference);
        out.source.extend(raw.source.files);
        for mut role in raw.roles {
            if !is_guid(&role.id) {
                out.errors.push(format!("role `{}`: id `{}` is not a GUID", role.role_name, role.id));
                continue;
            }
            role.id = role.id.to_ascii_lowercase();
            out.roles.push(role);
        }
        for op in raw.operations {
            match AccessLevel::from_title(&op.level) {
                Some(level) => {
                    out.operations.push(AzureOperation { operation: op.operation, level, data: op.data, why: op.why })
                }
                None => out.errors.push(format!("operation `{}`: unknown level `{}`", op.operation, op.level)),
            }
        }
        out
    }

    /// The role a role definition id (GUID or ARM id) names.
    pub fn lookup(&self, role_definition_id: &str) -> RoleLookup<'_> {
        let Some(guid) = role_guid(role_definition_id) else { return RoleLookup::Unknown };
        match self.roles.iter().find(|r| r.id == guid) {
            Some(r) => RoleLookup::Known(r),
            None => RoleLookup::Unknown,
        }
    }

    /// A built-in role by its name (`AcrPull`), ignoring case.
    pub fn by_name(&self, name: &str) -> Option<&AzureRole> {
        self.roles.iter().find(|r| r.role_name.eq_ignore_ascii_case(name))
    }

    /// The level the table fixes for one operation (ignoring case, as Azure does).
    pub fn operation(&self, operation: &str) -> Option<&AzureOperation> {
        self.operations.iter().find(|o| o.operation.eq_ignore_ascii_case(operation))
    }

    /// Whether an operation is a data action: one the table marks so, or one a role lists under
    /// `dataActions`.
    pub fn is_data_action(&self, operation: &str) -> bool {
        self.operation(operation).is_some_and(|o| o.data)
            || self.roles.iter().flat_map(|r| &r.data_actions).any(|d| d.eq_ignore_ascii_case(operation))
    }

    /// Every plain operation the table names (its operations, and every action and data action
    /// of its roles), once each, sorted.
    pub fn known_operations(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .operations
            .iter()
            .map(|o| o.operation.as_str())
            .chain(self.roles.iter().flat_map(|r| r.granted_iter()))
            .filter(|a| !super::is_wildcard(a))
            .collect();
        out.sort_by_key(|a| a.to_ascii_lowercase());
        out.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        out
    }

    /// The table's plain operations a pattern matches.
    pub fn matching(&self, pattern: &str) -> Vec<&str> {
        self.known_operations().into_iter().filter(|op| glob_match(pattern, op)).collect()
    }
}

impl AzureRole {
    fn granted_iter(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().chain(&self.data_actions).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_whole() {
        let t = azure();
        assert!(t.errors.is_empty(), "{:?}", t.errors);
        assert_eq!(t.roles.len(), 4);
        assert!(t.source.iter().any(|s| s.contains("MicrosoftDocs/azure-docs")));
        assert!(t.source.iter().filter(|s| s.contains('@')).count() == 3, "each page at its commit");
        for r in &t.roles {
            assert!(t.source.iter().any(|s| s.contains(&r.source)), "{}: source {}", r.role_name, r.source);
        }
    }

    #[test]
    fn roles_are_found_by_guid_in_any_form() {
        let t = azure();
        let name = |id: &str| match t.lookup(id) {
            RoleLookup::Known(r) => Some(r.role_name.clone()),
            RoleLookup::Unknown => None,
        };
        assert_eq!(name("4633458b-17de-408a-b874-0445c86b69e6").as_deref(), Some("Key Vault Secrets User"));
        assert_eq!(name("7F951DDA-4ED3-4680-A7CA-43FE172D538D").as_deref(), Some("AcrPull"));
        assert_eq!(
            name("/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1").as_deref(),
            Some("Storage Blob Data Reader")
        );
        assert_eq!(
            name("/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe").as_deref(),
            Some("Storage Blob Data Contributor")
        );
        // Owner is a real built-in role, but not one the table holds: unknown, not dropped.
        assert_eq!(t.lookup("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"), RoleLookup::Unknown);
        assert_eq!(t.lookup("not-a-guid"), RoleLookup::Unknown);
        assert_eq!(t.lookup(""), RoleLookup::Unknown);
    }

    #[test]
    fn the_definitions_are_the_published_ones() {
        let t = azure();
        let role = |n: &str| t.by_name(n).cloned().unwrap_or_else(|| panic!("{n}"));
        let kv = role("Key Vault Secrets User");
        assert!(kv.actions.is_empty());
        assert_eq!(
            kv.data_actions,
            [
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
            ]
        );
        assert_eq!(role("AcrPull").granted(), ["Microsoft.ContainerRegistry/registries/pull/read"]);
        let reader = role("Storage Blob Data Reader");
        assert_eq!(reader.actions.len(), 2);
        assert_eq!(reader.data_actions, ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]);
        let contributor = role("Storage Blob Data Contributor");
        assert_eq!((contributor.actions.len(), contributor.data_actions.len()), (4, 5));
        assert!(t.roles.iter().all(|r| r.withheld().is_empty()));
    }

    #[test]
    fn broken_tables_report_instead_of_panicking() {
        let t = AzureRoles::parse("{");
        assert!(t.roles.is_empty() && !t.errors.is_empty());
        let t = AzureRoles::parse(
            r#"{"source": {"reference": "r", "files": []},
                "roles": [{"id": "x", "roleName": "Bad", "description": "", "source": "", "actions": [],
                           "notActions": [], "dataActions": [], "notDataActions": []}],
                "operations": [{"operation": "A/b/c", "level": "Huge", "data": false, "why": ""}]}"#,
        );
        assert_eq!(t.errors.len(), 2, "{:?}", t.errors);
        assert_eq!(t.lookup("x"), RoleLookup::Unknown);
    }

    #[test]
    fn operations_and_wildcards_against_the_table() {
        let t = azure();
        assert_eq!(
            t.operation("microsoft.keyvault/vaults/secrets/getsecret/action").map(|o| o.level),
            Some(AccessLevel::Read)
        );
        assert!(t.is_data_action("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"));
        assert!(!t.is_data_action("Microsoft.ContainerRegistry/registries/pull/read"));
        let blobs = t.matching("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*");
        assert_eq!(blobs.len(), 5, "{blobs:?}");
        assert!(t.matching("*/read").iter().all(|o| o.to_ascii_lowercase().ends_with("/read")));
        assert!(t.matching("Microsoft.Compute/*").len() >= 2);
    }
}
