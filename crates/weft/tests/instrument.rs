//! `#[weft::instrument]` through a real, deterministic pipeline: whole records compared,
//! for each shape of function the macro accepts.
#![cfg(feature = "macros")]
#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

use serde::Serialize;
use weft::Level;
use weft::export::SpanRecord;
use weft::export::memory::MemoryExporter;

fn local() -> (weft::Weft, MemoryExporter) {
    weft::testing::deterministic().unwrap()
}

/// Runs `f` in a fresh instance and gives one summary line per finished record.
fn record(f: impl FnOnce()) -> String {
    let (weft, memory) = local();
    weft.in_scope(f);
    assert!(weft.force_flush());
    memory
        .spans()
        .iter()
        .map(summary)
        .collect::<Vec<_>>()
        .join("\n")
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
    if r.status != weft::export::Status::Unset {
        line.push_str(&format!(" status={:?}", r.status));
    }
    if let Some(function) = r.code.and_then(|c| c.function) {
        line.push_str(&format!(" fn={function}"));
    }
    line
}

const DOUBLE_LINE: u32 = line!() + 1;
#[weft::instrument("Doubling {x}")]
fn double(x: i32) -> i32 {
    x * 2
}

#[test]
fn the_seed_example() {
    let got = record(|| {
        let _span = weft::span!("Doubling everything").entered();
        let results: Vec<i32> = (0..3).map(double).collect();
        assert_eq!(results, [0, 2, 4]);
    });
    insta::assert_snapshot!(got, @r#"
    span "Doubling {x}" #2 parent=#1 msg="Doubling 0" attrs=["x=0"] fn=double
    span "Doubling {x}" #3 parent=#1 msg="Doubling 1" attrs=["x=1"] fn=double
    span "Doubling {x}" #4 parent=#1 msg="Doubling 2" attrs=["x=2"] fn=double
    span "Doubling everything" #1 parent=#0 msg="Doubling everything" attrs=[]
    "#);
}

#[test]
fn code_location_is_the_attribute() {
    let (weft, memory) = local();
    weft.in_scope(|| double(1));
    assert!(weft.force_flush());
    let code = memory.spans()[0].code.unwrap();
    assert_eq!((code.function, code.lineno), (Some("double"), DOUBLE_LINE));
    assert!(
        code.filepath.ends_with("instrument.rs"),
        "{}",
        code.filepath
    );
    assert_eq!(code.namespace, "instrument");
}

#[weft::instrument]
fn noargs(a: i32, b: &str) -> usize {
    weft::info!("inside");
    a as usize + b.len()
}

#[test]
fn without_a_template_the_name_is_the_function() {
    let got = record(|| assert_eq!(noargs(1, "two"), 4));
    insta::assert_snapshot!(got, @r#"
    log "inside" #2 parent=#1 msg="inside" attrs=[] level=9
    span "Calling instrument::noargs" #1 parent=#0 msg="Calling instrument::noargs" attrs=["a=1", "b=two"] fn=noargs
    "#);
}

/// Not `Serialize`: must be skipped to be an argument.
struct Connection;

#[weft::instrument("Querying {table}", skip(conn, limit))]
fn query(conn: &Connection, table: &str, limit: u32) -> u32 {
    let _ = conn;
    limit
}

#[weft::instrument("Connecting", skip_all)]
fn connect(conn: Connection, retries: u8) -> u8 {
    let Connection = conn;
    retries
}

#[weft::instrument("Debugging {n}", level = "debug")]
fn debugging(n: u8) {}

#[weft::instrument("Warning", level = weft::Level::Warn)]
fn warning() {}

#[test]
fn skip_skip_all_and_level() {
    let got = record(|| {
        assert_eq!(query(&Connection, "users", 10), 10);
        assert_eq!(connect(Connection, 3), 3);
        debugging(7);
        warning();
    });
    insta::assert_snapshot!(got, @r#"
    span "Querying {table}" #1 parent=#0 msg="Querying users" attrs=["table=users"] fn=query
    span "Connecting" #2 parent=#0 msg="Connecting" attrs=[] fn=connect
    span "Debugging {n}" #3 parent=#0 msg="Debugging 7" attrs=["n=7"] level=5 fn=debugging
    span "Warning" #4 parent=#0 msg="Warning" attrs=[] level=13 fn=warning
    "#);
}

#[test]
fn a_filtered_level_records_nothing_but_runs_the_body() {
    let memory = MemoryExporter::default();
    let weft = weft::configure()
        .local()
        .console(false)
        .no_default_exporter()
        .env([("LOGFIRE_TOKEN", "")])
        .min_level(Level::Info)
        .exporter(memory.clone())
        .finish()
        .unwrap();
    weft.in_scope(|| {
        debugging(1);
        assert_eq!(double(4), 8);
    });
    assert!(weft.force_flush());
    let names: Vec<_> = memory.spans().iter().map(|r| r.name.to_string()).collect();
    assert_eq!(names, ["Doubling {x}"]);
}

#[derive(Default)]
struct Counter {
    count: u32,
}

impl Counter {
    #[weft::instrument("Adding {n}")]
    fn add(&mut self, n: u32) -> u32 {
        self.count += n;
        self.count
    }

    #[weft::instrument]
    fn get(&self) -> u32 {
        self.count
    }

    #[weft::instrument("Consuming")]
    fn into_count(self) -> u32 {
        self.count
    }

    #[weft::instrument("Making {start}")]
    fn new_at(start: u32) -> Self {
        Self { count: start }
    }
}

#[test]
fn methods_record_their_arguments_but_not_self() {
    let got = record(|| {
        let mut counter = Counter::new_at(1);
        assert_eq!(counter.add(2), 3);
        assert_eq!(counter.get(), 3);
        assert_eq!(counter.into_count(), 3);
    });
    insta::assert_snapshot!(got, @r#"
    span "Making {start}" #1 parent=#0 msg="Making 1" attrs=["start=1"] fn=new_at
    span "Adding {n}" #2 parent=#0 msg="Adding 2" attrs=["n=2"] fn=add
    span "Calling instrument::get" #3 parent=#0 msg="Calling instrument::get" attrs=[] fn=get
    span "Consuming" #4 parent=#0 msg="Consuming" attrs=[] fn=into_count
    "#);
}

#[derive(Serialize)]
struct Point {
    x: i32,
    y: i32,
}

#[weft::instrument("Pair {a} {b}")]
fn pair((a, b): (i32, i32), Point { x, y: _ }: Point, _: u8) -> i32 {
    a + b + x
}

#[weft::instrument("Generic {value}")]
fn generic<T: Serialize + std::fmt::Display>(value: T, mut f: impl FnMut(&T) -> String) -> String {
    f(&value)
}

#[weft::instrument("Borrowing {items}")]
fn borrowing<'a>(items: &'a mut Vec<u8>, r#type: &str) -> &'a [u8] {
    items.push(r#type.len() as u8);
    items
}

#[test]
fn patterns_generics_impl_trait_and_borrows() {
    let got = record(|| {
        assert_eq!(pair((1, 2), Point { x: 3, y: 4 }, 5), 6);
        assert_eq!(generic(7, |v| format!("<{v}>")), "<7>");
        let mut items = vec![1];
        assert_eq!(borrowing(&mut items, "abc"), [1, 3]);
    });
    insta::assert_snapshot!(got, @r#"
    span "Pair {a} {b}" #1 parent=#0 msg="Pair 1 2" attrs=["a=1", "b=2", "x=3"] fn=pair
    span "Generic {value}" #2 parent=#0 msg="Generic 7" attrs=["value=7"] fn=generic
    span "Borrowing {items}" #3 parent=#0 msg="Borrowing [1]" attrs=["items=[1]", "type=abc"] fn=borrowing
    "#);
}

#[derive(Debug)]
struct Oops(#[allow(dead_code)] &'static str);

#[weft::instrument("Parsing {text}")]
fn parse(text: &str) -> Result<i32, std::num::ParseIntError> {
    if text.is_empty() {
        return Ok(0);
    }
    let n: i32 = text.trim().parse()?;
    Ok(n * 2)
}

#[weft::instrument("Reading")]
fn read() -> std::io::Result<()> {
    Err(std::io::Error::other("disk on fire"))
}

/// The body's `Err("…".into())` must still coerce to the declared `Box<dyn Error>`.
#[weft::instrument("Boxing {fail}")]
fn boxing(fail: bool) -> Result<(), Box<dyn std::error::Error>> {
    if fail {
        return Err("boxed".into());
    }
    Ok(())
}

type Res<T> = Result<T, Oops>;

#[weft::instrument("Aliased", err)]
fn aliased() -> Res<u8> {
    Err(Oops("alias"))
}

#[weft::instrument("Quiet", skip_err)]
fn quiet() -> Result<(), Oops> {
    Err(Oops("quiet"))
}

#[weft::instrument("Opaque {n}")]
fn opaque(n: u8) -> Result<impl std::fmt::Display, Oops> {
    if n == 0 {
        return Err(Oops("zero"));
    }
    Ok(n)
}

impl Counter {
    /// An elided lifetime in the `Result`: borrowed from `self`.
    #[weft::instrument("Naming")]
    fn name(&self) -> Result<&str, Oops> {
        if self.count == 0 {
            Err(Oops("empty"))
        } else {
            Ok("counter")
        }
    }
}

#[test]
fn an_err_marks_the_span_failed_and_ok_does_not() {
    let got = record(|| {
        assert_eq!(parse(""), Ok(0));
        assert_eq!(parse("21"), Ok(42));
        assert!(parse("x").is_err());
        assert!(read().is_err());
        assert!(boxing(true).is_err());
        assert!(boxing(false).is_ok());
    });
    insta::assert_snapshot!(got, @r#"
    span "Parsing {text}" #1 parent=#0 msg="Parsing " attrs=["text="] fn=parse
    span "Parsing {text}" #2 parent=#0 msg="Parsing 21" attrs=["text=21"] fn=parse
    span "Parsing {text}" #3 parent=#0 msg="Parsing x" attrs=["text=x", "error=ParseIntError { kind: InvalidDigit }"] level=17 status=Error("ParseIntError { kind: InvalidDigit }") fn=parse
    span "Reading" #4 parent=#0 msg="Reading" attrs=["error=Custom { kind: Other, error: \"disk on fire\" }"] level=17 status=Error("Custom { kind: Other, error: \"disk on fire\" }") fn=read
    span "Boxing {fail}" #5 parent=#0 msg="Boxing true" attrs=["fail=true", "error=\"boxed\""] level=17 status=Error("\"boxed\"") fn=boxing
    span "Boxing {fail}" #6 parent=#0 msg="Boxing false" attrs=["fail=false"] fn=boxing
    "#);
}

#[test]
fn err_and_skip_err_and_opaque_results() {
    let got = record(|| {
        assert!(aliased().is_err());
        assert!(quiet().is_err());
        assert!(opaque(0).is_err());
        assert_eq!(opaque(1).map(|n| n.to_string()).ok().as_deref(), Some("1"));
        assert!(Counter::default().name().is_err());
        assert_eq!(Counter { count: 1 }.name().ok(), Some("counter"));
    });
    insta::assert_snapshot!(got, @r#"
    span "Aliased" #1 parent=#0 msg="Aliased" attrs=["error=Oops(\"alias\")"] level=17 status=Error("Oops(\"alias\")") fn=aliased
    span "Quiet" #2 parent=#0 msg="Quiet" attrs=[] fn=quiet
    span "Opaque {n}" #3 parent=#0 msg="Opaque 0" attrs=["n=0", "error=Oops(\"zero\")"] level=17 status=Error("Oops(\"zero\")") fn=opaque
    span "Opaque {n}" #4 parent=#0 msg="Opaque 1" attrs=["n=1"] fn=opaque
    span "Naming" #5 parent=#0 msg="Naming" attrs=["error=Oops(\"empty\")"] level=17 status=Error("Oops(\"empty\")") fn=name
    span "Naming" #6 parent=#0 msg="Naming" attrs=[] fn=name
    "#);
}
