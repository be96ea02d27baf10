//! wharfd.

fn main() {}
