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

/// Text that came from outside (a cloud's message, a resource or tag name, a file) made safe to
/// print on one line: control characters (C0, DEL, C1) and the bidirectional overrides that
/// reorder what a terminal shows are written as escapes (`\n`, `\t`, `\x1b`, `\u{202e}`), so a
/// message can neither move the cursor, recolour the screen, nor pass for something else.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && unsafe_char(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// [`escape_controls`] for text of several lines of our own: line breaks stay, every other
/// control character is escaped.
pub fn escape_controls_keep_lines(text: &str) -> String {
    text.split('\n').map(|l| escape_controls(l).into_owned()).collect::<Vec<_>>().join("\n")
}

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
    fn control_characters_from_outside_are_escaped_and_plain_text_is_untouched() {
        assert!(matches!(escape_controls("Stack acmeml-x-vpc: CREATE_COMPLETE é ✓"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(escape_controls("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(escape_controls("\u{1b}[2J\u{1b}]0;pwned\u{7}"), "\\x1b[2J\\x1b]0;pwned\\x07");
        assert_eq!(escape_controls("\u{9b}31m"), "\\x9b31m");
        assert_eq!(escape_controls("abc\u{202e}txt.exe"), "abc\\u{202e}txt.exe");
        assert_eq!(escape_controls("\u{7f}"), "\\x7f");
        assert_eq!(escape_controls_keep_lines("one\u{1b}[1m\ntwo"), "one\\x1b[1m\ntwo");
    }

    #[test]
    fn token_shapes_are_masked_and_ordinary_text_is_not() {
        assert_eq!(redact_shapes("Authorization: Bearer abcdefgh12345"), "Authorization: Bearer [redacted]");
        assert_eq!(redact_shapes("token ya29.a0AfH6SMB-xyz, done"), "token [redacted], done");
        assert_eq!(redact_shapes("jwt eyJhbGciOi.eyJzdWIiOiIxMjM0.c2lnbmF0dXJl end"), "jwt [redacted] end");
        let plain = "ExternalId z1kECwAtuWDAskzfssAMr83oEKr6VOgO2s7LVuLA for arn:aws:iam::1:role/x";
        assert_eq!(redact_shapes(plain), plain, "an ExternalId is not a secret");
    }
}
