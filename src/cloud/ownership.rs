//! The one decision "is this group this install's?", for every cloud and every path (status,
//! init, preview, revoke). Tags and labels are writable by anyone allowed to tag, so they are a
//! hint, never proof on their own: a group is this install's only when its name is one the plan
//! derives for this vendor and org *and* every identity mark matches: managed-by=cloudgrant, the
//! vendor, the org, and the install id recorded at first init. Data only: the providers read the
//! names and marks from their cloud and ask [`judge`]; nothing here talks to a cloud.

use rand::distr::{Distribution, Uniform};
use rand::TryRngCore;

use crate::model::{Plan, Stranger};

pub use crate::plan::{MANAGED_BY, MARK_INSTALL_ID, MARK_MANAGED_BY, MARK_ORG, MARK_VENDOR};
/// Install ids: this many lowercase letters and digits (valid as a tag and as a Google label value).
pub const INSTALL_ID_LEN: usize = 12;

/// A new install id, from the operating system's CSPRNG.
pub fn new_install_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let pick = Uniform::new(0, ALPHABET.len()).unwrap_or_else(|_| unreachable!("the alphabet is not empty"));
    let mut rng = rand::rngs::OsRng.unwrap_err();
    (0..INSTALL_ID_LEN).map(|_| ALPHABET[pick.sample(&mut rng)] as char).collect()
}

/// The identity marks a group carries, as found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    pub managed_by: Option<String>,
    pub vendor: Option<String>,
    pub org: Option<String>,
    pub install_id: Option<String>,
}

impl Marks {
    /// From key/value pairs (tags, labels, `k=v` words of a description); other keys are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Marks {
        let mut m = Marks::default();
        for (k, v) in pairs {
            let slot = match k {
                MARK_MANAGED_BY => &mut m.managed_by,
                MARK_VENDOR => &mut m.vendor,
                MARK_ORG => &mut m.org,
                MARK_INSTALL_ID => &mut m.install_id,
                _ => continue,
            };
            *slot = Some(v.to_string());
        }
        m
    }

    /// Any mark of cloudgrant at all (a group without one is not cloudgrant's business).
    pub fn any(&self) -> bool {
        self.managed_by.as_deref() == Some(MANAGED_BY)
            || self.vendor.is_some()
            || self.org.is_some()
            || self.install_id.is_some()
    }
}

/// Who an install is: the names its groups get and the marks they must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallIdentity {
    pub vendor: String,
    pub org: String,
    /// Every group name the plan derives for this vendor and org.
    pub names: Vec<String>,
    /// The id recorded at first init; `None` while no group of the install carries one.
    pub install_id: Option<String>,
    /// Names compare without case (Azure resource and stack names are case-insensitive).
    pub ignore_case: bool,
}

/// What a group is to an install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Named and marked as this install's group.
    Ours,
    /// Named and marked as this install's group, from before install ids: no id recorded yet
    /// (the next init records it).
    OursWithoutId,
    /// Carries cloudgrant's marks, or this install's name with some marks, but is not this
    /// install: reported, never updated or deleted. The reasons name what does not match.
    NotThisInstall(Vec<String>),
    /// Has a name this install would use, and no cloudgrant mark at all: someone else's.
    Foreign,
    /// Neither named nor marked like this install: nothing to do with it.
    Unrelated,
}

impl Verdict {
    pub fn is_ours(&self) -> bool {
        matches!(self, Verdict::Ours | Verdict::OursWithoutId)
    }
}

/// The decision, from the group's name and marks alone.
pub fn judge(who: &InstallIdentity, name: &str, marks: &Marks) -> Verdict {
    let named = who.names.iter().any(|n| if who.ignore_case { n.eq_ignore_ascii_case(name) } else { n == name });
    let speaks_of_us =
        marks.org.as_deref() == Some(who.org.as_str()) && marks.vendor.as_deref().is_none_or(|v| v == who.vendor);
    if !named && !speaks_of_us {
        return Verdict::Unrelated;
    }
    if !marks.any() {
        return if named { Verdict::Foreign } else { Verdict::Unrelated };
    }
    let mut why = Vec::new();
    if !named {
        why.push(format!("its name is none of this install's ({})", who.names.join(", ")));
    }
    let check = |why: &mut Vec<String>, key: &str, found: &Option<String>, want: &str| match found {
        Some(v) if v == want => {}
        Some(v) => why.push(format!("{key} is {v}, not {want}")),
        None => why.push(format!("no {key} mark")),
    };
    match &marks.managed_by {
        Some(v) if v == MANAGED_BY => {}
        Some(v) => why.push(format!("{MARK_MANAGED_BY} is {v}, not {MANAGED_BY}")),
        None => why.push(format!("no {MARK_MANAGED_BY}={MANAGED_BY} mark")),
    }
    check(&mut why, MARK_VENDOR, &marks.vendor, &who.vendor);
    check(&mut why, MARK_ORG, &marks.org, &who.org);
    match (&who.install_id, &marks.install_id) {
        (Some(want), Some(found)) if want != found => {
            why.push(format!("{MARK_INSTALL_ID} is {found}, not this install's {want}"))
        }
        (Some(want), None) if !why.is_empty() => why.push(format!("no {MARK_INSTALL_ID}={want} mark")),
        _ => {}
    }
    if !why.is_empty() {
        return Verdict::NotThisInstall(why);
    }
    if marks.install_id.is_none() {
        Verdict::OursWithoutId
    } else {
        Verdict::Ours
    }
}

/// The install id the groups record, decided before judging them one by one: groups that are
/// this install's by name and the other marks must agree on it. `Err` lists the disagreement
/// (then no group can be proven this install's, and none is touched).
pub fn recorded_install_id<'a>(
    who: &InstallIdentity,
    groups: impl IntoIterator<Item = (&'a str, &'a Marks)>,
) -> Result<Option<String>, String> {
    let anyone = InstallIdentity { install_id: None, ..who.clone() };
    let mut ids: Vec<(String, String)> = Vec::new();
    for (name, marks) in groups {
        if judge(&anyone, name, marks).is_ours() {
            if let Some(id) = &marks.install_id {
                ids.push((name.to_string(), id.clone()));
            }
        }
    }
    let first = ids.first().map(|(_, id)| id.clone());
    if ids.iter().any(|(_, id)| Some(id) != first.as_ref()) {
        let list: Vec<String> = ids.iter().map(|(n, id)| format!("{n} has {id}")).collect();
        return Err(format!(
            "the groups named like this install carry different install ids ({}): cloudgrant cannot tell which is this install",
            list.join(", ")
        ));
    }
    Ok(first)
}

/// The install id a plan carries (the `cloudgrant-install-id` tag it puts on every group).
pub fn install_id_of(plan: &Plan) -> Option<&str> {
    plan.tags.iter().find(|(k, _)| k == MARK_INSTALL_ID).map(|(_, v)| v.as_str())
}

/// Put `id` on the plan's groups (replacing any other), so that everything it creates or
/// updates records it.
pub fn set_install_id(plan: &mut Plan, id: &str) {
    plan.tags.retain(|(k, _)| k != MARK_INSTALL_ID);
    plan.tags.push((MARK_INSTALL_ID.to_string(), id.to_string()));
}

/// The report for a group that is not this install's.
pub fn stranger(kind: &str, name: &str, why: Vec<String>, inspect: String, remove: String) -> Stranger {
    Stranger { kind: kind.into(), name: name.into(), why, inspect, remove }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(id: Option<&str>) -> InstallIdentity {
        InstallIdentity {
            vendor: "acmeml".into(),
            org: "acme".into(),
            names: vec!["acmeml-acme-vpc".into(), "acmeml-acme-s3".into(), "acmeml-acme-auth".into()],
            install_id: id.map(String::from),
            ignore_case: false,
        }
    }

    fn marks(org: &str, vendor: &str, id: Option<&str>) -> Marks {
        let mut pairs = vec![(MARK_MANAGED_BY, MANAGED_BY), (MARK_ORG, org), (MARK_VENDOR, vendor)];
        if let Some(i) = id {
            pairs.push((MARK_INSTALL_ID, i));
        }
        Marks::from_pairs(pairs)
    }

    #[test]
    fn name_and_every_mark_decide() {
        let w = who(Some("x1"));
        assert_eq!(judge(&w, "acmeml-acme-vpc", &marks("acme", "acmeml", Some("x1"))), Verdict::Ours);
        // Case 1 of issue 11: the install's tags on stacks of other names.
        for name in ["prod-database", "acmeml-acme-extra", "acmeml-other-vpc"] {
            let v = judge(&w, name, &marks("acme", "acmeml", Some("x1")));
            assert!(
                matches!(&v, Verdict::NotThisInstall(why) if why[0].starts_with("its name is none")),
                "{name}: {v:?}"
            );
        }
        // Case 2: the install's name with another org or vendor.
        let v = judge(&w, "acmeml-acme-vpc", &marks("other", "acmeml", None));
        assert_eq!(
            v,
            Verdict::NotThisInstall(vec![
                "cloudgrant-org is other, not acme".into(),
                "no cloudgrant-install-id=x1 mark".into()
            ])
        );
        let v = judge(&w, "acmeml-acme-vpc", &marks("acme", "othervendor", None));
        assert!(matches!(v, Verdict::NotThisInstall(_)));
        // Another install's id on this install's name.
        let v = judge(&w, "acmeml-acme-vpc", &marks("acme", "acmeml", Some("zz")));
        assert_eq!(v, Verdict::NotThisInstall(vec!["cloudgrant-install-id is zz, not this install's x1".into()]));
        // No mark at all on our name: someone else's; no mark and another name: nothing to us.
        assert_eq!(judge(&w, "acmeml-acme-vpc", &Marks::default()), Verdict::Foreign);
        assert_eq!(judge(&w, "prod-database", &Marks::default()), Verdict::Unrelated);
        // Another org's install of the same vendor is not a stranger to this one.
        assert_eq!(judge(&w, "acmeml-other-vpc", &marks("other", "acmeml", None)), Verdict::Unrelated);
    }

    #[test]
    fn installs_from_before_ids_are_still_recognised() {
        assert_eq!(judge(&who(None), "acmeml-acme-s3", &marks("acme", "acmeml", None)), Verdict::OursWithoutId);
        // A group that has the id beside one that does not yet (an update that stopped half-way).
        assert_eq!(judge(&who(Some("x1")), "acmeml-acme-s3", &marks("acme", "acmeml", None)), Verdict::OursWithoutId);
    }

    #[test]
    fn the_groups_must_agree_on_the_id() {
        let w = who(None);
        let (a, b, c) =
            (marks("acme", "acmeml", Some("x1")), marks("acme", "acmeml", None), marks("acme", "acmeml", Some("y2")));
        assert_eq!(recorded_install_id(&w, [("acmeml-acme-vpc", &a), ("acmeml-acme-s3", &b)]), Ok(Some("x1".into())));
        assert_eq!(recorded_install_id(&w, [("acmeml-acme-s3", &b)]), Ok(None));
        // A stranger's id does not count.
        assert_eq!(recorded_install_id(&w, [("prod-database", &c), ("acmeml-acme-vpc", &a)]), Ok(Some("x1".into())));
        let e = recorded_install_id(&w, [("acmeml-acme-vpc", &a), ("acmeml-acme-auth", &c)]).unwrap_err();
        assert!(e.contains("acmeml-acme-vpc has x1") && e.contains("acmeml-acme-auth has y2"), "{e}");
    }

    #[test]
    fn ids_are_label_safe_and_distinct() {
        let (a, b) = (new_install_id(), new_install_id());
        assert_eq!(a.len(), INSTALL_ID_LEN);
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(a, b);
    }
}
