//! `terraplan compare`: two sample scenarios side by side, and a sweep.

use crate::util::{bin, col, generate, read_csv, repo};

#[test]
fn compare_two_sample_scenarios_writes_table_diff_and_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cmp");
    bin()
        .args([
            "compare",
            "data/scenario.toml",
            "data/whatif-greenfield.toml",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .current_dir(repo())
        .assert()
        .success();
    let (h, rows) = read_csv(&out.join("comparison.csv"));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][col(&h, "scenario")], "sample");
    assert_eq!(rows[1][col(&h, "scenario")], "greenfield");
    let md = std::fs::read_to_string(out.join("comparison.md")).unwrap();
    assert!(md.contains("| sample |") && md.contains("| greenfield |"));
    // Every account whose rep differs between the plans is listed once; per-rep sums agree.
    let (dh, moves) = read_csv(&out.join("diff.csv"));
    assert!(!moves.is_empty());
    let (rh, reps) = read_csv(&out.join("diff-by-rep.csv"));
    let gained: usize = reps
        .iter()
        .map(|r| r[col(&rh, "accounts_gained")].parse::<usize>().unwrap())
        .sum();
    let lost: usize = reps
        .iter()
        .map(|r| r[col(&rh, "accounts_lost")].parse::<usize>().unwrap())
        .sum();
    assert_eq!(gained, moves.len());
    assert_eq!(lost, moves.len());
    let (ah, a) = read_csv(&out.join("sample/assignments.csv"));
    let (bh, b) = read_csv(&out.join("greenfield/assignments.csv"));
    let differ = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x[col(&ah, "rep_id")] != y[col(&bh, "rep_id")])
        .count();
    assert_eq!(differ, moves.len());
    assert!(
        moves
            .iter()
            .all(|m| m[col(&dh, "from_rep")] != m[col(&dh, "to_rep")])
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("sample/report.html") && report.contains("Frontier"));
    for name in ["sample", "greenfield"] {
        bin().arg("check").arg(out.join(name)).assert().success();
    }
}

#[test]
fn sweep_over_tolerance_gives_one_row_per_value() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = generate(tmp.path(), 1500, 10, 3);
    let out = tmp.path().join("sweep");
    bin()
        .args([
            "compare",
            "--quiet",
            "--sweep",
            "tolerance=0.05,0.1,0.2",
            "--out",
        ])
        .arg(&out)
        .arg(&scenario)
        .assert()
        .success();
    let (h, rows) = read_csv(&out.join("comparison.csv"));
    assert_eq!(rows.len(), 3);
    // Wider bands never need to be worse than their own tolerance.
    for (r, tol) in rows.iter().zip([5.0, 10.0, 20.0]) {
        let worst: f64 = r[col(&h, "worst_deviation")]
            .trim_end_matches('%')
            .parse()
            .unwrap();
        assert!(worst <= tol + 1e-6, "{worst} over {tol}");
    }
    bin()
        .args(["compare", "--sweep", "colour=1,2"])
        .arg(&scenario)
        .assert()
        .code(2);
}
