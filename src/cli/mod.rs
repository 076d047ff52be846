//! Plain command-line runners.
