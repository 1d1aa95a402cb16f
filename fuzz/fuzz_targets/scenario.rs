//! Any text as scenario.toml: a scenario or a located error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraplan::io::scenario::parse_scenario;

fuzz_target!(|text: &str| {
    if let Ok(s) = parse_scenario(std::path::Path::new("fuzz.toml"), text) {
        assert!(s.balance.iter().all(|b| b.tolerance > 0.0 && b.tolerance < 1.0));
    }
});
