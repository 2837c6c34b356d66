// A returned `Err` is recorded through `Debug`: an error type without it is reported at
// the return type, and `skip_err` is the way out.
struct Opaque;

#[weft::instrument]
fn fails() -> Result<(), Opaque> {
    Err(Opaque)
}

#[weft::instrument(skip_err)]
fn fails_quietly() -> Result<(), Opaque> {
    Err(Opaque)
}

fn main() {
    let _ = fails();
    let _ = fails_quietly();
}
