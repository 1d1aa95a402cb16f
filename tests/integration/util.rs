use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn bin() -> Command {
    Command::cargo_bin("terraplan").expect("binary builds")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scenario text with the given extra sections, written next to `accounts.csv`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

/// summary.json without the timings, which are the only part that may differ run to run.
pub fn summary_without_timings(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("valid json");
    v.as_object_mut().expect("object").remove("timings");
    v
}
