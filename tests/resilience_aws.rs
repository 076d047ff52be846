//! Issue 13 on AWS, against moto behind the fault proxy: every call is bounded (a stalled
//! endpoint fails in bounded time naming the call and the endpoint; a slow answer is said while
//! it is awaited), init and revoke survive 30 % HTTP 500 / throttling on every call and say how
//! many retries they needed, network errors read as one sentence and a next step, and a run
//! whose last read failed still hands over the vendor's values. docs/reliability.md holds the
//! figures these tests print.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/moto.rs"]
mod moto;

use std::time::{Duration, Instant};

use fault_proxy::{Fault, FaultProxy, Rule};
use moto::{both, cloudgrant_env, endpoint, text, unique};

/// Short backoffs, so a run with many retries stays quick; the retry mode and counts are the
/// real ones.
const FAST_RETRIES: [(&str, &str); 2] =
    [("CLOUDGRANT_AWS_BACKOFF_SECS", "0.02"), ("CLOUDGRANT_AWS_MAX_BACKOFF_SECS", "0.3")];

/// The retries the run reported ("AWS: 14 retries over 71 requests (…)").
fn retries_said(stderr: &str) -> u32 {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("AWS: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What an error line must never be: the SDK's debug structures.
fn assert_plain(err: &str) {
    for shape in ["DispatchFailure", "ConnectorError", "TimeoutError", "ResponseError", "Error {", "source:", "kind:"] {
        assert!(!err.contains(shape), "no debug structure (`{shape}`):\n{err}");
    }
    let error_lines = err.lines().filter(|l| l.starts_with("error: ")).count();
    assert_eq!(error_lines, 1, "one error line:\n{err}");
    assert!(err.lines().any(|l| l.starts_with("next: ") && l.len() > 20), "a next step:\n{err}");
}

#[test]
fn init_and_revoke_survive_thirty_percent_500s_and_throttling_ten_times_out_of_ten() {
    let (mut faults, mut retries, mut requests) = (0, 0, 0);
    let mut done: std::collections::BTreeMap<String, u32> = Default::default();
    let started = Instant::now();
    for run in 0..10u64 {
        let proxy = FaultProxy::start_seeded(
            &endpoint(),
            vec![Rule::rate(
                "*",
                0.3,
                vec![Fault::Http500 { body: false }, Fault::Http500 { body: true }, Fault::Throttling],
            )],
            run + 1,
        );
        let org = unique(&format!("flaky{run}"));
        let init = cloudgrant_env(&proxy.url(), &["init", "--org", &org, "--yes"], &FAST_RETRIES);
        assert!(init.status.success(), "run {run}: init survives: {}\n{}", both(&init), proxy.report());
        let revoke = cloudgrant_env(&proxy.url(), &["revoke", "--org", &org, "--yes"], &FAST_RETRIES);
        assert!(revoke.status.success(), "run {run}: revoke survives: {}\n{}", both(&revoke), proxy.report());
        let said = retries_said(&text(&init.stderr)) + retries_said(&text(&revoke.stderr));
        // Every fault the proxy did was one attempt the SDK made again, and the run says so.
        assert_eq!(
            said,
            proxy.faults(),
            "run {run}: the retries said are the faults done:\n{}\n{}\n{}",
            both(&init),
            both(&revoke),
            proxy.report()
        );
        assert!(proxy.faults() > 0, "run {run}: faults were injected: {}", proxy.report());
        faults += proxy.faults();
        retries += said;
        requests += proxy.seen_total();
        for (k, n) in proxy.done() {
            *done.entry(k).or_default() += n;
        }
    }
    eprintln!(
        "figures: 10/10 init+revoke survived; {requests} requests, {faults} faults injected ({done:?}), {retries} retries said; {:.0} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_stalled_endpoint_fails_in_bounded_time_naming_the_call_and_the_endpoint() {
    let proxy = FaultProxy::start(&endpoint(), vec![Rule::from_nth("DescribeStacks", 1, Fault::Stall)]);
    let bounds = [
        ("CLOUDGRANT_AWS_ATTEMPT_SECS", "1"),
        ("CLOUDGRANT_AWS_OPERATION_SECS", "4"),
        ("CLOUDGRANT_AWS_MAX_ATTEMPTS", "3"),
        FAST_RETRIES[0],
    ];
    let t = Instant::now();
    let out = cloudgrant_env(&proxy.url(), &["status"], &bounds);
    let took = t.elapsed();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(took < Duration::from_secs(10), "bounded: {took:?}");
    assert!(took >= Duration::from_secs(2), "it did wait for the attempts: {took:?}");
    assert!(err.contains("cloudformation:"), "names the call: {err}");
    assert!(err.contains(&proxy.url()), "names the endpoint: {err}");
    assert!(err.contains("no answer from") && err.contains("each attempt waits 1 s"), "{err}");
    assert_plain(&err);
    assert_eq!(proxy.seen("DescribeStacks"), 3, "every attempt was made: {}", proxy.report());
    eprintln!(
        "figures: stalled DescribeStacks gave up after {:.1} s ({} attempts)",
        took.as_secs_f64(),
        proxy.seen("DescribeStacks")
    );
}

#[test]
fn a_slow_answer_is_said_while_it_is_awaited() {
    let proxy =
        FaultProxy::start(&endpoint(), vec![Rule::nth("DescribeStacks", 1, Fault::Delay(Duration::from_millis(2600)))]);
    let out = cloudgrant_env(&proxy.url(), &["status"], &[("CLOUDGRANT_AWS_SLOW_SECS", "1")]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{}", both(&out));
    assert!(err.contains("waiting for AWS (DescribeStacks) 1 s…"), "{err}");
    assert!(err.contains("waiting for AWS (DescribeStacks) 2 s…"), "{err}");
    assert!(proxy.longest_hold() >= Duration::from_millis(2600));
}

/// A closed loopback port.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn network_errors_read_as_one_sentence_and_a_next_step() {
    let moto_port = endpoint().rsplit(':').next().unwrap().trim_end_matches('/').to_string();
    let reset = FaultProxy::start(&endpoint(), vec![Rule::from_nth("GetCallerIdentity", 1, Fault::ResetBefore)]);
    let cut = FaultProxy::start(&endpoint(), vec![Rule::from_nth("GetCallerIdentity", 1, Fault::Truncated)]);
    let bare =
        FaultProxy::start(&endpoint(), vec![Rule::from_nth("GetCallerIdentity", 1, Fault::Http500 { body: false })]);
    let cases: Vec<(String, &str)> = vec![
        (format!("http://127.0.0.1:{}", closed_port()), "was refused"),
        (reset.url(), "was reset"),
        (cut.url(), "was cut short"),
        ("http://cloudgrant-no-such-host.invalid".to_string(), "could not be resolved"),
        (format!("https://127.0.0.1:{moto_port}"), "secure connection (TLS)"),
        (bare.url(), "AWS answered 500 with no message"),
    ];
    let bounds = [("CLOUDGRANT_AWS_MAX_ATTEMPTS", "2"), ("CLOUDGRANT_AWS_CONNECT_SECS", "3"), FAST_RETRIES[0]];
    for (url, needle) in &cases {
        let t = Instant::now();
        let out = cloudgrant_env(url, &["status"], &bounds);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", both(&out));
        let line = err.lines().find(|l| l.starts_with("error: ")).unwrap_or("");
        assert!(line.contains("sts:GetCallerIdentity") && line.contains(needle), "{url}: `{needle}`:\n{err}");
        assert!(!err.contains("read the message from AWS above"), "{err}");
        assert_plain(&err);
        assert!(t.elapsed() < Duration::from_secs(20), "{url}: {:?}", t.elapsed());
    }
    assert!(cut.faults() > 0 && reset.faults() > 0 && bare.faults() > 0);
}

#[test]
fn a_profile_that_does_not_exist_is_named_with_the_profiles_found_and_no_metadata_probe() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(&config, "[default]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-1\n").unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(&creds, "[ci]\naws_access_key_id = A\naws_secret_access_key = B\n").unwrap();
    let t = Instant::now();
    let out = cloudgrant_env(
        &endpoint(),
        &["status", "--profile", "pord"],
        &[
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
            // Would the metadata service be asked, it would answer nothing here for seconds.
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &format!("http://127.0.0.1:{}", closed_port())),
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", both(&out));
    assert!(err.contains("AWS profile `pord` not found"), "{err}");
    assert!(err.contains("profiles found: default, prod, ci"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3), "refused before any lookup: {:?}", t.elapsed());
    assert_plain(&err);
}

#[test]
fn init_whose_last_read_failed_says_the_install_is_complete_and_gives_the_values() {
    // Count the ListStacks of a clean init first: the last one is the read after applying.
    let probe = FaultProxy::start(&endpoint(), vec![]);
    let org = unique("lastread");
    let out = cloudgrant_env(&probe.url(), &["init", "--org", &org, "--yes"], &[]);
    assert!(out.status.success(), "{}", both(&out));
    let reads = probe.seen("ListStacks");
    let revoke = cloudgrant_env(&probe.url(), &["revoke", "--org", &org, "--yes"], &[]);
    assert!(revoke.status.success(), "{}", both(&revoke));

    // Again, with every attempt of that last read failing (two attempts).
    let proxy = FaultProxy::start(
        &endpoint(),
        vec![Rule {
            action: "ListStacks".into(),
            from: reads,
            times: Some(2),
            fault: Fault::Http500 { body: true },
            rate: None,
        }],
    );
    let org = unique("lastread");
    let out = cloudgrant_env(
        &proxy.url(),
        &["init", "--org", &org, "--yes"],
        &[("CLOUDGRANT_AWS_MAX_ATTEMPTS", "2"), FAST_RETRIES[0]],
    );
    let said = text(&out.stdout);
    assert_eq!(proxy.fired(0), 2, "the last read failed: {}", proxy.report());
    assert!(out.status.success(), "{}", both(&out));
    assert!(said.contains("The install is complete"), "{said}");
    assert!(said.contains("VendorRoleArn: arn:aws:iam::") && said.contains("ExternalId: "), "{said}");
    assert!(text(&out.stderr).contains("warning: "), "the failure is still said: {}", both(&out));
    let revoke = cloudgrant_env(&endpoint(), &["revoke", "--org", &org, "--yes"], &[]);
    assert!(revoke.status.success(), "{}", both(&revoke));
}
