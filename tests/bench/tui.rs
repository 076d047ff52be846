//! TUI benchmarks: (a) one frame of the Deploy screen holding 10,000 events, on a 120x40
//! TestBackend (goal: under 2 ms); (b) a burst of 10,000 `Update::Event`s through the runtime's
//! own channel, forwarder and batch drain into the app, checking afterwards that none was lost.
#![allow(clippy::expect_used, clippy::unwrap_used)] // benches: a panic is the failure report

#[path = "../tui_support/mod.rs"]
mod tui_support;

use std::hint::black_box;

use cloudgrant::model::{Status, Update};
use cloudgrant::tui::runtime::{apply_batch, channel, forward_updates, recv_batch, BATCH, CAPACITY};
use cloudgrant::tui::{render, Action, App};
use criterion::{criterion_group, criterion_main, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tui_support::*;

const EVENTS: usize = 10_000;

/// 10,000 events cycling over every resource of the plan, statuses moving on.
fn burst() -> Vec<Update> {
    let p = plan();
    let resources: Vec<(String, String, String)> = p
        .groups
        .iter()
        .flat_map(|g| g.resources.iter().map(move |r| (g.name.clone(), r.id.clone(), r.type_.clone())))
        .collect();
    let statuses = [Status::CreateInProgress, Status::CreateComplete, Status::UpdateInProgress, Status::UpdateComplete];
    (0..EVENTS)
        .map(|i| {
            let (g, r, t) = &resources[i % resources.len()];
            let reason = (i % 7 == 0).then_some("Resource creation Initiated");
            event(i as i64, g, r, t, statuses[(i / resources.len()) % statuses.len()], reason)
        })
        .collect()
}

fn deploying_app() -> App {
    let mut app = app_deploying();
    app.update(Action::Resize(120, 40));
    app
}

fn render_deploy(c: &mut Criterion) {
    let mut app = deploying_app();
    for u in burst() {
        app.update(Action::Update(u));
    }
    assert_eq!(app.deploy.as_ref().unwrap().events, EVENTS);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    c.bench_function("render deploy screen, 10k events, 120x40", |b| {
        b.iter(|| {
            terminal.draw(|f| render(black_box(&app), f)).unwrap();
        })
    });
    // Scrolled back into the middle of the log: the same cost.
    app.update(Action::PageUp);
    app.update(Action::PageUp);
    c.bench_function("render deploy screen, 10k events, scrolled", |b| {
        b.iter(|| {
            terminal.draw(|f| render(black_box(&app), f)).unwrap();
        })
    });
}

/// Push `updates` through a provider-side channel, the forwarder and the batch drain.
async fn drain_burst(mut app: App, updates: Vec<Update>) -> App {
    let (tx, mut rx) = channel();
    let (utx, urx) = tokio::sync::mpsc::channel(CAPACITY);
    let producer = tokio::spawn(async move {
        for u in updates {
            utx.send(u).await.unwrap();
        }
    });
    let forwarder = tokio::spawn(forward_updates(urx, tx));
    let mut buf = Vec::with_capacity(BATCH);
    let mut provider = None;
    while recv_batch(&mut rx, &mut buf).await > 0 {
        apply_batch(&mut app, &mut provider, &mut buf);
    }
    producer.await.unwrap();
    forwarder.await.unwrap();
    app
}

fn drain(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let app = deploying_app();
    let updates = burst();
    // Correctness first: every event arrives, in order.
    let done = rt.block_on(drain_burst(app.clone(), updates.clone()));
    let run = done.deploy.as_ref().unwrap();
    assert_eq!(run.events, EVENTS, "no event dropped");
    assert_eq!(run.log.len(), EVENTS);
    c.bench_function("drain 10k Update::Event through channel + batches", |b| {
        b.iter_batched(
            || (app.clone(), updates.clone()),
            |(a, u)| {
                let done = rt.block_on(drain_burst(a, u));
                assert_eq!(done.deploy.as_ref().map(|r| r.events), Some(EVENTS));
                done
            },
            criterion::BatchSize::LargeInput,
        )
    });
}

criterion_group!(benches, render_deploy, drain);
criterion_main!(benches);
