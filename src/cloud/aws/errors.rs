//! SDK errors → what the user should do: expired SSO token → `aws sso login`; no credentials →
//! where they were looked for; AccessDenied → the missing action.

use aws_sdk_cloudformation::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cloud::CloudError;

/// The parts of an SDK error cloudgrant needs, whatever the operation.
pub trait AsSdkError {
    fn error_code(&self) -> Option<String>;
    fn error_message(&self) -> String;
    fn is_dispatch(&self) -> bool;
}

impl<E, R> AsSdkError for SdkError<E, R>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    fn error_code(&self) -> Option<String> {
        self.as_service_error().and_then(|e| e.code()).map(String::from)
    }

    fn error_message(&self) -> String {
        match self.as_service_error() {
            Some(e) => e.message().map(String::from).unwrap_or_else(|| e.to_string()),
            None => format!("{}", aws_smithy_types::error::display::DisplayErrorContext(self)),
        }
    }

    fn is_dispatch(&self) -> bool {
        matches!(self, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ConstructionFailure(_))
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
    let lower = message.to_lowercase();
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
    if e.is_dispatch() {
        return CloudError::failed(
            format!("{action}: cannot reach AWS ({message})"),
            "Check the network connection and AWS_ENDPOINT_URL / proxy settings, then try again.",
        );
    }
    let code = code.map(|c| format!("{c}: ")).unwrap_or_default();
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
