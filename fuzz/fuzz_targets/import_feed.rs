//! Fuzzes an RSS or Atom feed, imported or polled.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulletin::fuzzing::import_feed(data));
