//! Redaction for everything cloudgrant writes down (receipts, the `--log-file` debug log): the
//! values of the environment variables that hold secrets, and text shaped like a bearer token,
//! become `[redacted]`.
//!
//! Policy: nothing cloudgrant writes needs a token, so the writers never receive one; this is the
//! second line, so that a token that slips into a message (an error text quoting a header, say)
//! still never reaches the disk.

/// Environment variables whose values are secrets (credentials and tokens the clouds accept).
pub const SECRET_ENV: [&str; 6] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_CLIENT_SECRET",
    crate::cloud::gcp::ENV_TOKEN,
    crate::cloud::azure::ENV_TOKEN,
    "GOOGLE_OAUTH_ACCESS_TOKEN",
];

const MARK: &str = "[redacted]";

/// `text` with every secret of the environment and every token-shaped word replaced.
pub fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for key in SECRET_ENV {
        if let Some(v) = std::env::var_os(key).and_then(|v| v.into_string().ok()) {
            // Short values would match ordinary words; no real secret is that short.
            if v.len() >= 8 {
                out = out.replace(&v, MARK);
            }
        }
    }
    redact_shapes(&out)
}

/// Token shapes: `Bearer x`, Google access tokens (`ya29.`), JWTs (`eyJ….….…`).
fn redact_shapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut bearer = false;
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let core = word.trim_matches(|c: char| matches!(c, '"' | '\'' | ',' | ';' | '(' | ')'));
        let token = bearer && core.len() >= 8
            || core.starts_with("ya29.")
            || (core.starts_with("eyJ") && core.matches('.').count() >= 2 && core.len() > 20);
        if token && !core.is_empty() {
            out.push_str(&word.replace(core, MARK));
        } else {
            out.push_str(word);
        }
        bearer = core.eq_ignore_ascii_case("bearer");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shapes_are_masked_and_ordinary_text_is_not() {
        assert_eq!(redact_shapes("Authorization: Bearer abcdefgh12345"), "Authorization: Bearer [redacted]");
        assert_eq!(redact_shapes("token ya29.a0AfH6SMB-xyz, done"), "token [redacted], done");
        assert_eq!(redact_shapes("jwt eyJhbGciOi.eyJzdWIiOiIxMjM0.c2lnbmF0dXJl end"), "jwt [redacted] end");
        let plain = "ExternalId z1kECwAtuWDAskzfssAMr83oEKr6VOgO2s7LVuLA for arn:aws:iam::1:role/x";
        assert_eq!(redact_shapes(plain), plain, "an ExternalId is not a secret");
    }
}
