//! The fault-injecting proxy itself (tests/support/fault_proxy.rs), in front of moto, seen through
//! the real SDK with its retries off: each fault does what it says, on the request it names, and
//! the proxy counts it. CloudFormation speaks the query protocol (`Action=`), KMS the JSON one
//! (`X-Amz-Target`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/moto.rs"]
mod moto;

use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use fault_proxy::{Fault, FaultProxy, Rule};
use moto::{endpoint, REGION};

async fn through(proxy: &FaultProxy) -> (aws_sdk_cloudformation::Client, aws_sdk_kms::Client) {
    let creds = aws_sdk_sts::config::Credentials::new("testing", "testing", None, None, "tests");
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(proxy.url())
        .credentials_provider(creds)
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(1500)).build())
        .load()
        .await;
    (aws_sdk_cloudformation::Client::new(&conf), aws_sdk_kms::Client::new(&conf))
}

#[tokio::test]
async fn each_fault_does_what_it_says_on_the_request_it_names() {
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![
            Rule::nth("ListStacks", 1, Fault::ResetBefore),
            Rule::nth("ListStacks", 2, Fault::ResetAfter),
            Rule::nth("ListStacks", 3, Fault::DropReply),
            Rule::nth("ListStacks", 4, Fault::Delay(Duration::from_millis(300))),
            Rule::nth("ListStacks", 5, Fault::Stall),
            Rule::nth("ListStacks", 6, Fault::Http500 { body: true }),
            Rule::nth("ListStacks", 7, Fault::Http500 { body: false }),
            Rule::nth("ListStacks", 8, Fault::Throttling),
            Rule::from_nth("ListKeys", 2, Fault::Throttling),
        ],
    );
    let (cfn, kms) = through(&proxy).await;
    let list = || async { cfn.list_stacks().send().await };

    assert!(list().await.is_err(), "reset before forwarding");
    assert_eq!(proxy.forwarded("ListStacks"), 0, "{}", proxy.report());
    assert!(list().await.is_err(), "reset after forwarding");
    assert_eq!(proxy.forwarded("ListStacks"), 1, "it reached moto first: {}", proxy.report());
    assert!(list().await.is_err(), "reply dropped");
    assert_eq!(proxy.forwarded("ListStacks"), 2, "{}", proxy.report());
    let t = Instant::now();
    assert!(list().await.is_ok(), "delayed, then answered");
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    assert!(list().await.is_err(), "stalled until the attempt timeout");
    assert!(t.elapsed() >= Duration::from_millis(1400), "{:?}", t.elapsed());
    let e = list().await.expect_err("500");
    assert_eq!(e.code(), Some("InternalFailure"), "{e:?}");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    let e = list().await.expect_err("500 without a body");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(500));
    let e = list().await.expect_err("throttled");
    assert_eq!(e.code(), Some("Throttling"), "query protocol: {e:?}");
    assert!(list().await.is_ok(), "the rules are spent: answered normally");

    assert!(kms.list_keys().send().await.is_ok(), "the first ListKeys passes");
    for _ in 0..2 {
        let e = kms.list_keys().send().await.expect_err("throttled from the 2nd on");
        assert_eq!(e.code(), Some("ThrottlingException"), "JSON protocol: {e:?}");
    }
    assert_eq!(proxy.seen("ListStacks"), 9);
    assert_eq!(proxy.seen("ListKeys"), 3);
    for i in 0..8 {
        assert_eq!(proxy.fired(i), 1, "rule {i}: {}", proxy.report());
    }
    assert_eq!(proxy.fired(8), 2);
    assert_eq!(proxy.forwarded("ListKeys"), 1);
}

#[tokio::test]
async fn a_truncated_answer_fails_and_a_rate_rule_faults_its_share_the_same_way_each_run() {
    let proxy = FaultProxy::start(&endpoint(), vec![Rule::nth("ListStacks", 1, Fault::Truncated)]);
    let (cfn, _) = through(&proxy).await;
    assert!(cfn.list_stacks().send().await.is_err(), "half an answer is no answer");
    assert_eq!(proxy.forwarded("ListStacks"), 1, "it reached moto: {}", proxy.report());
    assert!(cfn.list_stacks().send().await.is_ok(), "the rule is spent");

    let faulted = |seed: u64| async move {
        let proxy = FaultProxy::start_seeded(
            &endpoint(),
            vec![Rule::rate("*", 0.3, vec![Fault::Throttling, Fault::Http500 { body: false }])],
            seed,
        );
        let (cfn, kms) = through(&proxy).await;
        let mut outcomes = Vec::new();
        for i in 0..40 {
            let ok =
                if i % 2 == 0 { cfn.list_stacks().send().await.is_ok() } else { kms.list_keys().send().await.is_ok() };
            outcomes.push(ok);
        }
        assert_eq!(proxy.faults() as usize, outcomes.iter().filter(|ok| !**ok).count(), "{}", proxy.report());
        outcomes
    };
    let a = faulted(7).await;
    assert_eq!(a, faulted(7).await, "the same seed faults the same requests");
    let failed = a.iter().filter(|ok| !**ok).count();
    assert!((4..=20).contains(&failed), "about 30 % of 40: {failed}");
}
