//! A paired measurement of a path against its floor, for the ratio the
//! benchmark reports next to criterion's absolute figures.
//!
//! On a shared, noisy machine two separate criterion runs can land in
//! different weather; alternating short batches of the path and of its floor
//! exposes both to the same noise, and the ratio of their medians is what
//! stays comparable from run to run.

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Time a batch should take, so timer resolution does not matter.
const BATCH_TARGET: Duration = Duration::from_micros(500);
/// Alternating rounds; the median of each side is taken.
const ROUNDS: usize = 301;

/// The median cost of one call of each side, and their ratio.
pub struct Paired {
    /// Nanoseconds per call of the path.
    pub path_ns: f64,
    /// Nanoseconds per call of the floor.
    pub floor_ns: f64,
}

impl Paired {
    /// Path over floor.
    pub fn ratio(&self) -> f64 {
        self.path_ns / self.floor_ns
    }
}

/// Calls per batch so that one batch takes about [`BATCH_TARGET`].
fn batch_size<T>(f: &mut impl FnMut() -> T) -> u32 {
    let mut n: u32 = 1;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        if start.elapsed() >= BATCH_TARGET || n >= 1 << 20 {
            return n;
        }
        n *= 2;
    }
}

fn per_call<T>(f: &mut impl FnMut() -> T, n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures `path` and `floor` in alternating batches.
pub fn measure<A, B>(mut path: impl FnMut() -> A, mut floor: impl FnMut() -> B) -> Paired {
    let np = batch_size(&mut path);
    let nf = batch_size(&mut floor);
    let mut p = Vec::with_capacity(ROUNDS);
    let mut f = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        p.push(per_call(&mut path, np));
        f.push(per_call(&mut floor, nf));
    }
    Paired {
        path_ns: median(p),
        floor_ns: median(f),
    }
}

/// Whether the binary runs as a benchmark (`cargo bench` passes `--bench`),
/// not as a smoke test under `cargo test --benches`.
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Criterion's options that take a value, so that the value is not taken
/// for the filter.
const VALUED: [&str; 14] = [
    "--color",
    "--save-baseline",
    "--baseline",
    "--baseline-lenient",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--profile-time",
    "--plotting-backend",
];

/// The benchmark-name filter given on the command line, as criterion reads
/// it: the first argument that is neither an option nor an option's value.
fn filter() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if VALUED.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

/// Whether the ratio named `name` is wanted: every one without a filter,
/// else those whose name contains it.
pub fn selected(name: &str) -> bool {
    filter().is_none_or(|f| name.contains(&f))
}

/// Prints one ratio line.
pub fn report(name: &str, floor_name: &str, m: &Paired) {
    println!(
        "ratio {name}: path={:.0} ns  floor({floor_name})={:.0} ns  ratio={:.2}",
        m.path_ns,
        m.floor_ns,
        m.ratio()
    );
}
