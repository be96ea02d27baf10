//! wharf.

fn main() {}
