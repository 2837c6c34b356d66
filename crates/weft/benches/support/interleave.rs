//! What the interleaved runs share (the core bench and `benches/peers`, which includes
//! this file by path): time a round of an operation, and take medians.

use std::time::Instant;

/// Runs `op` `per_round` times; the mean time of one run, in ns.
pub(crate) fn per_op(per_round: u32, mut op: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..per_round {
        op();
    }
    start.elapsed().as_nanos() as f64 / f64::from(per_round)
}

/// The median of `v` (the upper one for an even count).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The median of the per-round ratios `a[i] / b[i]`.
pub(crate) fn median_ratio(a: &[f64], b: &[f64]) -> f64 {
    median(a.iter().zip(b).map(|(x, y)| x / y).collect())
}

/// Prints one subject's median per operation beside weft's, and the median of the
/// per-round ratios weft / subject.
pub(crate) fn print_against(name: &str, weft: &[f64], other: &[f64]) {
    println!(
        "  {name:<18} {:>8.1} ns   weft / {name}: {:.3}",
        median(other.to_vec()),
        median_ratio(weft, other)
    );
}
