//! What the latency benches share (tests/bench/clouds.rs, tests/bench/aws.rs): one measurement,
//! the most requests in flight, the median, and a row of the table.
#![allow(dead_code)] // each bench uses its part

use std::time::{Duration, Instant};

use cloudgrant::model::Update;
use tokio::sync::mpsc;

/// A long-running operation takes this long.
pub const OPERATION: Duration = Duration::from_secs(2);
pub const RUNS: usize = 3;

pub struct Sample {
    pub wall: Duration,
    pub requests: usize,
    pub in_flight: usize,
}

/// The most requests in flight at once: each is in flight from its arrival for `delay`.
pub fn max_in_flight(arrivals: &[Instant], delay: Duration) -> usize {
    if delay.is_zero() {
        return 0;
    }
    arrivals.iter().map(|a| arrivals.iter().filter(|b| *b <= a && **b + delay > *a).count()).max().unwrap_or(0)
}

pub fn drain(mut rx: mpsc::Receiver<Update>) {
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
}

pub fn median(mut v: Vec<Sample>) -> Sample {
    v.sort_by_key(|s| s.wall);
    v.swap_remove(v.len() / 2)
}

pub fn header() {
    println!("| cloud/command | latency | wall      | bound     | ratio | requests | max in flight |");
    println!("|---|---|---|---|---|---|---|");
}

/// One line of the table: the bound is `rounds` round trips plus `operations` operations.
pub fn row(name: &str, delay: Duration, rounds: u32, operations: u32, s: &Sample) {
    let bound = delay * rounds + OPERATION * operations;
    let ratio =
        if delay.is_zero() { "—".to_string() } else { format!("{:.2}", s.wall.as_secs_f64() / bound.as_secs_f64()) };
    let flight = if delay.is_zero() { "—".to_string() } else { s.in_flight.to_string() };
    println!(
        "| {name:<13} | {:>4} ms | {:>6.2} s | {:>6.2} s | {ratio:>5} | {:>8} | {flight:>13} |",
        delay.as_millis(),
        s.wall.as_secs_f64(),
        bound.as_secs_f64(),
        s.requests,
    );
}
