//! Any text as a metric formula: parse, print, parse again to the same tree; evaluate.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraplan::expr::Expr;

fuzz_target!(|text: &str| {
    if let Ok(e) = Expr::parse(text) {
        let again = Expr::parse(&e.to_string()).expect("printed formula parses");
        assert_eq!(e.to_string(), again.to_string());
        let cols = e.columns();
        let _ = e.eval(&cols, &|i| i as f64 + 0.5);
    }
});
