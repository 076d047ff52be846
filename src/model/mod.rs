//! The cloud-neutral data model: plans, events, installations, revoke plans and residue reports.
//! No I/O here; everything is serializable so the CLI can print it as JSON.

mod changes;
mod counts;
mod event;
mod fate;
mod health;
mod install;
mod plan;
mod revoke;

pub use changes::{ChangeKind, GroupChanges, ResourceChange};
pub use counts::{plural, PlanCounts};
pub use event::{Event, Status, Update};
pub use fate::{holds_your_data, Fate};
pub use health::{Health, HealthFacts, Leftover, Stranger};
pub use install::{Installation, InstalledGroup, InstalledResource};
pub use plan::{
    Cloud, Effect, Exception, Group, OnRevoke, Parameter, ParameterSource, Permission, PermissionKind, Plan, Resource,
};
pub use revoke::{Check, Residue, ResidueItem, RevokeGroup, RevokeItem, RevokeOutcome, RevokePlan};
