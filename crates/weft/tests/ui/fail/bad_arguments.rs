// Each mistake in the attribute is reported on the token at fault.
#[weft::instrument(fields(x))]
fn unknown_argument(_x: u8) {}

#[weft::instrument("Doubling {x}", 42)]
fn stray_token(_x: u8) {}

#[weft::instrument(level = "loud")]
fn unknown_level() {}

#[weft::instrument(skip(y))]
fn skipping_what_is_not_there(_x: u8) {}

#[weft::instrument("a" "b")]
fn missing_comma() {}

fn main() {}
