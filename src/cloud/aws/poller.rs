//! Live CloudFormation events, the way the best CLIs follow a stack: `DescribeStackEvents` returns
//! newest first, so each poll pages only until it reaches the last event already seen, then emits
//! the new ones oldest first. Polls at once, then at 1 s and 2 s, then every
//! interval (1.5 s), backs off exponentially with jitter when
//! throttled, and follows the stack by its id (names stop resolving once a stack is deleted).

use chrono::{DateTime, Utc};
use rand::Rng;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::model::{Event, Status, Update};

/// One `StackEvent`, as the API gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub id: String,
    pub time: DateTime<Utc>,
    pub stack_name: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub physical_id: Option<String>,
}

impl RawEvent {
    /// The model event; `None` for a status this version does not know (kept in the log as text).
    pub fn to_event(&self) -> Result<Event, String> {
        let status = Status::parse(&self.status)
            .ok_or_else(|| format!("{} {} {} {}", self.stack_name, self.logical_id, self.resource_type, self.status))?;
        Ok(Event {
            time: self.time,
            group: self.stack_name.clone(),
            resource: self.logical_id.clone(),
            resource_type: self.resource_type.clone(),
            status,
            reason: self.reason.clone(),
            physical_id: self.physical_id.clone(),
        })
    }
}

/// A failure to read a page.
#[derive(Debug, Clone, PartialEq)]
pub enum PageError {
    /// Throttling: wait longer and try again.
    Throttled,
    /// Anything else, with the API's message.
    Failed(String),
    /// The overall deadline passed while the stack was still in this status.
    Deadline(Option<Status>),
}

/// Where pages come from: the SDK in production, recorded pages in tests.
pub trait EventSource {
    /// One page of events for `stack_id`, newest first, and the token of the next (older) page.
    fn page(
        &self,
        stack_id: &str,
        token: Option<String>,
    ) -> impl std::future::Future<Output = Result<(Vec<RawEvent>, Option<String>), PageError>> + Send;
}

/// Remembers what was already emitted for one stack.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    last_seen: Option<String>,
    /// Events older than this belong to earlier operations.
    since: Option<DateTime<Utc>>,
}

impl Cursor {
    /// Start after `last_seen` (the newest event before the operation), or at `since`.
    pub fn new(last_seen: Option<String>, since: Option<DateTime<Utc>>) -> Cursor {
        Cursor { last_seen, since }
    }

    /// Read pages until the last seen event; return the new events oldest first.
    pub async fn poll<S: EventSource>(&mut self, source: &S, stack_id: &str) -> Result<Vec<RawEvent>, PageError> {
        let mut fresh: Vec<RawEvent> = Vec::new();
        let mut token = None;
        'pages: loop {
            let (page, next) = source.page(stack_id, token).await?;
            for e in page {
                if Some(&e.id) == self.last_seen.as_ref() || self.since.is_some_and(|s| e.time < s) {
                    break 'pages;
                }
                fresh.push(e);
            }
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        if let Some(newest) = fresh.first() {
            self.last_seen = Some(newest.id.clone());
        }
        fresh.reverse();
        Ok(fresh)
    }
}

/// Poll timing: the usual cadence and the throttling backoff.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    pub interval: Duration,
    pub max_backoff: Duration,
    /// How long one stack is followed at most (`CLOUDGRANT_DEADLINE_SECS`).
    pub limit: Duration,
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            interval: Duration::from_millis(1500),
            max_backoff: Duration::from_secs(30),
            limit: crate::cloud::common::DEFAULT_DEADLINE,
        }
    }
}

impl Cadence {
    /// `CLOUDGRANT_POLL_MS` overrides the interval (tests against a local double).
    pub fn from_env() -> Cadence {
        let mut c = Cadence { limit: crate::cloud::common::deadline(), ..Cadence::default() };
        if let Some(ms) = std::env::var("CLOUDGRANT_POLL_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
            c.interval = Duration::from_millis(ms.clamp(10, 10_000));
        }
        c
    }

    /// The wait after poll number `n` of an operation (0: the poll right after the call): one
    /// second, twice, so an operation of a second or two is seen done at once, then the interval.
    /// (Polling sooner saw short operations end a little earlier at the cost of more requests per
    /// stack than the fixed interval made; this keeps both.)
    pub fn wait_after(&self, n: u32) -> Duration {
        let early = Duration::from_secs(1).min(self.interval);
        if n < 2 {
            early
        } else {
            self.interval
        }
    }

    /// Exponential backoff with full jitter: attempt 1 waits up to 2×interval, then 4×, … capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = self.interval.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(self.max_backoff);
        let millis = rand::rng()
            .random_range(self.interval.as_millis() as u64..=cap.as_millis().max(self.interval.as_millis()) as u64);
        Duration::from_millis(millis)
    }
}

/// How following a stack ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Followed {
    /// The stack's final status, as its last stack-level event said.
    pub status: Option<Status>,
    /// The first `*_FAILED` reason (not the "cancelled" follow-ups): the root cause.
    pub root_cause: Option<String>,
}

/// Is this reason only a consequence of another failure?
fn is_follow_up(reason: &str) -> bool {
    reason.contains("Resource creation cancelled")
        || reason.contains("Resource update cancelled")
        || reason.starts_with("The following resource(s) failed")
}

/// Follow `stack_id` until a stack-level event ends the operation, sending every new event.
pub async fn follow<S: EventSource>(
    source: &S,
    stack_id: &str,
    stack_name: &str,
    mut cursor: Cursor,
    cadence: Cadence,
    tx: &mpsc::Sender<Update>,
    cancel: &CancellationToken,
) -> Result<Followed, PageError> {
    let mut result = Followed { status: None, root_cause: None };
    let mut throttled = 0u32;
    let started = std::time::Instant::now();
    // The first poll right after the call that started the operation, then at 1 s and 2 s, then
    // every interval; a wait runs from when the last poll was sent.
    let mut polls = 0u32;
    loop {
        if started.elapsed() >= cadence.limit {
            return Err(PageError::Deadline(result.status));
        }
        let sent = tokio::time::Instant::now();
        let until = match cursor.poll(source, stack_id).await {
            Ok(events) => {
                throttled = 0;
                let mut done = false;
                for raw in events {
                    match raw.to_event() {
                        Ok(e) => {
                            if e.status.is_failure() && result.root_cause.is_none() {
                                if let Some(r) = e.reason.as_deref().filter(|r| !is_follow_up(r)) {
                                    result.root_cause = Some(r.to_string());
                                }
                            }
                            if e.resource == stack_name && e.resource_type == "AWS::CloudFormation::Stack" {
                                result.status = Some(e.status);
                                done = e.status.ends_operation();
                            }
                            let _ = tx.send(Update::Event(e)).await;
                        }
                        Err(text) => {
                            let _ = tx
                                .send(Update::Log {
                                    text: format!("event with a status cloudgrant does not know: {text}"),
                                })
                                .await;
                        }
                    }
                }
                if done {
                    return Ok(result);
                }
                let wait = cadence.wait_after(polls);
                polls += 1;
                sent + wait
            }
            Err(PageError::Throttled) => {
                throttled += 1;
                tokio::time::Instant::now() + cadence.backoff(throttled)
            }
            Err(e) => return Err(e),
        };
        tokio::select! {
            _ = cancel.cancelled() => return Ok(result),
            _ = tokio::time::sleep_until(until) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn ev(id: u32, logical: &str, status: &str, reason: Option<&str>) -> RawEvent {
        RawEvent {
            id: format!("e{id}"),
            time: DateTime::from_timestamp(1_700_000_000 + i64::from(id), 0).unwrap_or_default(),
            stack_name: "s".into(),
            logical_id: logical.into(),
            resource_type: if logical == "s" { "AWS::CloudFormation::Stack".into() } else { "AWS::EC2::VPC".into() },
            status: status.into(),
            reason: reason.map(String::from),
            physical_id: None,
        }
    }

    /// Recorded polls: poll N answers with snapshot N of the stack's events (the last one
    /// repeats), newest first, in pages of `page_size`.
    struct Recorded {
        polls: Vec<Vec<RawEvent>>,
        page_size: usize,
        throttle_first: Mutex<u32>,
        state: Mutex<(usize, u32)>, // (polls started, pages read)
    }

    impl Recorded {
        fn new(polls: Vec<Vec<RawEvent>>, page_size: usize, throttle_first: u32) -> Self {
            Recorded { polls, page_size, throttle_first: Mutex::new(throttle_first), state: Mutex::new((0, 0)) }
        }

        fn pages_read(&self) -> u32 {
            self.state.lock().unwrap().1
        }
    }

    impl EventSource for Recorded {
        async fn page(
            &self,
            _stack: &str,
            token: Option<String>,
        ) -> Result<(Vec<RawEvent>, Option<String>), PageError> {
            {
                let mut t = self.throttle_first.lock().unwrap();
                if *t > 0 {
                    *t -= 1;
                    return Err(PageError::Throttled);
                }
            }
            let mut state = self.state.lock().unwrap();
            if token.is_none() {
                state.0 += 1;
            }
            state.1 += 1;
            let snapshot = &self.polls[(state.0 - 1).min(self.polls.len() - 1)];
            let all: Vec<RawEvent> = snapshot.iter().rev().cloned().collect();
            let start: usize = token.as_deref().map(|t| t.parse().unwrap()).unwrap_or(0);
            let end = (start + self.page_size).min(all.len());
            let next = (end < all.len()).then(|| end.to_string());
            Ok((all[start..end].to_vec(), next))
        }
    }

    fn timeline() -> Vec<RawEvent> {
        vec![
            ev(1, "s", "CREATE_IN_PROGRESS", Some("User Initiated")),
            ev(2, "Vpc", "CREATE_IN_PROGRESS", None),
            ev(3, "Vpc", "CREATE_FAILED", Some("The maximum number of VPCs has been reached.")),
            ev(4, "Other", "CREATE_FAILED", Some("Resource creation cancelled")),
            ev(5, "s", "ROLLBACK_IN_PROGRESS", Some("The following resource(s) failed to create: [Vpc]. ")),
            ev(6, "Vpc", "DELETE_COMPLETE", None),
            ev(7, "s", "ROLLBACK_COMPLETE", None),
        ]
    }

    #[tokio::test]
    async fn emits_each_event_once_oldest_first_and_stops_paging_at_the_last_seen() {
        let all = timeline();
        let source = Recorded::new(vec![all[..2].to_vec(), all[..5].to_vec(), all.clone()], 2, 0);
        let (tx, mut rx) = mpsc::channel(100);
        let cadence =
            Cadence { interval: Duration::from_millis(1), max_backoff: Duration::from_millis(5), ..Cadence::default() };
        let out = follow(&source, "id", "s", Cursor::default(), cadence, &tx, &CancellationToken::new()).await.unwrap();
        drop(tx);
        let mut got = Vec::new();
        while let Some(Update::Event(e)) = rx.recv().await {
            got.push(e.status.as_str().to_string());
        }
        let want: Vec<String> = all.iter().map(|e| e.status.clone()).collect();
        assert_eq!(got, want);
        assert_eq!(out.status, Some(Status::RollbackComplete));
        assert_eq!(out.root_cause.as_deref(), Some("The maximum number of VPCs has been reached."));
        // Poll 1: one page (2 events). Poll 2: newest page has 2 new, second page reaches e2. Poll 3: one page reaches e5.
        assert_eq!(source.pages_read(), 1 + 2 + 2);
    }

    #[tokio::test]
    async fn old_events_of_earlier_operations_are_skipped() {
        let all = timeline();
        let source = Recorded::new(vec![all.clone()], 10, 0);
        let mut cursor = Cursor::new(Some("e5".into()), None);
        let fresh = cursor.poll(&source, "id").await.unwrap();
        assert_eq!(fresh.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["e6", "e7"]);
        let mut since = Cursor::new(None, all[5].time.into());
        let fresh = since.poll(&source, "id").await.unwrap();
        assert_eq!(fresh.len(), 2);
    }

    #[tokio::test]
    async fn following_stops_at_the_deadline_and_says_where_the_stack_stood() {
        let all = timeline();
        // The stack never gets past its first events.
        let source = Recorded::new(vec![all[..2].to_vec()], 10, 0);
        let (tx, _rx) = mpsc::channel(100);
        let cadence = Cadence {
            interval: Duration::from_millis(2),
            max_backoff: Duration::from_millis(4),
            limit: Duration::from_millis(40),
        };
        let out = follow(&source, "id", "s", Cursor::default(), cadence, &tx, &CancellationToken::new()).await;
        assert_eq!(out, Err(PageError::Deadline(Some(Status::CreateInProgress))));
    }

    #[tokio::test]
    async fn throttling_backs_off_and_recovers() {
        let all = timeline();
        let source = Recorded::new(vec![all.clone()], 10, 3);
        let (tx, _rx) = mpsc::channel(100);
        let cadence =
            Cadence { interval: Duration::from_millis(1), max_backoff: Duration::from_millis(8), ..Cadence::default() };
        let out = follow(&source, "id", "s", Cursor::default(), cadence, &tx, &CancellationToken::new()).await.unwrap();
        assert_eq!(out.status, Some(Status::RollbackComplete));
        for attempt in 1..10 {
            let d = cadence.backoff(attempt);
            assert!(d >= cadence.interval && d <= cadence.max_backoff, "{d:?}");
        }
    }
}
