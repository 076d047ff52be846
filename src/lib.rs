//! cloudgrant: grant a SaaS vendor least-privilege access to your cloud account, and take it back.
//!
//! The core (`model`, `vendor`, `plan`, `cloud`) has no terminal code; the TUI (`tui`) and the
//! plain command-line runners (`cli`) sit on top of it. One pipeline serves every cloud:
//! vendor profile + choices → [`model::Plan`] → apply → [`model::Event`] stream →
//! [`model::Installation`] → [`model::RevokePlan`] → revoke → [`model::Residue`].

pub mod assets;
pub mod cli;
pub mod cloud;
pub mod model;
pub mod pack;
pub mod permissions;
pub mod plan;
pub mod receipts;
pub mod redact;
pub mod scan;
pub mod signals;
pub mod tui;
pub mod validate;
pub mod vendor;
