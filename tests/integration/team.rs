//! Overlay roles and pipeline coverage: ratios, caps, members.csv and the CRM user rows,
//! coverage per territory and node, the quota switch, and what the checker catches.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::util::{bin, col, generate_with, plan, read_csv, repo, summary_without_timings};

fn rows_of<'a>(rows: &'a [Vec<String>], c: usize, value: &str) -> Vec<&'a Vec<String>> {
    rows.iter().filter(|r| r[c] == value).collect()
}

#[test]
fn sample_is_covered_by_se_and_sdr_within_ratio_and_caps() {
    let tmp = tempfile::tempdir().unwrap();
    let out = plan(
        tmp.path(),
        "sample",
        &repo().join("data/scenario.toml"),
        &[],
    );
    let (th, trows) = read_csv(&out.join("territories.csv"));
    let (tid, tparent) = (col(&th, "territory_id"), col(&th, "parent"));
    let (mh, mrows) = read_csv(&out.join("members.csv"));
    let (rep, role, node, terr) = (
        col(&mh, "rep_id"),
        col(&mh, "role"),
        col(&mh, "node_id"),
        col(&mh, "territory_id"),
    );
    // Every territory: one AE, one SE and one SDR, the overlays from its own district.
    for t in &trows {
        for r in ["AE", "SE", "SDR"] {
            let m: Vec<_> = mrows
                .iter()
                .filter(|m| m[terr] == t[tid] && m[role] == r)
                .collect();
            assert_eq!(m.len(), 1, "{} has {} {r}", t[tid], m.len());
            if r != "AE" {
                assert_eq!(
                    m[0][node], t[tparent],
                    "{} {r} from another district",
                    t[tid]
                );
            }
        }
    }
    // SE: at least one per four territories of each district; SDR: one per district
    // (the cap of 500 open opportunities is never reached).
    let mut per_district: HashMap<&str, usize> = HashMap::new();
    for t in &trows {
        *per_district.entry(t[tparent].as_str()).or_default() += 1;
    }
    let s = summary_without_timings(&out);
    for (d, n) in &per_district {
        let ses: HashSet<&str> = rows_of(&mrows, node, d)
            .iter()
            .filter(|m| m[role] == "SE")
            .map(|m| m[rep].as_str())
            .collect();
        assert!(
            ses.len() >= n.div_ceil(4) && ses.len() <= *n,
            "{d}: {n} territories, {} SEs",
            ses.len()
        );
        let sdrs: HashSet<&str> = rows_of(&mrows, node, d)
            .iter()
            .filter(|m| m[role] == "SDR")
            .map(|m| m[rep].as_str())
            .collect();
        assert_eq!(sdrs.len(), 1, "{d}");
    }
    let overlays = s["overlays"].as_array().unwrap();
    let sdr = overlays.iter().find(|o| o["role"] == "SDR").unwrap();
    assert_eq!(sdr["open_positions"], 0);
    assert_eq!(sdr["uncovered_territories"], 0);
    assert!(sdr["over_capacity"].as_array().unwrap().is_empty());
    // The SDR load recomputed from the accounts: accounts with open pipeline.
    let accounts = read_csv(&repo().join("data/accounts.csv"));
    let (ah, arows) = read_csv(&out.join("assignments.csv"));
    let pipeline: HashMap<&str, f64> = accounts
        .1
        .iter()
        .map(|r| {
            (
                r[0].as_str(),
                r[col(&accounts.0, "pipeline")].parse().unwrap(),
            )
        })
        .collect();
    let mut open_in: HashMap<&str, f64> = HashMap::new();
    let mut pipe_in: HashMap<&str, f64> = HashMap::new();
    for a in &arows {
        let p = pipeline[a[col(&ah, "account_id")].as_str()];
        let t = a[col(&ah, "territory_id")].as_str();
        *open_in.entry(t).or_default() += if p > 0.0 { 1.0 } else { 0.0 };
        *pipe_in.entry(t).or_default() += p;
    }
    for r in sdr["reps"].as_array().unwrap() {
        let id = r["rep_id"].as_str().unwrap();
        let load: f64 = mrows
            .iter()
            .filter(|m| m[rep] == id)
            .map(|m| open_in[m[terr].as_str()])
            .sum();
        assert_eq!(r["load"].as_f64().unwrap(), load, "{id}");
        assert!(load <= 500.0);
    }

    // Salesforce: the user CSV lists the overlays with their roles.
    let (uh, urows) = read_csv(&out.join("salesforce/20-data/UserTerritory2Association.keys.csv"));
    let roles: Vec<&str> = urows
        .iter()
        .map(|r| r[col(&uh, "RoleInTerritory2")].as_str())
        .collect();
    assert_eq!(roles.iter().filter(|r| **r == "Owner").count(), 60);
    assert_eq!(roles.iter().filter(|r| **r == "SE").count(), 60);
    assert_eq!(roles.iter().filter(|r| **r == "SDR").count(), 60);

    // Coverage = pipeline / recommended quota, with its band, per territory and node.
    let (qh, qrows) = read_csv(&out.join("quotas.csv"));
    let quota: HashMap<&str, f64> = qrows
        .iter()
        .map(|r| {
            (
                r[col(&qh, "territory_id")].as_str(),
                r[col(&qh, "recommended_quota")].parse().unwrap(),
            )
        })
        .collect();
    let mut bands = HashMap::new();
    for t in &trows {
        let id = t[tid].as_str();
        let ratio = pipe_in[id] / quota[id];
        let written: f64 = t[col(&th, "pipeline_coverage")].parse().unwrap();
        assert!((written - ratio).abs() < 1e-3, "{id}: {written} vs {ratio}");
        let band = if ratio < 2.0 {
            "red"
        } else if ratio < 3.0 {
            "yellow"
        } else {
            "green"
        };
        assert_eq!(t[col(&th, "coverage_band")], band, "{id}");
        *bands.entry(band).or_insert(0) += 1;
    }
    assert!(
        bands.len() >= 2,
        "the sample shows more than one band: {bands:?}"
    );
    let h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("hierarchy.json")).unwrap())
            .unwrap();
    for n in h["nodes"].as_array().unwrap() {
        let id = n["id"].as_str().unwrap();
        let under: Vec<&str> = trows
            .iter()
            .filter(|t| t[tparent] == id || t[tparent].starts_with(&format!("{id}-")))
            .map(|t| t[tid].as_str())
            .collect();
        let p: f64 = under.iter().map(|t| pipe_in[t]).sum();
        let q: f64 = under.iter().map(|t| quota[t]).sum();
        let ratio = n["coverage"]["ratio"].as_f64().unwrap();
        assert!((ratio - p / q).abs() < 1e-6, "{id}: {ratio} vs {}", p / q);
    }
    let by_industry = s["coverage"]["by_industry"].as_array().unwrap();
    assert_eq!(by_industry.len(), 11);
    let q: f64 = by_industry
        .iter()
        .map(|r| r["quota"].as_f64().unwrap())
        .sum();
    let total: f64 = quota.values().sum();
    assert!(
        (q - total).abs() < 1.0,
        "industry quotas add up: {q} vs {total}"
    );
}

fn write_csv(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

/// A generated plan with overlays configured in the scenario.
fn team_scenario(dir: &Path, overlays: &str, scenario_extra: &str) -> std::path::PathBuf {
    let scenario = generate_with(dir, 3000, 16, 5, &["--overlays", overlays]);
    let text = std::fs::read_to_string(&scenario).unwrap() + scenario_extra;
    std::fs::write(&scenario, text).unwrap();
    scenario
}

#[test]
fn short_staffing_and_overloads_are_reported_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    // Five districts of about three territories; two SDRs, each at most 300 accounts.
    let scenario = team_scenario(
        tmp.path(),
        "SDR:2",
        "[[level]]\nname = \"district\"\nspan = [3, 4]\n\n[[overlay]]\nrole = \"SDR\"\nload = \"accounts\"\nmax_load = 300\n",
    );
    let out = plan(tmp.path(), "plan", &scenario, &[]);
    let s = summary_without_timings(&out);
    let sdr = &s["overlays"][0];
    assert_eq!(sdr["role"], "SDR");
    assert_eq!(sdr["available"], 2);
    assert_eq!(sdr["assigned"], 2);
    assert!(sdr["needed"].as_u64().unwrap() > 2);
    assert!(sdr["open_positions"].as_u64().unwrap() > 0);
    assert!(!sdr["uncovered_nodes"].as_array().unwrap().is_empty());
    assert!(sdr["uncovered_territories"].as_u64().unwrap() > 0);
    // 3000 accounts over 16 territories: a district's SDR carries more than 300.
    assert_eq!(sdr["over_capacity"].as_array().unwrap().len(), 2);
    let warnings = s["warnings"].to_string();
    assert!(warnings.contains("open positions") && warnings.contains("without coverage"));
    assert!(warnings.contains("over the cap"));
    // The checker agrees with what was reported.
    bin().arg("check").arg(&out).assert().success();

    // Tampering: an SDR row moved onto a territory of another district is caught.
    let members = std::fs::read_to_string(out.join("members.csv")).unwrap();
    let (mh, mrows) = read_csv(&out.join("members.csv"));
    let sdr_row = mrows.iter().find(|r| r[col(&mh, "role")] == "SDR").unwrap();
    let elsewhere = mrows
        .iter()
        .find(|r| {
            r[col(&mh, "role")] == "AE" && r[col(&mh, "node_id")] != sdr_row[col(&mh, "node_id")]
        })
        .unwrap();
    let line = sdr_row.join(",");
    let moved = line.replace(
        &sdr_row[col(&mh, "territory_id")],
        &elsewhere[col(&mh, "territory_id")],
    );
    std::fs::write(out.join("members.csv"), members.replacen(&line, &moved, 1)).unwrap();
    let err = bin().arg("check").arg(&out).assert().code(1);
    let text = String::from_utf8_lossy(&err.get_output().stderr).to_string();
    assert!(text.contains("is not under district"), "{text}");
}

#[test]
fn pipeline_weight_shifts_quota_towards_pipeline_and_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let quota = "[quota]\ntarget = 10000000\n";
    let scenario = team_scenario(tmp.path(), "SE:3", quota);
    let base = plan(tmp.path(), "base", &scenario, &[]);
    let text = std::fs::read_to_string(&scenario).unwrap() + "pipeline_weight = 0.5\n";
    let weighted_scenario = tmp.path().join("gen/weighted.toml");
    std::fs::write(&weighted_scenario, text).unwrap();
    let weighted = plan(tmp.path(), "weighted", &weighted_scenario, &[]);
    let s = summary_without_timings(&weighted);
    assert_eq!(s["quota"]["pipeline_weight"], 0.5);
    let share = |dir: &Path| -> Vec<(f64, f64)> {
        let (h, rows) = read_csv(&dir.join("quotas.csv"));
        let (th, trows) = read_csv(&dir.join("territories.csv"));
        rows.iter()
            .zip(&trows)
            .map(|(r, t)| {
                assert_eq!(r[col(&h, "territory_id")], t[col(&th, "territory_id")]);
                (
                    r[col(&h, "share")].parse().unwrap(),
                    t[col(&th, "pipeline")].parse().unwrap(),
                )
            })
            .collect()
    };
    let (a, b) = (share(&base), share(&weighted));
    let total_pipe: f64 = a.iter().map(|x| x.1).sum();
    // Weighted share = ½ potential share + ½ pipeline share, territory by territory.
    for (x, y) in a.iter().zip(&b) {
        let want = 0.5 * x.0 + 0.5 * x.1 / total_pipe;
        assert!((y.0 - want).abs() < 1e-5, "{} vs {want}", y.0);
    }
    let (qh, qrows) = read_csv(&weighted.join("quotas.csv"));
    assert!(
        qrows
            .iter()
            .all(|r| r[col(&qh, "reason")].contains("50% open pipeline"))
    );
    // The SE role is configured nowhere: its reps are reported, not silently dropped.
    assert!(s["warnings"].to_string().contains("no SE overlay"));
}

#[test]
fn pipeline_weight_without_pipeline_and_overlay_owners_are_input_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = team_scenario(
        tmp.path(),
        "SE:2",
        "[quota]\ntarget = 1000000\npipeline_weight = 0.3\n",
    );
    // Drop the pipeline column.
    let acc = tmp.path().join("gen/accounts.csv");
    let (h, rows) = read_csv(&acc);
    let keep: Vec<usize> = (0..h.len()).filter(|&i| h[i] != "pipeline").collect();
    let pick = |r: &Vec<String>| keep.iter().map(|&i| r[i].clone()).collect::<Vec<_>>();
    write_csv(&acc, &pick(&h), &rows.iter().map(pick).collect::<Vec<_>>());
    let out = tmp.path().join("x");
    let a = bin()
        .args(["plan", "--out"])
        .arg(&out)
        .arg(&scenario)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(
        err.contains("pipeline_weight") && err.contains("no pipeline column"),
        "{err}"
    );
    assert!(!out.exists());

    // An account owned by an SE: named with its line and column.
    let (h, mut rows) = read_csv(&acc);
    let owner = col(&h, "owner_id");
    rows[4][owner] = "SE001".into();
    write_csv(&acc, &h, &rows);
    let text = std::fs::read_to_string(&scenario)
        .unwrap()
        .replace("pipeline_weight = 0.3\n", "");
    std::fs::write(&scenario, text).unwrap();
    let a = bin()
        .args(["plan", "--out"])
        .arg(&out)
        .arg(&scenario)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains(":6:") && err.contains("has role SE"), "{err}");
}
