//! The independent checker: re-reads a written plan and its inputs and recomputes, without
//! calling the solver, that every input account is assigned exactly once to a territory of
//! its segment, that every territory and hierarchy node is inside its bands, that the
//! hierarchy nests, that caps, pins and the disruption budget hold, and that the reported
//! weighted distance is right. Used by `terraplan plan`, `terraplan check DIR` and tests.

mod constraints;
mod hierarchy;
mod quota;
mod team;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::error::Error;
use crate::geometry::weighted_centre;
use crate::io::{load_reps, read_accounts, read_scenario};
use crate::model::{Accounts, Reps, Scenario};
use crate::{metrics, segment};

#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub accounts: usize,
    pub territories: usize,
    /// Per metric: (name, tolerance, min deviation, max deviation), recomputed.
    pub bands: Vec<(String, f64, f64, f64)>,
    pub weighted_distance: f64,
    /// Accounts routed as planned, postal codes routed to exactly one territory, codes.
    pub rules_replayed: Option<(usize, usize, usize)>,
    pub failures: Vec<String>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

#[derive(Deserialize)]
struct SummaryIn {
    inputs: InputsIn,
    objective: ObjectiveIn,
}

#[derive(Deserialize)]
struct InputsIn {
    scenario: PathBuf,
    #[serde(default)]
    overrides: Vec<(String, f64)>,
}

#[derive(Deserialize)]
struct ObjectiveIn {
    weighted_distance: f64,
}

fn read_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), Error> {
    let (headers, records) = read_records(path)?;
    let rows = records
        .iter()
        .map(|r| r.iter().map(String::from).collect())
        .collect();
    Ok((headers, rows))
}

/// A written CSV: its header and its rows, one allocation per row rather than per field
/// (assignments.csv of a 1M-account plan has a million rows).
fn read_records(path: &Path) -> Result<(Vec<String>, Vec<csv::StringRecord>), Error> {
    let mut r = csv::Reader::from_path(path)
        .map_err(|e| Error::io("read", path, std::io::Error::other(e)))?;
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| Error::io("read", path, std::io::Error::other(e)))?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::io("read", path, std::io::Error::other(e)))?;
        rows.push(rec);
    }
    Ok((headers, rows))
}

fn col(headers: &[String], name: &str, file: &Path) -> Result<usize, Error> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        Error::CheckFailed(vec![format!(
            "{}: column '{name}' is missing",
            file.display()
        )])
    })
}

/// Checks the plan in `dir`. Fails only when the plan cannot be read at all; every
/// violated property is listed in the report.
pub fn check_dir(dir: &Path) -> Result<CheckReport, Error> {
    let summary = read_summary(dir)?;
    let mut scenario = read_scenario(&summary.inputs.scenario)?;
    for (key, value) in &summary.inputs.overrides {
        scenario
            .apply_override(key, *value)
            .map_err(|e| Error::CheckFailed(vec![format!("summary.json overrides: {e}")]))?;
    }
    let accounts = read_accounts(&scenario.accounts_path, scenario.coordinates)?;
    let reps = match &scenario.reps_path {
        Some(p) => Some(load_reps(p, &accounts, &scenario)?),
        None => None,
    };
    check_plan(dir, &summary, &scenario, &accounts, reps.as_ref())
}

/// Checks the plan just written to `dir` against the inputs it was planned from, as
/// `terraplan plan` read them: the same checks as [`check_dir`] without reading the
/// scenario, the accounts and the reps a second time (3–6 s of a 1M-account run).
pub fn check_written(
    dir: &Path,
    scenario: &Scenario,
    accounts: &Accounts,
    reps: Option<&Reps>,
) -> Result<CheckReport, Error> {
    check_plan(dir, &read_summary(dir)?, scenario, accounts, reps)
}

fn read_summary(dir: &Path) -> Result<SummaryIn, Error> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::CheckFailed(vec![format!("{}: {e}", path.display())]))
}

fn check_plan(
    dir: &Path,
    summary: &SummaryIn,
    scenario: &Scenario,
    accounts: &Accounts,
    reps: Option<&Reps>,
) -> Result<CheckReport, Error> {
    let am = metrics::evaluate(accounts, scenario)?;
    let defs = segment::definitions(scenario);
    let seg_of = segment::classify(accounts, &defs)?;
    let mut report = CheckReport {
        accounts: accounts.len(),
        ..Default::default()
    };

    let tpath = dir.join("territories.csv");
    let (th, trows) = read_csv(&tpath)?;
    let tid = col(&th, "territory_id", &tpath)?;
    let trep = col(&th, "rep_id", &tpath)?;
    let k = trows.len();
    report.territories = k;
    let index: HashMap<&str, usize> = trows
        .iter()
        .enumerate()
        .map(|(i, r)| (r[tid].as_str(), i))
        .collect();
    if index.len() != k {
        report
            .failures
            .push("territories.csv repeats a territory id".into());
    }
    let mut reps_seen: HashMap<&str, &str> = HashMap::new();
    for r in &trows {
        if let Some(prev) = reps_seen.insert(r[trep].as_str(), r[tid].as_str()) {
            report
                .failures
                .push(format!("rep {} holds both {prev} and {}", r[trep], r[tid]));
        }
    }

    let apath = dir.join("assignments.csv");
    let (ah, arows) = read_records(&apath)?;
    let (aid, aterr) = (
        col(&ah, "account_id", &apath)?,
        col(&ah, "territory_id", &apath)?,
    );
    // Fx hashing: a million short ids, none chosen by an adversary.
    let input_index: FxHashMap<&str, usize> = accounts
        .id
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut territory_of: Vec<Option<usize>> = vec![None; accounts.len()];
    for (line, r) in arows.iter().enumerate() {
        // The writer guards ids that look like formulas with a leading quote.
        let raw = &r[aid];
        let id = match raw.strip_prefix('\'') {
            Some(s) if !input_index.contains_key(raw) => s,
            _ => raw,
        };
        let Some(&i) = input_index.get(id) else {
            report.failures.push(format!(
                "assignments.csv line {}: account '{id}' is not in the input",
                line + 2
            ));
            continue;
        };
        let Some(&t) = index.get(&r[aterr]) else {
            report.failures.push(format!(
                "assignments.csv line {}: unknown territory '{}'",
                line + 2,
                &r[aterr]
            ));
            continue;
        };
        if territory_of[i].replace(t).is_some() {
            report
                .failures
                .push(format!("account '{id}' is assigned more than once"));
        }
    }
    let missing: Vec<&str> = (0..accounts.len())
        .filter(|&i| territory_of[i].is_none())
        .map(|i| accounts.id[i].as_str())
        .collect();
    if !missing.is_empty() {
        report.failures.push(format!(
            "{} input accounts are not assigned, e.g. {}",
            missing.len(),
            missing
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !report.failures.is_empty() {
        return Ok(report);
    }
    let territory_of: Vec<usize> = territory_of.into_iter().map(|t| t.unwrap_or(0)).collect();

    // Every account in a territory of its own segment.
    let tseg = col(&th, "segment", &tpath)?;
    for (i, &t) in territory_of.iter().enumerate() {
        let want = &defs[seg_of[i] as usize].name;
        if trows[t][tseg] != *want {
            report.failures.push(format!(
                "account '{}' is in segment {want} but its territory {} is in {}",
                accounts.id[i], trows[t][tid], trows[t][tseg]
            ));
        }
    }
    if !report.failures.is_empty() {
        return Ok(report);
    }

    // Bands: recomputed from the accounts; a territory's target is an equal share of its
    // segment's total.
    let m = am.names.len();
    let mut values = vec![vec![0.0; m]; k];
    for (i, &t) in territory_of.iter().enumerate() {
        for j in 0..m {
            values[t][j] += am.values[(i, j)];
        }
    }
    let seg_index = |name: &str| defs.iter().position(|d| d.name == name).unwrap_or(0);
    let mut seg_total = vec![vec![0.0; m]; defs.len()];
    for (i, &s) in seg_of.iter().enumerate() {
        for j in 0..m {
            seg_total[s as usize][j] += am.values[(i, j)];
        }
    }
    let mut seg_k = vec![0usize; defs.len()];
    for r in &trows {
        seg_k[seg_index(&r[tseg])] += 1;
    }
    let leaf_target: Vec<Vec<f64>> = (0..defs.len())
        .map(|s| {
            (0..m)
                .map(|j| seg_total[s][j] / seg_k[s].max(1) as f64)
                .collect()
        })
        .collect();
    let territory_segment: Vec<usize> = trows.iter().map(|r| seg_index(&r[tseg])).collect();
    for j in 0..m {
        let tol = am.tolerances[j];
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for (t, row) in trows.iter().enumerate() {
            let target = leaf_target[territory_segment[t]][j];
            let dev = if target > 0.0 {
                values[t][j] / target - 1.0
            } else {
                0.0
            };
            lo = lo.min(dev);
            hi = hi.max(dev);
            if dev.abs() > tol + 1e-9 {
                report.failures.push(format!(
                    "{} {}: {:+.3}% of target, outside ±{:.3}%",
                    row[tid],
                    am.names[j],
                    dev * 100.0,
                    tol * 100.0
                ));
            }
            if let Some(c) = th.iter().position(|h| *h == am.names[j]) {
                let written: f64 = row[c].parse().unwrap_or(f64::NAN);
                if (written - values[t][j]).abs() > 1e-6 * (1.0 + values[t][j].abs()) {
                    report.failures.push(format!(
                        "{} {}: territories.csv says {written}, the accounts sum to {}",
                        row[tid], am.names[j], values[t][j]
                    ));
                }
            }
        }
        report.bands.push((am.names[j].clone(), tol, lo, hi));
    }

    let plan = constraints::PlanView {
        scenario,
        accounts,
        reps,
        defs: &defs,
        seg_of: &seg_of,
        territory_of: &territory_of,
        territory_ids: trows.iter().map(|r| r[tid].clone()).collect(),
        territory_reps: trows.iter().map(|r| r[trep].clone()).collect(),
        rep_by_id: reps.map(Reps::by_id).unwrap_or_default(),
    };
    constraints::check(&plan, &mut report.failures);
    if let Some(q) = &scenario.quota {
        quota::check(
            dir,
            q,
            &defs.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            &plan.territory_ids,
            &plan.territory_reps,
            &mut report.failures,
        )?;
    }
    let parent_col = col(&th, "parent", &tpath)?;
    hierarchy::check(
        dir,
        scenario,
        &am,
        &trows
            .iter()
            .map(|r| r[parent_col].clone())
            .collect::<Vec<_>>(),
        &plan.territory_ids,
        &values,
        &leaf_target,
        &territory_segment,
        &defs,
        &mut report.failures,
    )?;

    let status_col = col(&th, "status", &tpath)?;
    let column = |c: usize| trows.iter().map(|r| r[c].clone()).collect::<Vec<_>>();
    team::check(
        &team::TeamView {
            dir,
            plan: &plan,
            status: &column(status_col),
            parents: &column(parent_col),
            segments: &column(tseg),
        },
        &mut report.failures,
    )?;

    // Rule replay: rules.json must route every account to its territory and every postal
    // code of the universe to exactly one territory per segment.
    let rpath = dir.join("rules.json");
    if rpath.exists() {
        let text = std::fs::read_to_string(&rpath).map_err(|e| Error::io("read", &rpath, e))?;
        let set: crate::rules::RuleSet = serde_json::from_str(&text)
            .map_err(|e| Error::CheckFailed(vec![format!("{}: {e}", rpath.display())]))?;
        let want: Vec<String> = territory_of
            .iter()
            .map(|&t| trows[t][tid].clone())
            .collect();
        let universe = crate::rules::universe(scenario.coordinates);
        match crate::rules::replay_accounts(&set, accounts, &defs, &seg_of, &want, &universe) {
            Ok(r) => {
                report.rules_replayed = Some((
                    r.matched,
                    r.postal_codes - r.postal_problems.len(),
                    r.postal_codes,
                ));
                report.failures.extend(r.describe(10));
            }
            Err(e) => report.failures.push(format!("rules.json: {e}")),
        }
    } else {
        report.failures.push("rules.json is missing".into());
    }

    // Weighted distance to each territory's weighted centre, recomputed per account.
    let mut pts: Vec<Vec<([f64; 2], f64)>> = vec![Vec::new(); k];
    for (i, &t) in territory_of.iter().enumerate() {
        pts[t].push((accounts.pos[i], am.weight[i]));
    }
    let centres: Vec<[f64; 2]> = pts
        .iter()
        .map(|p| weighted_centre(p.iter().copied()).unwrap_or([0.0; 2]))
        .collect();
    let wd: f64 = territory_of
        .iter()
        .enumerate()
        .map(|(i, &t)| am.weight[i] * scenario.coordinates.distance(accounts.pos[i], centres[t]))
        .sum();
    report.weighted_distance = wd;
    let reported = summary.objective.weighted_distance;
    if (wd - reported).abs() > 1e-6 * (1.0 + wd.abs()) {
        report.failures.push(format!(
            "summary.json weighted_distance {reported} but recomputed {wd}"
        ));
    }
    Ok(report)
}
