//! The `probeshare` command line.

fn main() {}
