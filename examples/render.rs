//! Placeholder: filled by issue 2.
fn main() {}
