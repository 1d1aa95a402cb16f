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

/// `terraplan generate` into `dir/gen`; returns the generated scenario's path.
pub fn generate(dir: &Path, accounts: usize, reps: usize, seed: u64) -> PathBuf {
    generate_with(dir, accounts, reps, seed, &[])
}

/// `terraplan generate` with extra arguments (e.g. `--tbh 1 --leaving 1`).
pub fn generate_with(
    dir: &Path,
    accounts: usize,
    reps: usize,
    seed: u64,
    extra: &[&str],
) -> PathBuf {
    let data = dir.join("gen");
    bin()
        .args([
            "generate",
            "--accounts",
            &accounts.to_string(),
            "--reps",
            &reps.to_string(),
        ])
        .args(extra)
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(&data)
        .assert()
        .success();
    data.join("scenario.toml")
}

/// `terraplan plan SCENARIO --out dir/NAME` with extra arguments; must succeed.
pub fn plan(dir: &Path, name: &str, scenario: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    bin()
        .args(["plan", "--quiet"])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .arg(scenario)
        .assert()
        .success();
    out
}

/// A CSV file as (header, rows of cells).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("readable csv");
    let h = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|x| x.expect("record").iter().map(String::from).collect())
        .collect();
    (h, rows)
}

/// Index of a column by name.
pub fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} in {header:?}"))
}

/// Every file under `dir`, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("readable folder") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
