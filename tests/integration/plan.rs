//! Whole plans, judged by the independent checker.

use terraplan::check::check_dir;

use crate::util::{bin, files_under, generate, plan, repo, summary_without_timings, write};

fn assert_checked_within_bands(out: &std::path::Path, accounts: usize, territories: usize) {
    let report = check_dir(out).expect("plan readable");
    assert!(report.ok(), "checker failures: {:?}", report.failures);
    assert_eq!(report.accounts, accounts);
    assert_eq!(report.territories, territories);
    for (name, tol, lo, hi) in &report.bands {
        assert!(
            *lo >= -tol - 1e-9 && *hi <= tol + 1e-9,
            "{name} outside ±{tol}: {lo}..{hi}"
        );
    }
    let summary = summary_without_timings(out);
    let gap = summary["objective"]["gap"].as_f64().expect("gap reported");
    let bound = summary["objective"]["lp_bound"]
        .as_f64()
        .expect("bound reported");
    // The bound is on the solver's objective: weighted distance plus move costs when
    // realigning, summed over the leaf-level partitions.
    let objective = summary["objective"]["unit_objective"]
        .as_f64()
        .expect("objective");
    assert!(
        bound > 0.0 && bound <= objective * (1.0 + 1e-9),
        "bound {bound} above objective {objective}"
    );
    assert!(summary["objective"]["weighted_distance"].as_f64().unwrap() > 0.0);
    assert!(gap >= 0.0, "gap {gap}");
    let c = &summary["compactness"];
    let (mean, worst, max) = (
        c["mean_distance"].as_f64().unwrap(),
        c["worst_territory_mean_distance"].as_f64().unwrap(),
        c["max_distance"].as_f64().unwrap(),
    );
    assert!(0.0 < mean && mean <= worst && worst <= max, "{c}");
}

/// Every file of the plans in `one` and `two` the same, summary.json but for its timings;
/// returns how many files there are.
fn assert_same_plans(one: &std::path::Path, two: &std::path::Path) -> usize {
    let files = files_under(one);
    for f in &files {
        let rel = f.strip_prefix(one).unwrap();
        if rel != std::path::Path::new("summary.json") {
            let (a, b) = (
                std::fs::read(f).unwrap(),
                std::fs::read(two.join(rel)).unwrap(),
            );
            assert!(a == b, "{} differs between 1 and 2 threads", rel.display());
        }
    }
    assert_eq!(summary_without_timings(one), summary_without_timings(two));
    files.len()
}

#[test]
fn bundled_sample_plans_inside_every_band() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sample");
    bin()
        .args(["plan", "data/scenario.toml", "--quiet", "--out"])
        .arg(&out)
        .current_dir(repo())
        .assert()
        .success();
    assert_checked_within_bands(&out, 10_000, 60);
    // Every sample account appears exactly once in assignments.csv.
    let text = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert_eq!(text.lines().count(), 10_001);
    // Quotas: one row per territory, explained; the two hires ramp; the sums hold.
    let (h, rows) = crate::util::read_csv(&out.join("quotas.csv"));
    assert_eq!(rows.len(), 60);
    let c = |n: &str| crate::util::col(&h, n);
    let num = |r: &Vec<String>, n: &str| r[c(n)].parse::<f64>().unwrap();
    let hires: Vec<_> = rows
        .iter()
        .filter(|r| r[c("reason")].contains("to be hired"))
        .collect();
    assert_eq!(hires.len(), 2);
    assert!(hires.iter().all(|r| num(r, "ramp_factor") < 0.6));
    let street: f64 = rows.iter().map(|r| num(r, "full_quota")).sum();
    assert!((street - 8.0e7 * 1.15).abs() < 1.0, "street quota {street}");
    let recommended: f64 = rows.iter().map(|r| num(r, "recommended_quota")).sum();
    let s = summary_without_timings(&out);
    let gap = s["quota"]["ramp_gap"].as_f64().unwrap();
    assert!((street - recommended - gap).abs() < 1.0 && gap > 0.0);
    assert!(rows.iter().all(|r| !r[c("reason")].is_empty()));
    // Within 1% of the dual bound at the final centres (0.72% measured; 0.90% before the
    // tilings of smaller areas, 1.07% before small plans were polished on a second tiling
    // and priced from the whole LP's duals, 2.01% before the final plan's areas were split
    // again by the LP).
    let plan_gap = s["objective"]["gap"].as_f64().unwrap();
    assert!(plan_gap < 0.01, "gap {plan_gap}");
}

/// Generated inputs, planned and judged by the checker: accounts, potential and workload
/// each within ±5% in every territory.
fn generated_plan_within_bands(accounts: usize, territories: usize, seed: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = generate(tmp.path(), accounts, territories, seed);
    let out = plan(tmp.path(), "out", &scenario, &[]);
    assert_checked_within_bands(&out, accounts, territories);
}

#[test]
fn generated_3k_accounts_into_25_territories() {
    generated_plan_within_bands(3000, 25, 5);
}

/// The issue's quality target: 10k accounts (6,333 postal codes) within 1% of the bound,
/// with every territory in one piece. The bound ignores contiguity, so this is the
/// hardest of the generated 10k inputs measured (0.85%; 1.33% before small plans were
/// polished on tilings of smaller areas; seeds 12 to 14 end at 0.28% to 0.75%).
#[test]
fn generated_10k_plan_within_one_percent_of_its_bound() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = generate(tmp.path(), 10_000, 20, 11);
    let out = plan(tmp.path(), "out", &scenario, &[]);
    assert_checked_within_bands(&out, 10_000, 20);
    let s = summary_without_timings(&out);
    let gap = s["objective"]["gap"].as_f64().expect("gap reported");
    assert!(gap < 0.01, "gap {gap}");
    assert_eq!(s["contiguous_territories"], 20);
}

/// The issue's scale target for correctness (timings live in benches/ and README.md).
#[test]
fn generated_100k_accounts_into_200_territories() {
    generated_plan_within_bands(100_000, 200, 7);
}

#[test]
fn planar_scenario_with_account_units_and_custom_metric() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("account_id,x,y,score\n");
    for i in 0..900 {
        let (x, y) = ((i % 30) as f64, (i / 30) as f64);
        csv.push_str(&format!("P{i},{x},{y},{}\n", 1 + (i * 7) % 5));
    }
    write(tmp.path(), "accounts.csv", &csv);
    let scenario = write(
        tmp.path(),
        "planar.toml",
        r#"name = "planar"
[input]
accounts = "accounts.csv"
coordinates = "xy"
unit = "account"
[plan]
territories = 9
[[balance]]
metric = "accounts"
tolerance = 0.05
[[balance]]
metric = "score"
tolerance = 0.05
[objective]
weight = "accounts"
"#,
    );
    let out = plan(tmp.path(), "out", &scenario, &[]);
    assert_checked_within_bands(&out, 900, 9);
    let summary = summary_without_timings(&out);
    assert_eq!(summary["units"]["kind"], "account");
    assert_eq!(summary["units"]["count"], 900);
    // Small enough for the candidate-list LP (good_lp + Clarabel) to seed the search.
    assert_eq!(summary["objective"]["lp_status"], "optimal (clarabel)");
    assert!(summary["objective"]["lp_variables"].as_u64().unwrap() >= 900);
}

#[test]
fn same_seed_gives_identical_files_on_one_and_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = generate(tmp.path(), 2000, 12, 9);
    // Levels and quotas too, so the bottom-up hierarchy, the rules and the report are covered.
    let text = std::fs::read_to_string(&scenario).unwrap()
        + "\n[[level]]\nname = \"district\"\nspan = [3, 6]\n[quota]\ntarget = 10000000\n";
    std::fs::write(&scenario, text).unwrap();
    let outs: Vec<_> = ["1", "2"]
        .iter()
        .map(|t| plan(tmp.path(), &format!("out{t}"), &scenario, &["--threads", t]))
        .collect();
    let files = assert_same_plans(&outs[0], &outs[1]);
    assert!(files > 20, "the whole bundle: {files}");
}

#[test]
fn generate_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["a", "b"] {
        bin()
            .args([
                "generate",
                "--accounts",
                "500",
                "--reps",
                "5",
                "--seed",
                "3",
                "--out",
            ])
            .arg(tmp.path().join(d))
            .assert()
            .success();
    }
    for f in ["accounts.csv", "reps.csv", "scenario.toml"] {
        assert_eq!(
            std::fs::read(tmp.path().join("a").join(f)).unwrap(),
            std::fs::read(tmp.path().join("b").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn infeasible_bands_exit_1_naming_the_band() {
    let tmp = tempfile::tempdir().unwrap();
    // One account carries most of the score: no ±1% band can hold it.
    let mut csv = String::from("account_id,x,y,score\n");
    for i in 0..40 {
        let score = if i == 0 { 1000 } else { 1 };
        csv.push_str(&format!("P{i},{},{},{score}\n", i % 8, i / 8));
    }
    write(tmp.path(), "accounts.csv", &csv);
    let scenario = write(
        tmp.path(),
        "s.toml",
        "name = \"x\"\n[input]\naccounts = \"accounts.csv\"\ncoordinates = \"xy\"\nunit = \"account\"\n[plan]\nterritories = 4\n[[balance]]\nmetric = \"score\"\ntolerance = 0.01\n[objective]\nweight = \"accounts\"\n",
    );
    let out = tmp.path().join("out");
    bin()
        .args(["plan", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("score"));
    assert!(!out.exists(), "an infeasible plan writes nothing");
}

#[test]
fn check_detects_a_tampered_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = generate(tmp.path(), 1500, 10, 2);
    let out = plan(tmp.path(), "out", &scenario, &[]);
    bin().arg("check").arg(&out).assert().success();
    // Drop one account and duplicate another: the checker must name both problems.
    let text = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1);
    let dup = lines[1];
    lines.push(dup);
    std::fs::write(out.join("assignments.csv"), lines.join("\n") + "\n").unwrap();
    bin()
        .arg("check")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("more than once"))
        .stderr(predicates::str::contains("not assigned"));
}

/// A realignment from books that cannot be grown into territories by border moves alone:
/// one rep's book is three accounts far off the map, four reps have no book at all, and
/// the rest own uneven stripes. Every territory still ends inside its band.
#[test]
fn remote_and_missing_books_still_meet_the_bands() {
    let tmp = tempfile::tempdir().unwrap();
    let mut accounts = String::from("account_id,x,y,owner_id\n");
    for i in 0..1200 {
        let (x, y) = (i % 40, i / 40);
        accounts.push_str(&format!("A{i},{x},{y},R{:02}\n", 1 + (x * x) % 19));
    }
    for i in 0..3 {
        accounts.push_str(&format!("Z{i},{},400,R24\n", 400 + i));
    }
    write(tmp.path(), "accounts.csv", &accounts);
    let reps: String = (1..=24).map(|r| format!("R{r:02}\n")).collect();
    write(tmp.path(), "reps.csv", &format!("rep_id\n{reps}"));
    let scenario = write(
        tmp.path(),
        "remote.toml",
        "name = \"remote\"\nseed = 1\n[input]\naccounts = \"accounts.csv\"\nreps = \"reps.csv\"\n\
         coordinates = \"xy\"\nunit = \"account\"\n[[balance]]\nmetric = \"accounts\"\n\
         tolerance = 0.05\n",
    );
    let out = plan(tmp.path(), "out", &scenario, &[]);
    assert_checked_within_bands(&out, 1203, 24);
}

/// A partition solved in blocks (`plan.block_size`): the checker's verdict and the bands
/// as for the whole solve, the same files on one and two threads, and a plan no more than
/// a tenth longer than the whole solve's.
#[test]
fn a_plan_solved_in_blocks_meets_its_bands_and_stays_close_to_the_whole_solve() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = generate(tmp.path(), 3000, 24, 11);
    let blocks = whole.with_file_name("blocks.toml");
    let text = std::fs::read_to_string(&whole).unwrap() + "\n[plan]\nblock_size = 4\n";
    std::fs::write(&blocks, text).unwrap();
    let base = plan(tmp.path(), "whole", &whole, &[]);
    let outs: Vec<_> = ["1", "2"]
        .iter()
        .map(|t| {
            plan(
                tmp.path(),
                &format!("blocks{t}"),
                &blocks,
                &["--threads", t],
            )
        })
        .collect();
    assert_checked_within_bands(&outs[0], 3000, 24);
    let s = summary_without_timings(&outs[0]);
    let status = s["objective"]["lp_status"].as_str().unwrap();
    assert!(status.ends_with("in 6 blocks"), "{status}");
    let objective = |s: &serde_json::Value| s["objective"]["unit_objective"].as_f64().unwrap();
    let whole_objective = objective(&summary_without_timings(&base));
    assert!(
        objective(&s) <= 1.1 * whole_objective,
        "blocks {} vs whole {whole_objective}",
        objective(&s)
    );
    assert_same_plans(&outs[0], &outs[1]);
}

/// A plan of 400 territories, large enough to be searched in two halves side by side
/// (`src/solve/halves.rs`): the checker's verdict and the bands, and the same files on one
/// and two threads.
#[test]
fn a_plan_searched_in_halves_meets_its_bands_and_is_the_same_on_one_and_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = generate(tmp.path(), 16000, 400, 5);
    // Forty accounts a territory: one account can hold more than a territory's potential,
    // so accounts and workload are balanced, potential only weighs the distances.
    let text = std::fs::read_to_string(&scenario).unwrap();
    let potential = "[[balance]]\nmetric = \"potential\"\ntolerance = 0.05\n\n";
    assert!(text.contains(potential), "{text}");
    std::fs::write(&scenario, text.replace(potential, "")).unwrap();
    let outs: Vec<_> = ["1", "2"]
        .iter()
        .map(|t| plan(tmp.path(), &format!("out{t}"), &scenario, &["--threads", t]))
        .collect();
    assert_checked_within_bands(&outs[0], 16000, 400);
    assert_same_plans(&outs[0], &outs[1]);
}
