// A span starts at run time; a `const fn` may run at compile time.
#[weft::instrument]
const fn answer() -> u8 {
    42
}

fn main() {
    let _ = answer();
}
