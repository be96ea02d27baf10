//! The console `build.rs` found at build time (`$WHARF_CONSOLE_DIST`, else `target/console/dist`), as
//! `(relative path, bytes)` pairs; empty when there was none. Generated, so that a daemon built after
//! `cargo xtask console` serves the console with no file beside the binary.

include!(concat!(env!("OUT_DIR"), "/console_files.rs"));
