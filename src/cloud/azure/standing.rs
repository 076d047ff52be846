//! Which deployment stacks and resource groups are this install's (every one judged by
//! [`ownership::judge`]: name and every mark), the health they amount to, and the plan a run
//! applies: the install's own name suffix on a re-run, and on a re-install after revoke the kept
//! data account re-attached instead of a second one made beside it.

use crate::cloud::CloudError;
use crate::model::{Installation, Plan};
use crate::plan::azure::SUFFIX_PARAM;
use crate::plan::Choices;
use crate::vendor::VendorProfile;

use super::Azure;

impl Azure {
    /// The plan for `choices`: the existing install's suffix, or a new one.
    pub async fn plan(
        &self,
        vendor: &VendorProfile,
        choices: &Choices,
        existing: &[Installation],
    ) -> Result<Plan, CloudError> {
        let suffix = existing
            .iter()
            .flat_map(|i| i.groups.iter())
            .find_map(|g| g.parameters.get(SUFFIX_PARAM).cloned())
            .unwrap_or_else(crate::plan::azure::new_suffix);
        Ok(crate::plan::azure::build(vendor, choices, &suffix)?)
    }
}
