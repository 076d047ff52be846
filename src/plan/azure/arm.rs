//! ARM template expressions (placeholder, replaced in the next commit).
