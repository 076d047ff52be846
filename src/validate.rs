//! Validation of what users type: org names, regions, account ids. Every error names the field,
//! the bad value and the form expected, so the message alone says how to fix it.

use std::fmt;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub value: String,
    pub problem: String,
    pub expected: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`: {}; expected {}", self.field, shown(&self.value), self.problem, self.expected)
    }
}

/// Longest part of a bad value an error repeats.
pub const SHOWN_MAX: usize = 80;

/// A bad value as an error repeats it: control characters escaped, and cut after
/// [`SHOWN_MAX`] characters (with the full length said), so an error never echoes megabytes.
pub fn shown(value: &str) -> String {
    let n = value.chars().count();
    if n > SHOWN_MAX {
        let head: String = value.chars().take(SHOWN_MAX).collect();
        format!("{}… ({n} characters)", crate::redact::escape_controls(&head))
    } else {
        crate::redact::escape_controls(value).into_owned()
    }
}

/// `text` cut to `max` characters, for messages that quote input (a parser's error).
pub fn clip(text: &str, max: usize) -> String {
    let n = text.chars().count();
    let head: String = text.chars().take(max).collect();
    let head = crate::redact::escape_controls(&head).into_owned();
    if n > max {
        format!("{head}… (cut: {n} characters)")
    } else {
        head
    }
}

/// Largest vendor profile file read.
pub const PROFILE_MAX_BYTES: u64 = 1024 * 1024;

/// The text of `path`, refused without being read whole when it is over `limit` bytes (the
/// error says the limit, never the content).
pub fn read_text_limited(path: &std::path::Path, limit: u64) -> Result<String, std::io::Error> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the file is over {} KiB, the most a vendor profile or pack file may be; point --vendor at the profile or pack itself",
                limit / 1024
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is not UTF-8 text (bad byte at offset {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// A character that has no place in a name or a line of text shown to the user: control
/// characters (newlines, tabs, the ESC of ANSI sequences) and bidirectional overrides.
fn unprintable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn describe(c: char) -> String {
    match c {
        '\n' => "a line break".into(),
        '\r' => "a carriage return".into(),
        '\t' => "a tab".into(),
        '\u{1b}' => "an escape character (ANSI terminal sequence)".into(),
        c => format!("the control character U+{:04X}", c as u32),
    }
}

/// Text shown to the user as given (a vendor's name, its support line): `1..=max` characters
/// on one line, no control characters or terminal escapes.
pub fn display_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    let expected = format!("1-{max} characters of plain text on one line (no control characters or terminal escapes)");
    if value.trim().is_empty() {
        return Err(err(field, value, "it is empty", &expected));
    }
    if let Some(c) = value.chars().find(|c| unprintable(*c)) {
        return Err(err(field, value, format!("it contains {}", describe(c)), &expected));
    }
    let n = value.chars().count();
    if n > max {
        return Err(err(field, value, format!("it is {n} characters long"), &expected));
    }
    Ok(())
}

/// The vendor profile's free text and its Google identity: the name (64 characters) and support
/// line (300) as plain text, the service account in its one exact form.
pub fn vendor_text(name: &str, support: Option<&str>, service_account: Option<&str>) -> Result<(), FieldError> {
    display_text("vendor.name", name, 64)?;
    if let Some(s) = support {
        display_text("vendor.support", s, 300)?;
    }
    service_account.map_or(Ok(()), |sa| service_account_email("gcp.service_account", sa))
}

/// A Google service-account e-mail: exactly `NAME@PROJECT.iam.gserviceaccount.com`, NAME 6-30
/// lowercase letters, digits and hyphens, PROJECT a project id.
pub fn service_account_email(field: &str, value: &str) -> Result<(), FieldError> {
    const EXPECTED: &str =
        "`NAME@PROJECT.iam.gserviceaccount.com` (NAME: 6-30 lowercase letters, digits, hyphens; PROJECT: the vendor's project id)";
    const DOMAIN: &str = ".iam.gserviceaccount.com";
    let e = |p: String| Err(err(field, value, p, EXPECTED));
    if value.is_empty() {
        return e("it is empty".into());
    }
    if let Some(c) = value.chars().find(|c| unprintable(*c) || c.is_whitespace()) {
        return e(if unprintable(c) { format!("it contains {}", describe(c)) } else { "it contains a space".into() });
    }
    let ats = value.matches('@').count();
    if ats != 1 {
        return e(format!("it has {ats} `@` signs, not one"));
    }
    let (name, domain) = value.split_once('@').unwrap_or((value, ""));
    if !(6..=30).contains(&name.len())
        || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
    {
        return e(format!("the name before `@` ({}) is not a service-account name", shown(name)));
    }
    let Some(project) = domain.strip_suffix(DOMAIN) else {
        return e(format!("it does not end with `{DOMAIN}`"));
    };
    if project.is_empty() {
        return e("the project part between `@` and `.iam.gserviceaccount.com` is empty".into());
    }
    gcp_project_id(project)
        .map_err(|p| err(field, value, format!("the project part `{}`: {}", shown(project), p.problem), EXPECTED))
}

impl std::error::Error for FieldError {}

fn err(field: &str, value: &str, problem: impl Into<String>, expected: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        value: value.to_string(),
        problem: problem.into(),
        expected: expected.to_string(),
    }
}

/// Longest org name: it goes into bucket names (63 characters with the prefix and account id)
/// and IAM role names (64).
pub const ORG_MAX: usize = 24;
const ORG_EXPECTED: &str =
    "2-24 characters: lowercase letters, digits and single hyphens, starting with a letter (e.g. `acme-research`)";

/// The org name becomes part of stack, role and bucket names, so it takes the strictest rules of
/// those (S3 bucket names: lowercase, no underscores, no leading/trailing or double hyphens).
pub fn org(value: &str) -> Result<(), FieldError> {
    let e = |p: &str| Err(err("org name", value, p, ORG_EXPECTED));
    if value.is_empty() {
        return e("it is empty");
    }
    if value.len() < 2 {
        return e("it is too short");
    }
    if value.len() > ORG_MAX {
        return e(&format!("it is {} characters long", value.len()));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return if c.is_ascii_uppercase() {
            e(&format!("`{c}` is uppercase (bucket names are lowercase only)"))
        } else {
            e(&format!("`{c}` is not allowed"))
        };
    }
    if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return e("it must start with a letter");
    }
    if value.ends_with('-') {
        return e("it ends with a hyphen");
    }
    if value.contains("--") {
        return e("it has two hyphens in a row");
    }
    Ok(())
}

/// AWS region names as AWS forms them: `<area>-<direction>-<n>`, with `gov`/`iso` partitions.
pub fn aws_region(value: &str) -> Result<(), FieldError> {
    const EXPECTED: &str = "an AWS region such as `eu-west-1` or `us-east-2`";
    let parts: Vec<&str> = value.split('-').collect();
    let ok = parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[0].chars().all(|c| c.is_ascii_lowercase())
        && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts.last().is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()));
    if value.is_empty() {
        return Err(err("region", value, "it is empty", EXPECTED));
    }
    if !ok {
        return Err(err("region", value, "it is not a region name", EXPECTED));
    }
    Ok(())
}

/// A 12-digit AWS account id.
pub fn aws_account_id(field: &str, value: &str) -> Result<(), FieldError> {
    if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(err(field, value, "it is not 12 digits", "a 12-digit AWS account id such as `111122223333`"))
    }
}

/// An ExternalId as IAM accepts it in `sts:AssumeRole`: 2-1224 characters of `[\w+=,.@:/-]`.
pub fn external_id(field: &str, value: &str) -> Result<(), FieldError> {
    const EXPECTED: &str = "2-1224 characters: letters, digits and + = , . @ : / - _";
    if value.len() < 2 || value.len() > 1224 {
        return Err(err(field, value, "it has the wrong length", EXPECTED));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(*c))) {
        return Err(err(field, value, format!("`{c}` is not allowed"), EXPECTED));
    }
    Ok(())
}

/// A Google Cloud project id: 6-30 characters, lowercase letters, digits and hyphens, starting
/// with a letter and not ending with a hyphen.
pub fn gcp_project_id(value: &str) -> Result<(), FieldError> {
    const EXPECTED: &str =
        "a project id: 6-30 lowercase letters, digits and hyphens, starting with a letter (e.g. `acme-prod-123`); the id, not the display name or number";
    let e = |p: &str| Err(err("project id", value, p, EXPECTED));
    if value.is_empty() {
        return e("it is empty");
    }
    if !(6..=30).contains(&value.len()) {
        return e(&format!("it is {} characters long", value.len()));
    }
    if value.chars().all(|c| c.is_ascii_digit()) {
        return e("it is a project number");
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return e(&format!("`{c}` is not allowed"));
    }
    if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return e("it must start with a letter");
    }
    if value.ends_with('-') {
        return e("it ends with a hyphen");
    }
    Ok(())
}

/// A Google Cloud region as Google names them: `<area>-<direction><n>` (`us-central1`,
/// `europe-west4`, `northamerica-northeast2`).
pub fn gcp_region(value: &str) -> Result<(), FieldError> {
    const EXPECTED: &str = "a Google Cloud region such as `us-central1` or `europe-west4`";
    let ok = value.split_once('-').is_some_and(|(area, rest)| {
        let digits = rest.trim_start_matches(|c: char| c.is_ascii_lowercase());
        let dir = &rest[..rest.len() - digits.len()];
        !area.is_empty()
            && area.chars().all(|c| c.is_ascii_lowercase())
            && !dir.is_empty()
            && (1..=2).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
    });
    if value.is_empty() {
        return Err(err("region", value, "it is empty", EXPECTED));
    }
    if !ok {
        return Err(err("region", value, "it is not a Google Cloud region name", EXPECTED));
    }
    Ok(())
}

/// An Azure region as ARM names it (`westeurope`, `eastus2`, `southafricanorth`): lowercase
/// letters and digits only, starting with a letter.
pub fn azure_location(value: &str) -> Result<(), FieldError> {
    const EXPECTED: &str = "an Azure region name such as `westeurope`, `eastus2` or `uksouth` (lowercase, no spaces: the name, not the display name \"West Europe\")";
    let e = |p: &str| Err(err("location", value, p, EXPECTED));
    if value.is_empty() {
        return e("it is empty");
    }
    if value.len() > 40 {
        return e(&format!("it is {} characters long", value.len()));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit())) {
        return if c.is_ascii_uppercase() || c == ' ' {
            e("it is a display name (Azure regions are written lowercase, without spaces)")
        } else {
            e(&format!("`{c}` is not allowed"))
        };
    }
    if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return e("it must start with a letter");
    }
    Ok(())
}

/// Whether `s` is a GUID (`8-4-4-4-12` hexadecimal digits), as Azure ids are.
pub fn is_guid(s: &str) -> bool {
    crate::permissions::azure_roles::is_guid(s)
}

fn guid(field: &str, value: &str, what: &str) -> Result<(), FieldError> {
    let expected = format!("{what}: a GUID such as `0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40`");
    if value.is_empty() {
        return Err(err(field, value, "it is empty", &expected));
    }
    if value.trim() != value {
        return Err(err(field, value, "it has spaces around it", &expected));
    }
    if !is_guid(value) {
        let problem = if value.len() != 36 {
            format!("it is {} characters long, not 36", value.len())
        } else {
            "it is not of the form 8-4-4-4-12 hexadecimal digits".to_string()
        };
        return Err(err(field, value, problem, &expected));
    }
    Ok(())
}

/// An Azure subscription id (a GUID; not the subscription's display name).
pub fn azure_subscription_id(value: &str) -> Result<(), FieldError> {
    guid("subscription id", value, "the subscription's id, not its name")
}

/// An application (client) id of an app registration.
pub fn azure_app_id(field: &str, value: &str) -> Result<(), FieldError> {
    guid(field, value, "an application (client) id")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_names() {
        for good in ["ab", "acme", "acme-research", "a1-b2", "x234567890123456789012345"[..24].as_ref()] {
            assert_eq!(org(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("a", "too short"),
            ("Acme", "uppercase"),
            ("acme_co", "`_` is not allowed"),
            ("1acme", "start with a letter"),
            ("acme-", "ends with a hyphen"),
            ("ac--me", "two hyphens"),
            ("abcdefghijklmnopqrstuvwxy", "25 characters"),
            ("acmé", "`é` is not allowed"),
        ] {
            let e = org(bad).expect_err(bad);
            assert!(e.problem.contains(why), "{bad}: {}", e.problem);
            assert_eq!(e.field, "org name");
            assert!(e.to_string().contains("expected 2-24 characters"));
        }
    }

    #[test]
    fn regions() {
        for good in ["eu-west-1", "us-east-2", "ap-southeast-4", "us-gov-west-1", "il-central-1"] {
            assert_eq!(aws_region(good), Ok(()), "{good}");
        }
        for bad in ["", "eu", "euwest1", "eu-west", "EU-WEST-1", "eu-west-one", "europe-west-1", "eu-west-123"] {
            assert!(aws_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_ids_and_external_ids() {
        assert!(aws_account_id("aws.account_id", "111122223333").is_ok());
        let e = aws_account_id("aws.account_id", "1111-2222-3333").expect_err("dashes");
        assert!(e.to_string().starts_with("aws.account_id `1111-2222-3333`"));
        assert!(external_id("x", "abc-DEF_123").is_ok());
        assert!(external_id("x", "a").is_err());
        assert!(external_id("x", "has space").is_err());
    }

    #[test]
    fn gcp_project_ids_and_regions() {
        for good in ["acme-prod-123", "abcdef", "a23456789012345678901234567890"] {
            assert_eq!(gcp_project_id(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("abc", "3 characters"),
            ("123456789012", "project number"),
            ("Acme-prod", "`A` is not allowed"),
            ("acme_prod", "`_` is not allowed"),
            ("1acme-prod", "start with a letter"),
            ("acme-prod-", "ends with a hyphen"),
            ("a234567890123456789012345678901", "31 characters"),
        ] {
            let e = gcp_project_id(bad).expect_err(bad);
            assert!(e.problem.contains(why), "{bad}: {}", e.problem);
            assert_eq!(e.field, "project id");
        }
        for good in ["us-central1", "europe-west4", "northamerica-northeast2", "me-central2", "asia-south1"] {
            assert_eq!(gcp_region(good), Ok(()), "{good}");
        }
        for bad in ["", "us", "us-central", "eu-west-1", "US-CENTRAL1", "us-central123", "-central1"] {
            assert!(gcp_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn azure_locations() {
        for good in ["westeurope", "eastus2", "uksouth", "southafricanorth", "germanywestcentral"] {
            assert_eq!(azure_location(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("West Europe", "display name"),
            ("WestEurope", "display name"),
            ("west-europe", "`-` is not allowed"),
            ("west_europe", "`_` is not allowed"),
            ("2westeurope", "start with a letter"),
            ("a234567890123456789012345678901234567890z", "41 characters"),
        ] {
            let e = azure_location(bad).expect_err(bad);
            assert!(e.problem.contains(why), "{bad}: {}", e.problem);
            assert_eq!(e.field, "location");
            assert!(e.to_string().contains("`westeurope`, `eastus2`"), "{e}");
        }
    }

    #[test]
    fn azure_subscription_and_app_ids() {
        let id = "0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40";
        assert_eq!(azure_subscription_id(id), Ok(()));
        assert_eq!(azure_subscription_id(&id.to_ascii_uppercase()), Ok(()));
        assert_eq!(azure_app_id("azure.app_id", id), Ok(()));
        for (bad, why) in [
            ("", "empty"),
            ("My Subscription", "15 characters long"),
            (" 0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f40", "spaces"),
            ("0f9c3c1e5d4b4a8e9d3f2b7a6c1e8f40", "32 characters long"),
            ("0f9c3c1e-5d4b-4a8e-9d3f-2b7a6c1e8f4g", "8-4-4-4-12"),
            ("0f9c3c1e5-d4b-4a8e-9d3f-2b7a6c1e8f40", "8-4-4-4-12"),
        ] {
            let e = azure_subscription_id(bad).expect_err(bad);
            assert!(e.problem.contains(why), "{bad:?}: {}", e.problem);
            assert_eq!(e.field, "subscription id");
            assert!(e.to_string().contains("expected the subscription's id, not its name: a GUID"), "{e}");
            let e = azure_app_id("azure.app_id", bad).expect_err(bad);
            assert!(e.to_string().starts_with(&format!("azure.app_id `{bad}`")), "{e}");
        }
    }
}
