//! Fuzzes a JSON `POST /subscriptions` body.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| bulletin::fuzzing::signup_json(data));
