//! Fuzzes a JSON file given to `bulletin publications import`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulletin::fuzzing::import_json(data));
