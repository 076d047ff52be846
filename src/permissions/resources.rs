//! Resource ARNs in words, and how much of the account a resource pattern covers.

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
