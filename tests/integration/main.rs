//! One integration-test binary (ripgrep style): every test drives the real `terraplan`
//! binary or the library, and the independent checker judges the written plan.

mod bad_input;
mod compare;
mod constraints;
mod exact;
mod export;
mod plan;
mod properties;
mod report;
mod team;
mod util;
