//! SDK errors → what the user should do: expired SSO token → `aws sso login`; no credentials →
//! where they were looked for; AccessDenied → the missing action.

use aws_sdk_cloudformation::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cloud::CloudError;

/// The parts of an SDK error cloudgrant needs, whatever the operation.
pub trait AsSdkError {
    fn error_code(&self) -> Option<String>;
    /// AWS's message; for an error that never reached AWS, one plain sentence saying what
    /// happened on the way (never the SDK's debug structure).
    fn error_message(&self) -> String;
    fn is_dispatch(&self) -> bool;
    /// What went wrong on the way, when the request or its answer did not make it.
    fn network(&self) -> Option<Network> {
        None
    }
    /// The HTTP status of AWS's answer, when there was one.
    fn http_status(&self) -> Option<u16> {
        None
    }
    /// Everything the error says, its causes included, for recognising it (not for printing).
    fn detail(&self) -> String {
        self.error_message()
    }
}

/// Ways a call fails on the network, each with its own sentence and next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Refused,
    Reset,
    /// The answer stopped before its end (connection closed mid-body).
    CutShort,
    Dns,
    Tls,
    /// No answer within the attempt and operation timeouts.
    Timeout,
    Other,
}

impl Network {
    /// From the text of the error and its causes (the HTTP stack gives no finer type).
    pub fn classify(text: &str, timeout: bool) -> Network {
        let t = text.to_lowercase();
        let any = |words: &[&str]| words.iter().any(|w| t.contains(w));
        if any(&[
            "dns error",
            "failed to lookup address",
            "name or service not known",
            "no such host",
            "name resolution",
            "nodename nor servname",
        ]) {
            Network::Dns
        } else if any(&["connection refused", "actively refused"]) {
            Network::Refused
        } else if any(&["certificate", "tls", "handshake", "invalid peer", "unknownissuer", "corrupt message", "alert"])
        {
            Network::Tls
        } else if any(&["connection reset", "reset by peer", "broken pipe"]) {
            Network::Reset
        } else if any(&[
            "incomplete message",
            "unexpected eof",
            "end of file",
            "before message completed",
            "error reading a body",
            "body from connection",
            "connection closed",
        ]) {
            Network::CutShort
        } else if timeout || any(&["timed out", "timeout"]) {
            Network::Timeout
        } else {
            Network::Other
        }
    }

    /// What happened, as one sentence without the call's name (`endpoint`: where it went).
    pub fn sentence(self, endpoint: &str) -> String {
        let b = super::bounds::current();
        match self {
            Network::Refused => format!("the connection to {endpoint} was refused (nothing accepts connections there)"),
            Network::Reset => format!("the connection to {endpoint} was reset before the answer came"),
            Network::CutShort => format!("the answer from {endpoint} was cut short (the connection closed mid-answer)"),
            Network::Dns => format!("the host name of {endpoint} could not be resolved (DNS)"),
            Network::Tls => format!("the secure connection (TLS) to {endpoint} failed: its certificate is not trusted, or it does not speak TLS"),
            Network::Timeout => format!(
                "no answer from {endpoint} in time (each attempt waits {} s, {} attempts at most, {} s in all)",
                b.attempt.as_secs_f64(),
                b.max_attempts,
                b.operation.as_secs_f64()
            ),
            Network::Other => format!("the call to {endpoint} failed on the way"),
        }
    }

    pub fn next_step(self) -> &'static str {
        match self {
            Network::Refused => "Check AWS_ENDPOINT_URL and the proxy settings (HTTPS_PROXY, NO_PROXY): without them cloudgrant talks to AWS's own endpoints. Then run again.",
            Network::Reset | Network::CutShort => "A proxy, VPN or firewall on the way may be cutting connections; check the network and run again (what was done so far stays; `cloudgrant status` shows it).",
            Network::Dns => "Check the network connection and DNS (and AWS_ENDPOINT_URL, if set), then run again.",
            Network::Tls => "If a corporate proxy inspects TLS, its root certificate must be trusted by this system; check that AWS_ENDPOINT_URL starts with the right scheme (https:// or http://); then run again.",
            Network::Timeout => "The endpoint accepts the call but does not answer: check the network, proxy and AWS_ENDPOINT_URL, or try again later (what was done so far stays; `cloudgrant status` shows it).",
            Network::Other => "Check the network connection and AWS_ENDPOINT_URL / proxy settings, then run again.",
        }
    }
}

/// Where calls of `action` (`cloudformation:CreateStack`) went: the endpoint last used for its
/// service, or the service's public one in the region.
fn endpoint_for(action: &str) -> String {
    let service = action.split(':').next().unwrap_or("aws");
    super::bounds::endpoint_of(service).unwrap_or_else(|| format!("the {service} endpoint"))
}

impl<E, R> AsSdkError for SdkError<E, R>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HttpStatus + 'static,
{
    fn error_code(&self) -> Option<String> {
        self.as_service_error().and_then(|e| e.code()).map(String::from)
    }

    fn error_message(&self) -> String {
        match self.as_service_error() {
            Some(e) => e.message().map(String::from).unwrap_or_default(),
            None => match self.network() {
                Some(n) if n != Network::Other => n.sentence("AWS"),
                _ => last_cause(self),
            },
        }
    }

    fn detail(&self) -> String {
        format!("{}", aws_smithy_types::error::display::DisplayErrorContext(self))
    }

    fn is_dispatch(&self) -> bool {
        matches!(self, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ConstructionFailure(_))
    }

    fn network(&self) -> Option<Network> {
        let text = || format!("{}", aws_smithy_types::error::display::DisplayErrorContext(self));
        match self {
            SdkError::TimeoutError(_) => Some(Network::Timeout),
            SdkError::DispatchFailure(d) => Some(Network::classify(&text(), d.is_timeout())),
            SdkError::ResponseError(_) => Some(match Network::classify(&text(), false) {
                Network::Other => Network::CutShort,
                n => n,
            }),
            _ => None,
        }
    }

    fn http_status(&self) -> Option<u16> {
        match self {
            SdkError::ServiceError(c) => c.raw().status_code(),
            SdkError::ResponseError(c) => c.raw().status_code(),
            _ => None,
        }
    }
}

/// The innermost cause's own words ("Connection refused (os error 111)"), not the chain of
/// wrappers around it.
fn last_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    crate::redact::escape_controls(&cur.to_string()).into_owned()
}

/// The HTTP status of a raw answer (the SDK's `HttpResponse`; any other raw type has none).
pub trait HttpStatus {
    fn status_code(&self) -> Option<u16> {
        None
    }
}

impl HttpStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> Option<u16> {
        Some(self.status().as_u16())
    }
}

/// Is this error AWS saying "slow down"?
pub fn is_throttling(code: Option<&str>) -> bool {
    matches!(code, Some("Throttling" | "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded"))
}

/// The action named in an AccessDenied message ("... is not authorized to perform: iam:CreateRole ...").
pub fn denied_action(message: &str) -> Option<String> {
    let rest = message.split("not authorized to perform: ").nth(1)?;
    Some(rest.split_whitespace().next()?.trim_end_matches(['.', ',']).to_string())
}

pub fn sdk_error(action: &str, profile: Option<&str>, e: impl AsSdkError) -> CloudError {
    let code = e.error_code();
    let message = e.error_message();
    let lower = e.detail().to_lowercase();
    let login = match profile {
        Some(p) => format!("aws sso login --profile {p}"),
        None => "aws sso login".into(),
    };
    if lower.contains("sso") && (lower.contains("expired") || lower.contains("refresh") || lower.contains("invalid")) {
        return CloudError::failed(
            format!("{action}: the SSO session has expired ({message})"),
            format!("Run `{login}`, then try again."),
        );
    }
    if matches!(code.as_deref(), Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired")) {
        return CloudError::failed(
            format!("{action}: the credentials have expired ({message})"),
            format!("Refresh them (`{login}` for SSO profiles, or new temporary credentials), then try again."),
        );
    }
    if lower.contains("no credentials")
        || lower.contains("failed to load credentials")
        || lower.contains("credentials provider was not enabled")
    {
        return CloudError::failed(
            format!("{action}: no AWS credentials found"),
            "cloudgrant looked where the AWS CLI looks: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials, ~/.aws/config (including SSO profiles), and the instance metadata service. Run `aws configure` or `aws sso login --profile NAME`, or use the sandbox (`cloudgrant --sandbox`).",
        );
    }
    if matches!(
        code.as_deref(),
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError")
    ) || lower.contains("not authorized to perform")
    {
        let missing = denied_action(&message).unwrap_or_else(|| action.to_string());
        return CloudError::failed(
            format!("{action}: access denied ({message})"),
            format!("Your identity lacks `{missing}`. Ask an administrator to allow it (docs/aws.md lists every permission the wizard needs), or use a profile that has it."),
        );
    }
    if matches!(code.as_deref(), Some("InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch"))
    {
        return CloudError::failed(
            format!("{action}: AWS does not accept these credentials ({message})"),
            "Check the access key and secret (`aws configure list`), or sign in again.",
        );
    }
    if let Some(n) = e.network() {
        return CloudError::failed(format!("{action}: {}", n.sentence(&endpoint_for(action))), n.next_step());
    }
    if e.is_dispatch() {
        return CloudError::failed(
            format!("{action}: cannot reach AWS at {} ({message})", endpoint_for(action)),
            Network::Other.next_step(),
        );
    }
    let status = e.http_status();
    let retried = format!(
        "This is trouble on AWS's side, and cloudgrant already tried {} times; wait a few minutes and run again (what was done so far stays; `cloudgrant status` shows it).",
        super::bounds::current().max_attempts
    );
    if message.trim().is_empty() {
        let what = match (status, &code) {
            (Some(s), Some(c)) => format!("AWS answered {s} ({c}) with no message"),
            (Some(s), None) => format!("AWS answered {s} with no message"),
            (None, Some(c)) => format!("AWS answered {c} with no message"),
            (None, None) => "AWS answered an error with no message".to_string(),
        };
        let next = if status.is_some_and(|s| s >= 500) {
            retried
        } else {
            "Check the values of the call named above (`cloudgrant plan` shows them), then run again; if it persists, run with --log-file FILE and send that file to support.".to_string()
        };
        return CloudError::failed(format!("{action}: {what}"), next);
    }
    let message = crate::redact::escape_controls(&message);
    let code = code.map(|c| format!("{c}: ")).unwrap_or_default();
    if let Some(s) = status.filter(|s| *s >= 500) {
        return CloudError::failed(format!("{action}: AWS answered {s} ({code}{message})"), retried);
    }
    CloudError::failed(
        format!("{action}: {code}{message}"),
        "Read the message from AWS above; fix its cause and run again.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake(Option<&'static str>, &'static str, bool);
    impl AsSdkError for Fake {
        fn error_code(&self) -> Option<String> {
            self.0.map(String::from)
        }
        fn error_message(&self) -> String {
            self.1.into()
        }
        fn is_dispatch(&self) -> bool {
            self.2
        }
    }

    #[test]
    fn next_steps_name_the_fix() {
        let e = sdk_error(
            "cloudformation:CreateStack",
            Some("prod"),
            Fake(
                Some("AccessDenied"),
                "User: arn:aws:iam::1:user/x is not authorized to perform: cloudformation:CreateStack on resource: y",
                false,
            ),
        );
        assert!(e.next_step().contains("`cloudformation:CreateStack`"), "{}", e.next_step());
        let e = sdk_error(
            "sts:GetCallerIdentity",
            Some("prod"),
            Fake(None, "the SSO session has expired or is otherwise invalid", true),
        );
        assert!(e.next_step().contains("aws sso login --profile prod"));
        let e = sdk_error(
            "sts:GetCallerIdentity",
            None,
            Fake(None, "failed to load credentials: no credentials in the chain", true),
        );
        assert!(e.next_step().contains("~/.aws/credentials") && e.next_step().contains("--sandbox"));
        let e = sdk_error("x", None, Fake(None, "connection refused", true));
        assert!(e.to_string().contains("cannot reach AWS"));
        assert_eq!(
            denied_action("is not authorized to perform: iam:PassRole on resource"),
            Some("iam:PassRole".into())
        );
        assert!(is_throttling(Some("Throttling")));
    }
}
