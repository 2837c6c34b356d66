//! `#[weft::instrument]` on async functions: the span is current on every poll, on
//! whatever thread polls, and a returned `Err` is recorded before the span ends.
#![cfg(feature = "macros")]
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;
use weft::follow::FutureExt as _;

fn local() -> (weft::Weft, MemoryExporter) {
    weft::testing::deterministic().unwrap()
}

/// Ids are 1, 2, 3… in deterministic mode: shown as `#1`, `#2`, with `#0` for no parent.
fn short(id: &impl ToString) -> String {
    let id = id.to_string();
    format!(
        "#{}",
        id.trim_start_matches('0').parse::<u64>().unwrap_or(0)
    )
}

fn summary(r: &SpanRecord) -> String {
    let mut line = format!(
        "{} {:?} {} parent={} msg={:?} attrs={:?}",
        r.span_type.as_str(),
        r.name,
        short(&r.span_context.span_id()),
        short(&r.parent_span_id),
        r.message(),
        r.attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>(),
    );
    if let Some(level) = r.level {
        line.push_str(&format!(" level={}", level.number()));
    }
    if let Some(function) = r.code.and_then(|c| c.function) {
        line.push_str(&format!(" fn={function}"));
    }
    line
}

fn summaries(memory: &MemoryExporter) -> String {
    memory
        .spans()
        .iter()
        .map(summary)
        .collect::<Vec<_>>()
        .join("\n")
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[derive(Debug)]
struct Oops(#[allow(dead_code)] &'static str);

#[weft::instrument("Fetching {id}")]
async fn fetch(id: u64) -> u64 {
    weft::info!("before");
    tokio::task::yield_now().await;
    weft::info!("after");
    id * 10
}

#[weft::instrument("Failing {step}")]
async fn failing(step: u8) -> Result<u8, Oops> {
    if step == 0 {
        return Ok(0);
    }
    let half = check(step).await?;
    Ok(half)
}

async fn check(step: u8) -> Result<u8, Oops> {
    tokio::task::yield_now().await;
    if step % 2 == 1 {
        Err(Oops("odd"))
    } else {
        Ok(step / 2)
    }
}

/// The body's `Box::new(7)` must still coerce to the declared `Box<dyn Display>`.
#[weft::instrument("Boxing")]
async fn boxing() -> Box<dyn std::fmt::Display + Send> {
    Box::new(7)
}

struct Service {
    name: String,
}

impl Service {
    #[weft::instrument("Serving {request}")]
    async fn serve(&self, request: u32) -> String {
        tokio::task::yield_now().await;
        format!("{} answered {request}", self.name)
    }
}

#[test]
fn async_fn_spans_are_current_across_await() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let _request = weft::span!("request").entered();
        let rt = current_thread();
        assert_eq!(rt.block_on(fetch(4)), 40);
        assert_eq!(rt.block_on(failing(0)).unwrap(), 0);
        assert_eq!(rt.block_on(failing(2)).unwrap(), 1);
        assert!(rt.block_on(failing(3)).is_err());
        assert_eq!(rt.block_on(boxing()).to_string(), "7");
        let service = Service { name: "svc".into() };
        assert_eq!(rt.block_on(service.serve(5)), "svc answered 5");
    });
    assert!(weft.force_flush());
    insta::assert_snapshot!(summaries(&memory), @r#"
    log "before" #3 parent=#2 msg="before" attrs=[] level=9
    log "after" #4 parent=#2 msg="after" attrs=[] level=9
    span "Fetching {id}" #2 parent=#1 msg="Fetching 4" attrs=["id=4"] fn=fetch
    span "Failing {step}" #5 parent=#1 msg="Failing 0" attrs=["step=0"] fn=failing
    span "Failing {step}" #6 parent=#1 msg="Failing 2" attrs=["step=2"] fn=failing
    span "Failing {step}" #7 parent=#1 msg="Failing 3" attrs=["step=3", "error=Oops(\"odd\")"] level=17 fn=failing
    span "Boxing" #8 parent=#1 msg="Boxing" attrs=[] fn=boxing
    span "Serving {request}" #9 parent=#1 msg="Serving 5" attrs=["request=5"] fn=serve
    span "request" #1 parent=#0 msg="request" attrs=[]
    "#);
}

#[weft::instrument("Hopping {hops}")]
async fn hop(hops: u32) -> Result<Vec<String>, Oops> {
    let mut threads = Vec::new();
    for i in 0..hops {
        tokio::task::yield_now().await;
        weft::info!("hop {i}", i);
        threads.push(format!("{:?}", std::thread::current().id()));
    }
    if hops > 10 {
        Err(Oops("too far"))
    } else {
        Ok(threads)
    }
}

#[test]
fn async_fn_spans_follow_the_task_across_worker_threads() {
    let (weft, memory) = local();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    weft.in_scope(|| {
        let _request = weft::span!("request").entered();
        // `spawn` needs the instrumented future to be `Send`; the context (this instance
        // and `request`) goes with the task, and the macro's span is entered on each poll.
        let task = rt.spawn(hop(3).in_current_context());
        let threads = rt.block_on(task).unwrap().unwrap();
        assert_eq!(threads.len(), 3);
        let failed = rt.spawn(hop(11).in_current_context());
        assert!(rt.block_on(failed).unwrap().is_err());
    });
    assert!(weft.force_flush());
    let spans = memory.spans();
    let hopping: Vec<&SpanRecord> = spans
        .iter()
        .filter(|r| r.name == "Hopping {hops}")
        .collect();
    assert_eq!(hopping.len(), 2);
    for r in &spans {
        if r.name == "hop {i}" {
            let parent = r.parent_span_id;
            assert!(
                hopping.iter().any(|h| h.span_context.span_id() == parent),
                "{}",
                summary(r)
            );
        }
    }
    assert_eq!(hopping[0].parent_span_id.to_string(), "0000000000000001");
    assert_eq!(hopping[1].level.map(|l| l.number()), Some(17));
    assert_eq!(spans.iter().filter(|r| r.name == "hop {i}").count(), 14);
}

/// A hand-written async function: the span starts at the call, and is current while
/// the returned block runs.
#[weft::instrument("Later {x}")]
fn later(x: u8) -> impl Future<Output = u8> {
    async move {
        weft::info!("running");
        x + 1
    }
}

/// What `#[async_trait]` writes: a boxed block, whose `Output` is a `Result`.
#[weft::instrument("Boxed {x}")]
fn boxed(x: u8) -> Pin<Box<dyn Future<Output = Result<u8, Oops>> + Send>> {
    Box::pin(async move {
        tokio::task::yield_now().await;
        if x == 0 { Err(Oops("zero")) } else { Ok(x) }
    })
}

#[test]
fn functions_returning_an_async_block() {
    let (weft, memory) = local();
    weft.in_scope(|| {
        let rt = current_thread();
        let future = later(1);
        weft::info!("created");
        assert_eq!(rt.block_on(future), 2);
        assert_eq!(rt.block_on(boxed(3)).unwrap(), 3);
        assert!(rt.block_on(boxed(0)).is_err());
    });
    assert!(weft.force_flush());
    insta::assert_snapshot!(summaries(&memory), @r#"
    log "created" #2 parent=#0 msg="created" attrs=[] level=9
    log "running" #3 parent=#1 msg="running" attrs=[] level=9
    span "Later {x}" #1 parent=#0 msg="Later 1" attrs=["x=1"] fn=later
    span "Boxed {x}" #4 parent=#0 msg="Boxed 3" attrs=["x=3"] fn=boxed
    span "Boxed {x}" #5 parent=#0 msg="Boxed 0" attrs=["x=0", "error=Oops(\"zero\")"] level=17 fn=boxed
    "#);
}

#[tokio::test]
async fn works_under_tokio_test() {
    let (weft, memory) = local();
    let answer = fetch(2).in_context(weft.context()).await;
    assert_eq!(answer, 20);
    assert!(weft.force_flush());
    assert_eq!(
        memory
            .spans()
            .iter()
            .filter(|r| r.name == "Fetching {id}")
            .count(),
        1
    );
}
