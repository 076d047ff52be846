//! The glossary the `?` help shows beside the keys: the terms of the current screen and cloud,
//! each in one or two plain sentences, so support can say "press ? and read ExternalId".
//!
//! Policy: the terms are data, like the keymap the footer and the help are drawn from; a screen
//! shows the terms whose `screens` name it, for the cloud chosen (all clouds before one is).

use super::screens::Screen;
use crate::model::Cloud;

pub struct Term {
    pub name: &'static str,
    /// Empty: every cloud.
    pub clouds: &'static [Cloud],
    pub screens: &'static [Screen],
    pub text: &'static str,
}

use Screen::*;

/// Screens that show what gets created or what it became.
const PLAN: &[Screen] = &[Preview, Confirm, Deploy, Done];
const BOTH: &[Screen] = &[Preview, Confirm, Deploy, Done, Review, TypeConfirm, RevokeRun, Residue];
const AWS: &[Cloud] = &[Cloud::Aws];
const GCP: &[Cloud] = &[Cloud::Gcp];
const AZURE: &[Cloud] = &[Cloud::Azure];

pub static TERMS: [Term; 19] = [
    Term {
        name: "IAM",
        clouds: AWS,
        screens: BOTH,
        text: "Identity and Access Management: AWS's service for who may do what in your account. Everything cloudgrant grants is an IAM role with its policies; it never creates an IAM user or an access key.",
    },
    Term {
        name: "role",
        clouds: AWS,
        screens: BOTH,
        text: "An identity nobody owns: whoever its trust policy allows takes it on for a while and gets short-lived credentials, never a password or a lasting key.",
    },
    Term {
        name: "trust policy",
        clouds: AWS,
        screens: &[Preview, Confirm],
        text: "The part of a role that says who may take it on (assume it) and on what condition. The vendor's role trusts only the vendor's AWS account, and only with your ExternalId.",
    },
    Term {
        name: "ExternalId",
        clouds: AWS,
        screens: &[Preview, Confirm, Deploy, Done],
        text: "A value unique to you that the vendor sends when it takes on its role, so no other customer of the vendor can make it act in your account (the \"confused deputy\"). It is not a secret: it works only together with the vendor's own account, so e-mail or a ticket is fine.",
    },
    Term {
        name: "KMS key and its deletion window",
        clouds: AWS,
        screens: BOTH,
        text: "The key that encrypts your data bucket (AWS Key Management Service). AWS never deletes a key at once: revoke schedules it for deletion after a waiting window (7 to 30 days); until that date `aws kms cancel-key-deletion` brings it back, after it anything it encrypted is unreadable.",
    },
    Term {
        name: "instance profile",
        clouds: AWS,
        screens: PLAN,
        text: "What lets an EC2 machine carry a role: the vendor's machines get the instance role through it, so they reach your data bucket with no key stored on them.",
    },
    Term {
        name: "stack",
        clouds: AWS,
        screens: BOTH,
        text: "A CloudFormation stack: resources made from one template, tracked and deleted together. cloudgrant makes three: network, data storage, access.",
    },
    Term {
        name: "service account",
        clouds: GCP,
        screens: BOTH,
        text: "A Google Cloud identity for a program rather than a person. The vendor's machines run as one made in your project; the vendor acts through its own service account, which lives in the vendor's project and is not created here.",
    },
    Term {
        name: "custom role and its soft delete",
        clouds: GCP,
        screens: BOTH,
        text: "A role made for this install that lists exact permissions. Revoke deletes it, and Google soft-deletes it: for 7 days it can be restored (`gcloud iam roles undelete`), then it is purged, and its id cannot be used again for up to 37 days.",
    },
    Term {
        name: "key ring and key",
        clouds: GCP,
        screens: BOTH,
        text: "A Cloud KMS key ring holds keys; Google never deletes key rings, so it is kept (an empty one costs nothing). The key's versions are destroyed after a scheduled window (30 days by default) and can be restored until then.",
    },
    Term {
        name: "enabled APIs",
        clouds: GCP,
        screens: BOTH,
        text: "The Google Cloud services the project allows (IAM, Cloud KMS, Compute, Storage). Revoke leaves them enabled: other work in the project may use them.",
    },
    Term {
        name: "resource set",
        clouds: GCP,
        screens: BOTH,
        text: "Google Cloud has no stacks: cloudgrant labels everything it makes (managed-by=cloudgrant, cloudgrant-install=<id>) and finds it again by those labels, in the project itself.",
    },
    Term {
        name: "service principal",
        clouds: AZURE,
        screens: BOTH,
        text: "The vendor's application's identity in your tenant (Microsoft Entra ID); its role is given to it. Revoke keeps it unless asked (x on the review): it holds no role once the install is gone.",
    },
    Term {
        name: "managed identity",
        clouds: AZURE,
        screens: BOTH,
        text: "An identity Azure runs for the vendor's machines, with no password or key to keep; its roles reach only the Key Vault, the registry and your data account. Revoke deletes it.",
    },
    Term {
        name: "deployment stack (delete vs detach)",
        clouds: AZURE,
        screens: BOTH,
        text: "An Azure object tracking the resources made from one template. Deleting a stack that deletes removes what it manages (the main stack); one that detaches leaves them in place, unmanaged (the storage stack: your data stays).",
    },
    Term {
        name: "Key Vault soft delete",
        clouds: AZURE,
        screens: BOTH,
        text: "A deleted Key Vault stays recoverable for its retention (7 to 90 days), and its name stays reserved until then or until it is purged (`az keyvault purge --name NAME`); with purge protection on, nobody can purge it sooner.",
    },
    Term {
        name: "risk levels",
        clouds: &[],
        screens: &[Preview, Confirm],
        text: "Flags on each permission: high (could give more than intended: read it before going on), medium (worth reading: broad, cross-account or writing), low (a wildcard or a broad read), info (a fact, not a risk).",
    },
    Term {
        name: "what revoke does (the words)",
        clouds: &[],
        screens: &[Preview, Review, TypeConfirm, RevokeRun, Residue],
        text: "deleted; kept (with your data): stays, holding your data; kept: stays, holding nothing of yours; scheduled for deletion (date): the cloud deletes it then, and it can be brought back until then; soft-deleted (restorable until date); detached: left in place, no longer managed by its stack.",
    },
    Term {
        name: "sandbox",
        clouds: &[],
        screens: &[Welcome, Cloud, Account],
        text: "A simulated cloud built into cloudgrant: the same calls, the real templates, realistic timings; nothing real is created. For trying the flow, rehearsing with a customer and demos.",
    },
];

/// The terms to show on `screen` for `cloud` (`None`: no cloud chosen yet, every cloud's).
pub fn terms(screen: Screen, cloud: Option<Cloud>) -> impl Iterator<Item = &'static Term> {
    TERMS.iter().filter(move |t| {
        t.screens.contains(&screen) && (t.clouds.is_empty() || cloud.is_none_or(|c| t.clouds.contains(&c)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_screen_of_each_cloud_has_its_terms() {
        let names = |s, c| terms(s, Some(c)).map(|t| t.name).collect::<Vec<_>>();
        assert!(names(Preview, Cloud::Aws).contains(&"ExternalId"));
        assert!(!names(Preview, Cloud::Gcp).contains(&"ExternalId"), "ExternalId is AWS's");
        assert!(names(Review, Cloud::Azure).contains(&"deployment stack (delete vs detach)"));
        assert!(names(Residue, Cloud::Gcp).contains(&"custom role and its soft delete"));
        for t in &TERMS {
            assert!(!t.screens.is_empty() && t.text.len() > 40, "{}", t.name);
        }
    }
}
