//! `--sandbox-fail <logical id>` for Google Cloud: the call that creates that resource answers the
//! error Google would give. Which call that is comes from the definitions of the vendor pack in
//! use (`gcp/install.yaml`), read as written: a name such as `${project}-${org}-data` becomes
//! a pattern where `${project}` is the project of the call and every other placeholder matches
//! any text. So the faults follow the file, without knowing the vendor or the org.

use crate::cloud::CloudError;
use crate::pack::PackFile;
use crate::plan::gcp::Spec;

/// A name from the definitions, placeholders unfilled.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern(String);

impl Pattern {
    pub fn new(template: impl Into<String>) -> Pattern {
        Pattern(template.into())
    }

    /// Whether `value` is a name this template renders to in `project`.
    pub fn matches(&self, value: &str, project: &str) -> bool {
        let filled = self.0.replace("${project}", project);
        // Every other `${…}` becomes a wildcard.
        let mut parts: Vec<&str> = Vec::new();
        let mut rest = filled.as_str();
        while let Some(at) = rest.find("${") {
            parts.push(&rest[..at]);
            rest = match rest[at..].find('}') {
                Some(end) => &rest[at + end + 1..],
                None => "",
            };
        }
        parts.push(rest);
        glob(&parts, value)
    }
}

/// `parts` are literal texts with a wildcard (one or more characters) between each two.
fn glob(parts: &[&str], value: &str) -> bool {
    let [first, rest @ ..] = parts else { return value.is_empty() };
    let Some(after) = value.strip_prefix(first) else { return false };
    if rest.is_empty() {
        return after.is_empty();
    }
    (1..=after.len()).filter(|i| after.is_char_boundary(*i)).any(|i| glob(rest, &after[i..]))
}

/// What a binding is set on.
#[derive(Debug, Clone, PartialEq)]
pub enum On {
    Project,
    ServiceAccount(Pattern),
    Bucket(Pattern),
    KeyRing(Pattern),
    CryptoKey { ring: Pattern, name: Pattern },
}

/// The resource whose policy a setIamPolicy call changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target<'a> {
    Project,
    ServiceAccount {
        email: &'a str,
    },
    Bucket {
        name: &'a str,
    },
    /// The key ring's short id and full name.
    KeyRing {
        ring: &'a str,
        name: &'a str,
    },
    /// `ring` and `key` are the short ids, `name` the key's full name.
    CryptoKey {
        ring: &'a str,
        key: &'a str,
        name: &'a str,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    Api { id: String, service: String },
    Role { id: String, role_id: Pattern },
    ServiceAccount { id: String, account_id: Pattern },
    KeyRing { id: String, name: Pattern },
    CryptoKey { id: String, ring: Pattern, name: Pattern },
    Bucket { id: String, name: Pattern },
    Binding { id: String, role: Pattern, member: Pattern, on: On },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults(Vec<Fault>);

impl Faults {
    /// The faults for these logical ids of `definitions` (the pack's `gcp/install.yaml`); an id
    /// the definitions do not have is an error that lists the ones they do.
    pub fn new(ids: &[String], definitions: PackFile) -> Result<Faults, CloudError> {
        if ids.is_empty() {
            return Ok(Faults::default());
        }
        let spec: Spec = serde_yaml::from_str(definitions.text).map_err(|e| {
            CloudError::failed(
                format!("{} cannot be read: {e}", definitions.path),
                "Fix the file (`cloudgrant vendor check` names the field), then run again.",
            )
        })?;
        let mut out = Vec::new();
        for id in ids {
            let fault = fault_for(&spec, id).ok_or_else(|| {
                CloudError::failed(
                    format!("--sandbox-fail `{id}` is not a resource of {}", definitions.path),
                    format!("Use a logical id: {}.", spec.ids().join(", ")),
                )
            })?;
            out.push(fault);
        }
        Ok(Faults(out))
    }

    /// The fault for enabling `service`, if any.
    pub fn api(&self, service: &str) -> Option<&str> {
        self.0.iter().find_map(|f| match f {
            Fault::Api { id, service: s } if s == service => Some(id.as_str()),
            _ => None,
        })
    }

    pub fn role(&self, role_id: &str, project: &str) -> Option<&str> {
        self.0.iter().find_map(|f| match f {
            Fault::Role { id, role_id: p } if p.matches(role_id, project) => Some(id.as_str()),
            _ => None,
        })
    }

    pub fn service_account(&self, account_id: &str, project: &str) -> Option<&str> {
        self.0.iter().find_map(|f| match f {
            Fault::ServiceAccount { id, account_id: p } if p.matches(account_id, project) => Some(id.as_str()),
            _ => None,
        })
    }

    pub fn key_ring(&self, ring: &str, project: &str) -> Option<&str> {
        self.0.iter().find_map(|f| match f {
            Fault::KeyRing { id, name } if name.matches(ring, project) => Some(id.as_str()),
            _ => None,
        })
    }

    pub fn crypto_key(&self, ring: &str, key: &str, project: &str) -> Option<&str> {
        self.0.iter().find_map(|f| match f {
            Fault::CryptoKey { id, ring: r, name } if r.matches(ring, project) && name.matches(key, project) => {
                Some(id.as_str())
            }
            _ => None,
        })
    }

    pub fn bucket(&self, name: &str, project: &str) -> Option<&str> {
        self.0.iter().find_map(|f| match f {
            Fault::Bucket { id, name: p } if p.matches(name, project) => Some(id.as_str()),
            _ => None,
        })
    }

    /// The fault for a setIamPolicy on `target` that adds these (role, member) pairs.
    pub fn binding(&self, target: &Target, added: &[(String, String)], project: &str) -> Option<&str> {
        self.0.iter().find_map(|f| {
            let Fault::Binding { id, role, member, on } = f else { return None };
            let on_target = match (on, target) {
                (On::Project, Target::Project) => true,
                (On::ServiceAccount(p), Target::ServiceAccount { email }) => p.matches(email, project),
                (On::Bucket(p), Target::Bucket { name }) => p.matches(name, project),
                (On::KeyRing(p), Target::KeyRing { ring, .. }) => p.matches(ring, project),
                (On::CryptoKey { ring, name }, Target::CryptoKey { ring: r, key, .. }) => {
                    ring.matches(r, project) && name.matches(key, project)
                }
                _ => false,
            };
            let adds = added.iter().any(|(r, m)| role.matches(r, project) && member.matches(m, project));
            (on_target && adds).then_some(id.as_str())
        })
    }
}

fn sa_email(spec: &Spec, id: &str) -> Option<String> {
    spec.service_accounts
        .iter()
        .find(|s| s.id == id)
        .map(|s| format!("{}@${{project}}.iam.gserviceaccount.com", s.account_id))
}

fn fault_for(spec: &Spec, id: &str) -> Option<Fault> {
    let id_ = id.to_string();
    if let Some(a) = spec.apis.iter().find(|a| a.id == id) {
        return Some(Fault::Api { id: id_, service: a.service.clone() });
    }
    if let Some(r) = spec.roles.iter().find(|r| r.id == id) {
        return Some(Fault::Role { id: id_, role_id: Pattern::new(&r.role_id) });
    }
    if let Some(s) = spec.service_accounts.iter().find(|s| s.id == id) {
        return Some(Fault::ServiceAccount { id: id_, account_id: Pattern::new(&s.account_id) });
    }
    if let Some(r) = spec.key_rings.iter().find(|r| r.id == id) {
        return Some(Fault::KeyRing { id: id_, name: Pattern::new(&r.name) });
    }
    let ring_of = |ring_id: &str| spec.key_rings.iter().find(|r| r.id == ring_id).map(|r| Pattern::new(&r.name));
    if let Some(k) = spec.crypto_keys.iter().find(|k| k.id == id) {
        return Some(Fault::CryptoKey { id: id_, ring: ring_of(&k.key_ring)?, name: Pattern::new(&k.name) });
    }
    if let Some(b) = spec.buckets.iter().find(|b| b.id == id) {
        return Some(Fault::Bucket { id: id_, name: Pattern::new(&b.name) });
    }
    let b = spec.bindings.iter().find(|b| b.id == id)?;
    let role = match spec.roles.iter().find(|r| r.id == b.role) {
        Some(r) => format!("projects/${{project}}/roles/{}", r.role_id),
        None => b.role.clone(),
    };
    let member = match sa_email(spec, &b.member) {
        Some(email) => format!("serviceAccount:{email}"),
        None => b.member.clone(),
    };
    let on = if b.on == "project" {
        On::Project
    } else if let Some(email) = sa_email(spec, &b.on) {
        On::ServiceAccount(Pattern::new(email))
    } else if let Some(bucket) = spec.buckets.iter().find(|x| x.id == b.on) {
        On::Bucket(Pattern::new(&bucket.name))
    } else if let Some(ring) = spec.key_rings.iter().find(|x| x.id == b.on) {
        On::KeyRing(Pattern::new(&ring.name))
    } else {
        let k = spec.crypto_keys.iter().find(|x| x.id == b.on)?;
        On::CryptoKey { ring: ring_of(&k.key_ring)?, name: Pattern::new(&k.name) }
    };
    Some(Fault::Binding { id: id_, role: Pattern::new(role), member: Pattern::new(member), on })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled() -> PackFile {
        let a = crate::plan::gcp::Spec::asset();
        PackFile { path: a.path, text: a.text }
    }

    #[test]
    fn patterns_fill_the_project_and_match_the_rest() {
        let p = Pattern::new("${project}-${org}-data");
        assert!(p.matches("cg-sandbox-dev-acme-data", "cg-sandbox-dev"));
        assert!(!p.matches("cg-sandbox-dev--data", "cg-sandbox-dev"));
        assert!(!p.matches("other-acme-data", "cg-sandbox-dev"));
        let r = Pattern::new("${vendor_id}_${org_}_manager");
        assert!(r.matches("acme_prod_manager", "p"));
        assert!(!r.matches("acme_prod_instances", "p"));
        assert!(Pattern::new("data").matches("data", "p"));
    }

    #[test]
    fn ids_map_to_calls_from_the_definitions() {
        let ids: Vec<String> =
            ["DataBucket", "ManagerRole", "InstanceServiceAccount", "DataKey", "VendorManagerBinding", "StorageApi"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let f = Faults::new(&ids, bundled()).expect("known ids");
        assert_eq!(f.api("storage.googleapis.com"), Some("StorageApi"));
        assert_eq!(f.bucket("p1-acme-data", "p1"), Some("DataBucket"));
        assert_eq!(f.role("acme_prod_manager", "p1"), Some("ManagerRole"));
        assert_eq!(f.role("acme_prod_instances", "p1"), None);
        assert_eq!(f.service_account("cg-prod-vm", "p1"), Some("InstanceServiceAccount"));
        assert_eq!(f.crypto_key("acme-prod", "data", "p1"), Some("DataKey"));
        let added = vec![(
            "projects/p1/roles/acme_prod_manager".to_string(),
            "serviceAccount:v@x.iam.gserviceaccount.com".to_string(),
        )];
        assert_eq!(f.binding(&Target::Project, &added, "p1"), Some("VendorManagerBinding"));
        assert_eq!(f.binding(&Target::Bucket { name: "b" }, &added, "p1"), None);
        let e = Faults::new(&["Nope".to_string()], bundled()).expect_err("unknown id");
        assert!(e.next_step().contains("DataBucket"), "{}", e.next_step());
    }
}
