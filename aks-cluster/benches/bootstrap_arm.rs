//! Benchmark placeholder (filled in the next commit).
fn main() {}
