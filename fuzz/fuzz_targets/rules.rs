//! Any text as rules.json: when it parses, building the evaluator and routing arbitrary
//! values must never panic (bad filters and cycles are errors, not crashes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraplan::rules::RuleSet;
use terraplan::rules::eval::Evaluator;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0) else { return };
    let (json, values) = data.split_at(split);
    let Ok(set) = serde_json::from_slice::<RuleSet>(json) else { return };
    let Ok(ev) = Evaluator::new(&set) else { return };
    let text = String::from_utf8_lossy(&values[1..]);
    let parts: Vec<&str> = text.split('\n').collect();
    let vals: Vec<Option<&str>> = (0..ev.fields.len()).map(|i| parts.get(i).copied()).collect();
    let _ = ev.route(parts.first().copied().unwrap_or(""), &vals);
    let _ = ev.route_postal("postal_code", parts.last().copied().unwrap_or(""), None);
});
