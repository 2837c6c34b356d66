// Function shapes the macro must accept unchanged: visibility, inner attributes,
// where clauses, `unsafe`, `extern`, lifetimes, trait impls and `Self` returns.
#![deny(warnings, unused)]

use serde::Serialize;
use std::fmt::Debug;

#[weft::instrument("Generic {value}")]
pub(crate) fn generic<T>(value: &T) -> String
where
    T: Serialize + Debug + ?Sized,
{
    #![allow(clippy::useless_format)]
    format!("{value:?}")
}

#[weft::instrument]
unsafe fn dangerous(x: u8) -> u8 {
    x
}

#[weft::instrument]
extern "C" fn callback(x: i32) -> i32 {
    x
}

#[weft::instrument(skip(items))]
fn first<'a, I: Iterator<Item = &'a str>>(mut items: I) -> Option<&'a str> {
    items.next()
}

trait Greeter {
    fn greet(&self, name: &str) -> String;
}

struct English;

impl Greeter for English {
    #[weft::instrument("Greeting {name}")]
    fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }
}

#[derive(Debug)]
struct Parsed(u8);

impl Parsed {
    #[weft::instrument("Parsing {text}")]
    fn parse(text: &str) -> Result<Self, std::num::ParseIntError> {
        Ok(Self(text.parse()?))
    }
}

#[weft::instrument("Diverging")]
#[allow(dead_code)]
fn diverging() -> ! {
    panic!("never called")
}

fn main() {
    assert_eq!(generic("x"), "\"x\"");
    assert_eq!(unsafe { dangerous(1) }, 1);
    assert_eq!(callback(2), 2);
    assert_eq!(first(["a"].into_iter()), Some("a"));
    assert_eq!(English.greet("ada"), "hello ada");
    assert_eq!(Parsed::parse("7").map(|p| p.0).ok(), Some(7));
}
