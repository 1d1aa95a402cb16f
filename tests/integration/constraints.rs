//! Segments, the hierarchy and the business constraints of a realignment, each judged from
//! the written files (and by the independent checker).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use terraplan::check::check_dir;

use crate::util::{bin, col, generate_with, plan, read_csv, write};

/// Generated inputs (21 reps: 3 Corporate, one leaving, one to be hired) and a scenario
/// with `extra` appended.
fn scenario(dir: &Path, extra: &str) -> PathBuf {
    let generated = generate_with(dir, 3000, 21, 5, &["--tbh", "1", "--leaving", "1"]);
    let base = "name = \"constraints\"\nseed = 3\n[input]\naccounts = \"accounts.csv\"\nreps = \"reps.csv\"\n\
        [metrics]\npotential = \"annual_revenue * propensity\"\n\
        [[balance]]\nmetric = \"accounts\"\ntolerance = 0.1\n\
        [[balance]]\nmetric = \"potential\"\ntolerance = 0.1\n";
    let dir = generated.parent().expect("generated folder");
    write(dir, "s.toml", &format!("{base}{extra}"))
}

const SEGMENTS: &str = "[[segment]]\nname = \"Corporate\"\ncriteria = [{ field = \"employees\", op = \"greaterOrEqual\", value = 100 }]\n\
    [[segment]]\nname = \"Commercial\"\n";
const LEVELS: &str =
    "[[level]]\nname = \"region\"\nspan = [2, 3]\n[[level]]\nname = \"district\"\nspan = [3, 6]\n";

struct Written {
    /// account id → (territory, rep, previous owner)
    assignment: HashMap<String, (String, String, String)>,
    /// territory id → (rep, status, segment, parent, accounts)
    territories: HashMap<String, (String, String, String, String, usize)>,
}

fn read_plan(out: &Path) -> Written {
    let (h, rows) = read_csv(&out.join("assignments.csv"));
    let (a, t, r, o) = (
        col(&h, "account_id"),
        col(&h, "territory_id"),
        col(&h, "rep_id"),
        col(&h, "previous_owner"),
    );
    let assignment = rows
        .iter()
        .map(|x| (x[a].clone(), (x[t].clone(), x[r].clone(), x[o].clone())))
        .collect();
    let (h, rows) = read_csv(&out.join("territories.csv"));
    let c = |n: &str| col(&h, n);
    let territories = rows
        .iter()
        .map(|x| {
            (
                x[c("territory_id")].clone(),
                (
                    x[c("rep_id")].clone(),
                    x[c("status")].clone(),
                    x[c("segment")].clone(),
                    x[c("parent")].clone(),
                    x[c("account_count")].parse().expect("count"),
                ),
            )
        })
        .collect();
    Written {
        assignment,
        territories,
    }
}

/// Accounts from the generated accounts.csv: id → (owner, locked, late_stage, employees).
fn accounts(dir: &Path) -> HashMap<String, (String, bool, bool, f64)> {
    let (h, rows) = read_csv(&dir.join("gen/accounts.csv"));
    let c = |n: &str| col(&h, n);
    rows.iter()
        .map(|x| {
            (
                x[c("account_id")].clone(),
                (
                    x[c("owner_id")].clone(),
                    x[c("locked")] == "true",
                    x[c("late_stage")] == "true",
                    x[c("employees")].parse().expect("employees"),
                ),
            )
        })
        .collect()
}

#[test]
fn segments_hierarchy_pins_caps_leaving_and_tbh() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(
        tmp.path(),
        &format!("{SEGMENTS}{LEVELS}[plan]\nmax_accounts = 200\n[realign]\nmove_cost = 100\n"),
    );
    let out = plan(tmp.path(), "out", &s, &[]);
    let report = check_dir(&out).expect("readable");
    assert!(report.ok(), "{:?}", report.failures);
    let w = read_plan(&out);
    let acc = accounts(tmp.path());

    // 21 territories (21 reps - 1 leaving + 1 tbh): one each, the leaver has none.
    assert_eq!(w.territories.len(), 21);
    let reps: HashSet<&str> = w.territories.values().map(|t| t.0.as_str()).collect();
    assert!(
        !reps.contains("R0021"),
        "the leaving rep keeps no territory"
    );
    let tbh: Vec<_> = w.territories.values().filter(|t| t.1 == "tbh").collect();
    assert_eq!(tbh.len(), 1);
    assert_eq!(tbh[0].0, "R0022");
    assert!(tbh[0].4 > 0, "the new hire's territory is carved now");

    // Segments: every account in a territory of its segment; 3 Corporate territories.
    for (id, (t, _, _)) in &w.assignment {
        let corporate = acc[id].3 >= 100.0;
        let seg = &w.territories[t].2;
        assert_eq!(seg == "Corporate", corporate, "{id} in {t} ({seg})");
    }
    assert_eq!(
        w.territories
            .values()
            .filter(|t| t.2 == "Corporate")
            .count(),
        3
    );

    // Three levels below the segments: territory → district → region → segment.
    let h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("hierarchy.json")).unwrap())
            .unwrap();
    let nodes: HashMap<&str, &serde_json::Value> = h["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    for t in w.territories.values() {
        let d = nodes[t.3.as_str()];
        assert_eq!(d["level"], "district");
        let r = nodes[d["parent"].as_str().unwrap()];
        assert_eq!(r["level"], "region");
        let s = nodes[r["parent"].as_str().unwrap()];
        assert_eq!(s["level"], "segment");
        assert_eq!(s["name"].as_str().unwrap(), t.2);
    }
    let commercial_districts = nodes
        .values()
        .filter(|n| n["level"] == "district" && n["id"].as_str().unwrap().starts_with("S2"))
        .count();
    assert_eq!(
        commercial_districts, 4,
        "17 + 1 territories at 3 to 6 per district"
    );

    // Caps and pins.
    assert!(w.territories.values().all(|t| t.4 <= 200));
    let active: HashSet<&str> = reps.iter().copied().filter(|r| *r != "R0022").collect();
    let mut pinned = 0;
    for (id, (owner, locked, late, employees)) in &acc {
        let same_segment =
            (*employees >= 100.0) == matches!(owner.as_str(), "R0004" | "R0011" | "R0018");
        if (*locked || *late) && active.contains(owner.as_str()) && same_segment {
            pinned += 1;
            assert_eq!(&w.assignment[id].1, owner, "pinned {id} left its owner");
        }
    }
    assert!(pinned > 50, "the generated data pins {pinned} accounts");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["disruption"]["pinned_kept"], pinned);
}

/// Chosen moves (the owner could have kept the account) as a share of all accounts.
fn chosen_share(out: &Path) -> f64 {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    s["disruption"]["chosen_moves_share"].as_f64().unwrap()
}

#[test]
fn disruption_budget_holds_in_one_partition_and_across_levels() {
    let tmp = tempfile::tempdir().unwrap();
    let free = scenario(tmp.path(), "[realign]\nmove_cost = 10\n");
    let unconstrained = chosen_share(&plan(tmp.path(), "free", &free, &[]));
    let budget = (unconstrained * 0.85 * 100.0).floor() / 100.0;
    // One segment, no levels: the budget is a hard row of the partition.
    let hard = write(
        &tmp.path().join("gen"),
        "hard.toml",
        &std::fs::read_to_string(&free).unwrap().replace(
            "move_cost = 10",
            &format!("move_cost = 10\nmax_moved_accounts = {budget}"),
        ),
    );
    let out = plan(tmp.path(), "hard", &hard, &[]);
    let share = chosen_share(&out);
    assert!(
        share <= budget + 1e-9,
        "{share} over the budget {budget} (free plan moved {unconstrained})"
    );
    assert!(check_dir(&out).unwrap().ok());
    // Segments and levels: the budget is priced until it holds.
    let levels = scenario(
        tmp.path(),
        &format!("{SEGMENTS}{LEVELS}[realign]\nmove_cost = 10\n"),
    );
    let unconstrained = chosen_share(&plan(tmp.path(), "levels", &levels, &[]));
    let budget = ((unconstrained - 0.03) * 100.0).floor() / 100.0;
    let priced = write(
        &tmp.path().join("gen"),
        "priced.toml",
        &std::fs::read_to_string(&levels).unwrap().replace(
            "move_cost = 10",
            &format!("move_cost = 10\nmax_moved_accounts = {budget}"),
        ),
    );
    let out = plan(tmp.path(), "priced", &priced, &[]);
    assert!(chosen_share(&out) <= budget + 1e-9);
    assert!(check_dir(&out).unwrap().ok());
}

#[test]
fn caps_below_the_average_book_exit_1_naming_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    // 3000 accounts over 20 territories average 150: a cap of 120 cannot hold.
    let s = scenario(tmp.path(), "[plan]\nmax_accounts = 120\n");
    let out = tmp.path().join("out");
    bin()
        .args(["plan", "--quiet", "--out"])
        .arg(&out)
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cap of 120"));
    assert!(!out.exists());
}

#[test]
fn pins_heavier_than_the_band_exit_1_before_solving() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "");
    // Lock every account of R0012, who owns 442: far above one territory's band.
    let path = tmp.path().join("gen/accounts.csv");
    let (h, rows) = read_csv(&path);
    let (o, l) = (col(&h, "owner_id"), col(&h, "locked"));
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&h).unwrap();
    let mut locked = 0;
    for mut r in rows {
        if r[o] == "R0012" {
            r[l] = "true".into();
            locked += 1;
        }
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
    assert!(locked > 300, "R0012 owns {locked}");
    bin()
        .args(["plan", "--quiet", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&s)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("pinned accounts cannot fit"))
        .stderr(predicates::str::contains("smallest feasible tolerance"));
}

#[test]
fn check_detects_a_locked_account_moved_away_from_its_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "");
    let out = plan(tmp.path(), "out", &s, &[]);
    let acc = accounts(tmp.path());
    let w = read_plan(&out);
    // Swap territories of a pinned account and an unpinned one of another territory.
    let (pinned, (pt, _, _)) = w
        .assignment
        .iter()
        .filter(|(id, a)| (acc[*id].1 || acc[*id].2) && a.1 == acc[*id].0)
        .min_by_key(|(id, _)| id.as_str())
        .expect("a pinned account");
    let (other, _) = w
        .assignment
        .iter()
        .filter(|(id, a)| a.0 != *pt && !acc[*id].1 && !acc[*id].2)
        .min_by_key(|(id, _)| id.as_str())
        .expect("another account");
    let text = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    let other_t = w.assignment[other].0.clone();
    let swapped: Vec<String> = text
        .lines()
        .map(|line| {
            let id = line.split(',').next().unwrap_or("");
            if id == pinned {
                line.replacen(&format!(",{pt},"), &format!(",{other_t},"), 1)
            } else if id == other {
                line.replacen(&format!(",{other_t},"), &format!(",{pt},"), 1)
            } else {
                line.to_string()
            }
        })
        .collect();
    std::fs::write(out.join("assignments.csv"), swapped.join("\n") + "\n").unwrap();
    bin()
        .arg("check")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("left their owner"));
}

/// `n` planar accounts on a line, one unit each, with a `score` column; balanced on the
/// given metrics at the given tolerances.
fn planar(dir: &Path, scores: &[f64], k: usize, balance: &[(&str, f64)]) -> PathBuf {
    let mut csv = String::from("account_id,x,y,score\n");
    for (i, s) in scores.iter().enumerate() {
        csv.push_str(&format!("A{i},{},{},{s}\n", i % 10, i / 10));
    }
    std::fs::write(dir.join("accounts.csv"), csv).unwrap();
    let mut text = format!(
        "name = \"tight\"\nseed = 1\n[input]\naccounts = \"accounts.csv\"\ncoordinates = \"xy\"\nunit = \"account\"\n[plan]\nterritories = {k}\n"
    );
    for (m, t) in balance {
        text.push_str(&format!("[[balance]]\nmetric = \"{m}\"\ntolerance = {t}\n"));
    }
    write(dir, "tight.toml", &text)
}

fn infeasible_message(scenario: &Path, out: &Path) -> String {
    let a = bin()
        .args(["plan", "--quiet", "--out"])
        .arg(out)
        .arg(scenario)
        .assert()
        .code(1);
    assert!(!out.exists());
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn whole_accounts_prove_the_smallest_feasible_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    // 97 accounts into 6 territories: 16 or 17 each, so ±5.15% at best (17 / 16.17).
    let s = planar(tmp.path(), &[1.0; 97], 6, &[("accounts", 0.03)]);
    let msg = infeasible_message(&s, &tmp.path().join("out"));
    assert!(msg.contains("smallest feasible tolerance"), "{msg}");
    assert!(
        msg.contains("accounts: ±5.15%, exactly")
            && msg.contains("97 accounts cannot split evenly into 6 territories: 16 or 17 each"),
        "{msg}"
    );
    // At that tolerance the plan exists.
    let s = planar(tmp.path(), &[1.0; 97], 6, &[("accounts", 0.0516)]);
    plan(tmp.path(), "ok", &s, &[]);
}

#[test]
fn a_heavy_account_bounds_the_band_from_below() {
    let tmp = tempfile::tempdir().unwrap();
    // 99 accounts scoring 10 and one scoring 300, into 5 territories: the target is 258,
    // so the territory holding the heavy one is at least 16.28% over.
    let mut scores = vec![10.0; 100];
    scores[7] = 300.0;
    let s = planar(tmp.path(), &scores, 5, &[("score", 0.10)]);
    let msg = infeasible_message(&s, &tmp.path().join("out"));
    assert!(msg.contains("score: ±16.28%"), "{msg}");
    assert!(
        msg.contains("account 'A7' alone holds 116.3% of a territory's target"),
        "{msg}"
    );
}

#[test]
fn pins_that_leave_a_lopsided_rest_are_named_in_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scenario(tmp.path(), "");
    // Lock R0012's richest accounts until they hold 90% of an average territory's
    // potential: the rest of that territory must then be almost all accounts and almost
    // no potential.
    let path = tmp.path().join("gen/accounts.csv");
    let (h, mut rows) = read_csv(&path);
    let (o, l) = (col(&h, "owner_id"), col(&h, "locked"));
    let (rev, prop) = (col(&h, "annual_revenue"), col(&h, "propensity"));
    let potential = |r: &Vec<String>| -> f64 {
        r[rev].parse::<f64>().unwrap() * r[prop].parse::<f64>().unwrap()
    };
    let target = rows.iter().map(potential).sum::<f64>() / 20.0;
    let mut richest: Vec<usize> = (0..rows.len()).filter(|&i| rows[i][o] == "R0012").collect();
    richest.sort_by(|&a, &b| potential(&rows[b]).total_cmp(&potential(&rows[a])));
    let mut pinned = 0.0;
    for i in richest {
        if pinned >= 0.9 * target {
            break;
        }
        pinned += potential(&rows[i]);
        rows[i][l] = "true".into();
    }
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(&h).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    // The plan still meets every band (far flung postal codes), and says why it had to.
    let out = plan(tmp.path(), "out", &s, &[]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let warnings: Vec<&str> = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    let lopsided: Vec<&&str> = warnings
        .iter()
        .filter(|w| w.contains("locked and late-stage accounts already carry"))
        .collect();
    assert_eq!(lopsided.len(), 1, "{warnings:?}");
    assert!(
        lopsided[0].contains("rep R0012's territory")
            && lopsided[0].contains("of its potential target"),
        "{}",
        lopsided[0]
    );
}
