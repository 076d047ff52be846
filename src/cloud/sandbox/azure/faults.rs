//! `--sandbox-fail <logical id>` for Azure: the ids are the templates' `metadata.cloudgrant.id`
//! (`Vault`, `VendorRoleAssignment`, `DataAccount`…) and `VendorServicePrincipal`. A deployment
//! step whose resource carries a failing id ends with the error Azure gives for that kind of
//! resource; `VendorServicePrincipal` makes Microsoft Graph refuse to create the vendor's service
//! principal.

use serde_json::Value;

use super::state::{CALLER, CALLER_OBJECT_ID};
use super::state::{GROUP_TYPE, REGISTRY_TYPE, ROLE_ASSIGNMENT_TYPE, ROLE_DEFINITION_TYPE, STORAGE_TYPE, VAULT_TYPE};
use crate::cloud::CloudError;
use crate::pack::Pack;
use crate::plan::azure::SERVICE_PRINCIPAL_ID;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults(Vec<String>);

impl Faults {
    /// The faults for these logical ids; an id the pack's Azure templates do not have is an
    /// error that lists the ones they do.
    pub fn new(ids: &[String], pack: &Pack) -> Result<Faults, CloudError> {
        if ids.is_empty() {
            return Ok(Faults::default());
        }
        let known = known_ids(pack)?;
        for id in ids {
            if !known.iter().any(|k| k == id) {
                return Err(CloudError::failed(
                    format!("--sandbox-fail `{id}` is not a resource of the Azure templates"),
                    format!("Use a logical id: {}.", known.join(", ")),
                ));
            }
        }
        Ok(Faults(ids.to_vec()))
    }

    pub fn fails(&self, id: &str) -> bool {
        self.0.iter().any(|f| f == id)
    }

    pub fn service_principal(&self) -> bool {
        self.fails(SERVICE_PRINCIPAL_ID)
    }
}

/// Every logical id of the pack's Azure templates (nested templates included), then
/// `VendorServicePrincipal`.
pub fn known_ids(pack: &Pack) -> Result<Vec<String>, CloudError> {
    let mut ids = Vec::new();
    for file in pack.files_under("azure").into_iter().filter(|f| f.path.ends_with(".json")) {
        let template: Value = serde_json::from_str(file.text).map_err(|e| {
            CloudError::failed(
                format!("{} cannot be read: {e}", pack.display_path(file.path)),
                "Fix the template (`cloudgrant vendor check` names what is wrong).",
            )
        })?;
        collect(&template, &mut ids);
    }
    ids.push(SERVICE_PRINCIPAL_ID.to_string());
    Ok(ids)
}

fn collect(template: &Value, out: &mut Vec<String>) {
    for r in template["resources"].as_array().into_iter().flatten() {
        if let Some(id) = r["metadata"]["cloudgrant"]["id"].as_str() {
            out.push(id.to_string());
        }
        if r["properties"]["template"].is_object() {
            collect(&r["properties"]["template"], out);
        }
    }
}

/// The failure Azure reports when creating a resource of `type_` named `name` at `id` goes
/// wrong in the way a support rehearsal most often meets: `(status code name, error)`.
pub fn failure(type_: &str, name: &str, id: &str, logical: &str) -> (String, Value) {
    let t = type_.to_ascii_lowercase();
    let (status, code, message) = if t == VAULT_TYPE.to_ascii_lowercase() {
        (
            "Conflict",
            "VaultAlreadyExists",
            format!("The vault name '{name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information on VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740."),
        )
    } else if t == STORAGE_TYPE.to_ascii_lowercase() {
        ("Conflict", "StorageAccountAlreadyTaken", format!("The storage account named {name} is already taken."))
    } else if t == REGISTRY_TYPE.to_ascii_lowercase() {
        (
            "Conflict",
            "AlreadyInUse",
            format!("The registry DNS name {name}.azurecr.io is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability"),
        )
    } else if t == ROLE_DEFINITION_TYPE.to_ascii_lowercase() {
        (
            "Conflict",
            "RoleDefinitionWithSameNameExists",
            "A custom role with the same name already exists in this directory. Use a different name.".to_string(),
        )
    } else {
        // Everything else (groups, role assignments, networks, identities, nested deployments):
        // the signed-in user may not write it.
        let action = if t == GROUP_TYPE.to_ascii_lowercase() {
            "Microsoft.Resources/subscriptions/resourceGroups/write".to_string()
        } else if t == ROLE_ASSIGNMENT_TYPE.to_ascii_lowercase() {
            "Microsoft.Authorization/roleAssignments/write".to_string()
        } else {
            format!("{type_}/write")
        };
        (
            "Forbidden",
            "AuthorizationFailed",
            format!("The client '{CALLER}' with object id '{CALLER_OBJECT_ID}' does not have authorization to perform action '{action}' over scope '{id}' or the scope is invalid. If access was recently granted, please refresh your credentials."),
        )
    };
    let message = format!("{message}{}", super::reply::injected(logical));
    (status.to_string(), serde_json::json!({"code": code, "message": message}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_the_templates() {
        let ids = known_ids(&Pack::bundled()).unwrap();
        for id in ["VendorGroup", "Vault", "VendorRoleAssignment", "MachinesDataAccess", "DataAccount", "StorageGroup"]
        {
            assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
        }
        assert_eq!(ids.last().map(String::as_str), Some(SERVICE_PRINCIPAL_ID));
        let bundled = Pack::bundled();
        assert!(Faults::new(&["Vault".into()], &bundled).unwrap().fails("Vault"));
        let e = Faults::new(&["Nope".into()], &bundled).unwrap_err();
        assert!(e.to_string().contains("Nope") && e.next_step().contains("VendorRoleAssignment"), "{e}");
    }

    #[test]
    fn ids_come_from_the_pack_in_use() {
        let automl = Pack::load(std::path::Path::new("examples/automl")).unwrap();
        let ids = known_ids(&automl).unwrap();
        for id in ["DataGroup", "DataAccount", "TrainingContainer", "VendorContainerAccess", SERVICE_PRINCIPAL_ID] {
            assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
        }
        assert!(Faults::new(&["TrainingContainer".into()], &automl).unwrap().fails("TrainingContainer"));
        let e = Faults::new(&["Vault".into()], &automl).unwrap_err();
        assert!(e.next_step().contains("TrainingContainer") && !e.next_step().contains("Vault,"), "{e}");
    }

    #[test]
    fn failures_are_the_errors_azure_gives() {
        let (status, e) = failure(VAULT_TYPE, "acme-kv-x", "/x", "Vault");
        assert_eq!((status.as_str(), e["code"].as_str()), ("Conflict", Some("VaultAlreadyExists")));
        assert!(e["message"].as_str().unwrap().contains("--sandbox-fail Vault"));
        let (status, e) =
            failure(ROLE_ASSIGNMENT_TYPE, "g", "/subscriptions/s/resourceGroups/r", "VendorRoleAssignment");
        assert_eq!((status.as_str(), e["code"].as_str()), ("Forbidden", Some("AuthorizationFailed")));
        assert!(e["message"].as_str().unwrap().contains("Microsoft.Authorization/roleAssignments/write"));
        assert_eq!(failure(STORAGE_TYPE, "d", "/x", "DataAccount").1["code"], "StorageAccountAlreadyTaken");
    }
}
