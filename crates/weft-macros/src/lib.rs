//! `#[weft::instrument]`. Use it through the `weft` crate.
