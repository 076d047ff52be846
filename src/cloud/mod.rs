//! Cloud providers. No terminal code here.
pub mod sandbox;
