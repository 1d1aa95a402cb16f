//! members.csv and pipeline coverage, recomputed: every staffed territory has its owner;
//! every overlay rep is a rep of that role and segment covering territories under one node
//! of the role's level, each territory at most once per role; loads are recomputed from
//! the accounts; reps over the cap and uncovered territories must be the ones summary.json
//! reports. Coverage = pipeline / recommended quota, with its band.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::error::Error;
use crate::model::RepStatus;

/// The plan as the constraint checks see it, plus what the team checks also read.
pub struct TeamView<'a> {
    pub dir: &'a Path,
    pub plan: &'a super::constraints::PlanView<'a>,
    pub status: &'a [String],
    pub parents: &'a [String],
    pub segments: &'a [String],
}

pub fn check(v: &TeamView, failures: &mut Vec<String>) -> Result<(), Error> {
    let summary: serde_json::Value = {
        let p = v.dir.join("summary.json");
        let text = std::fs::read_to_string(&p).map_err(|e| Error::io("read", &p, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::CheckFailed(vec![format!("{}: {e}", p.display())]))?
    };
    members(v, &summary, failures)?;
    coverage(v, failures)
}

/// Node id → (level, parent) from hierarchy.json.
fn nodes(dir: &Path) -> Result<HashMap<String, (String, Option<String>)>, Error> {
    let p = dir.join("hierarchy.json");
    let text = std::fs::read_to_string(&p).map_err(|e| Error::io("read", &p, e))?;
    let h: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::CheckFailed(vec![format!("{}: {e}", p.display())]))?;
    let mut out = HashMap::new();
    for n in h["nodes"].as_array().into_iter().flatten() {
        let id = n["id"].as_str().unwrap_or_default().to_string();
        let level = n["level"].as_str().unwrap_or_default().to_string();
        let parent = n["parent"].as_str().map(String::from);
        out.insert(id, (level, parent));
    }
    Ok(out)
}

fn members(
    v: &TeamView,
    summary: &serde_json::Value,
    failures: &mut Vec<String>,
) -> Result<(), Error> {
    let path = v.dir.join("members.csv");
    let (h, rows) = super::read_csv(&path)?;
    let c = |n: &str| super::col(&h, n, &path);
    let (rep, role, node, terr) = (c("rep_id")?, c("role")?, c("node_id")?, c("territory_id")?);
    let index: HashMap<&str, usize> = v
        .plan
        .territory_ids
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let owner_role = &v.plan.scenario.owner_role;

    // Owners: one row per staffed territory, naming its rep.
    let mut owned = vec![0usize; v.plan.territory_ids.len()];
    for r in rows.iter().filter(|r| r[role] == *owner_role) {
        match index.get(r[terr].as_str()) {
            Some(&t) if v.plan.territory_reps[t] == r[rep] => owned[t] += 1,
            _ => failures.push(format!(
                "members.csv: {} {} is not the owner of territory {}",
                owner_role, r[rep], r[terr]
            )),
        }
    }
    for (t, n) in owned.iter().enumerate() {
        let want = usize::from(v.status[t] != "open");
        if *n != want {
            failures.push(format!(
                "members.csv lists {n} owner rows for {} ({}), not {want}",
                v.plan.territory_ids[t], v.status[t]
            ));
        }
    }

    let nodes = nodes(v.dir)?;
    let reported = summary["overlays"].as_array().cloned().unwrap_or_default();
    for def in &v.plan.scenario.overlays {
        let Some(said) = reported.iter().find(|o| o["role"] == def.role.as_str()) else {
            failures.push(format!(
                "summary.json does not report the {} overlay",
                def.role
            ));
            continue;
        };
        let per_account = crate::metrics::evaluate_at(
            &def.load,
            v.plan.accounts,
            v.plan.scenario,
            &def.location,
        )?;
        let mut load_of = vec![0.0; v.plan.territory_ids.len()];
        for (i, &t) in v.plan.territory_of.iter().enumerate() {
            load_of[t] += per_account[i];
        }
        let mut covered = vec![false; v.plan.territory_ids.len()];
        let mut rep_node: HashMap<&str, &str> = HashMap::new();
        let mut rep_load: HashMap<&str, f64> = HashMap::new();
        for r in rows.iter().filter(|r| r[role] == def.role) {
            let Some(&t) = index.get(r[terr].as_str()) else {
                failures.push(format!(
                    "members.csv: {} {} covers unknown territory {}",
                    def.role, r[rep], r[terr]
                ));
                continue;
            };
            if std::mem::replace(&mut covered[t], true) {
                failures.push(format!(
                    "members.csv: {} is covered by more than one {}",
                    v.plan.territory_ids[t], def.role
                ));
            }
            if let Some(prev) = rep_node.insert(&r[rep], &r[node])
                && prev != r[node]
            {
                failures.push(format!(
                    "members.csv: {} {} works under both {prev} and {}",
                    def.role, r[rep], r[node]
                ));
            }
            *rep_load.entry(&r[rep]).or_default() += load_of[t];
            if !under(&nodes, &v.parents[t], &r[node], &def.within) {
                failures.push(format!(
                    "members.csv: {} is not under {} {} of {} {}",
                    v.plan.territory_ids[t], def.within, r[node], def.role, r[rep]
                ));
            }
            let known = v
                .plan
                .reps
                .and_then(|reps| reps.overlay.iter().find(|x| x.id == r[rep]));
            match known {
                Some(x)
                    if x.role.eq_ignore_ascii_case(&def.role)
                        && x.status != RepStatus::Leaving
                        && (v.plan.scenario.segments.len() <= 1
                            || x.segment.trim().eq_ignore_ascii_case(&v.segments[t])) => {}
                _ => failures.push(format!(
                    "members.csv: {} is not an active {} of segment {} in reps.csv",
                    r[rep], def.role, v.segments[t]
                )),
            }
        }
        let listed: HashSet<&str> = said["over_capacity"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str())
            .collect();
        for (r, load) in &rep_load {
            let over = def
                .max_load
                .is_some_and(|m| *load > m * (1.0 + 1e-9) + 1e-9);
            if over != listed.contains(r) {
                failures.push(format!(
                    "{} {r} carries {load} {} (cap {:?}) but summary.json {} it over capacity",
                    def.role,
                    def.load,
                    def.max_load,
                    if over { "does not list" } else { "lists" }
                ));
            }
            let written = said["reps"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["rep_id"] == *r)
                .and_then(|x| x["load"].as_f64());
            if written.is_none_or(|w| (w - load).abs() > 1e-6 * (1.0 + load.abs())) {
                failures.push(format!(
                    "{} {r}: summary.json load {written:?}, recomputed {load}",
                    def.role
                ));
            }
        }
        let uncovered = covered.iter().filter(|c| !**c).count();
        if said["uncovered_territories"].as_u64() != Some(uncovered as u64) {
            failures.push(format!(
                "{}: {uncovered} territories have no {} but summary.json reports {}",
                def.role, def.role, said["uncovered_territories"]
            ));
        }
    }
    Ok(())
}

/// Whether the territory whose parent is `parent` lies under `node`, a node of `level`.
fn under(
    nodes: &HashMap<String, (String, Option<String>)>,
    parent: &str,
    node: &str,
    level: &str,
) -> bool {
    let mut at = Some(parent.to_string());
    let mut steps = 0;
    while let Some(id) = at {
        if id == node {
            return nodes.get(&id).is_some_and(|(l, _)| l == level);
        }
        at = nodes.get(&id).and_then(|(_, p)| p.clone());
        steps += 1;
        if steps > nodes.len() {
            return false;
        }
    }
    false
}

/// territories.csv's pipeline, coverage and band against the accounts and quotas.csv.
fn coverage(v: &TeamView, failures: &mut Vec<String>) -> Result<(), Error> {
    let tpath = v.dir.join("territories.csv");
    let (th, trows) = super::read_csv(&tpath)?;
    let Some(cov) = th.iter().position(|h| h == "pipeline_coverage") else {
        if v.plan.accounts.has_column("pipeline") && v.plan.scenario.quota.is_some() {
            failures.push("territories.csv has no pipeline_coverage column".into());
        }
        return Ok(());
    };
    let c = |n: &str| super::col(&th, n, &tpath);
    let (pipe_col, band_col) = (c("pipeline")?, c("coverage_band")?);
    let qpath = v.dir.join("quotas.csv");
    let (qh, qrows) = super::read_csv(&qpath)?;
    let (qt, qr) = (
        super::col(&qh, "territory_id", &qpath)?,
        super::col(&qh, "recommended_quota", &qpath)?,
    );
    let quota: HashMap<&str, f64> = qrows
        .iter()
        .map(|r| (r[qt].as_str(), r[qr].parse().unwrap_or(f64::NAN)))
        .collect();
    let pipeline = v.plan.accounts.numeric.get("pipeline").map(|c| &c.values);
    let mut pipe = vec![0.0; v.plan.territory_ids.len()];
    for (i, &t) in v.plan.territory_of.iter().enumerate() {
        pipe[t] += pipeline.map_or(0.0, |p| p[i]);
    }
    let bands = v.plan.scenario.coverage;
    for (t, row) in trows.iter().enumerate() {
        let written: f64 = row[pipe_col].parse().unwrap_or(f64::NAN);
        // Written to the cent.
        if (written - pipe[t]).abs() > 0.006 {
            failures.push(format!(
                "{} pipeline: territories.csv says {written}, the accounts sum to {}",
                v.plan.territory_ids[t], pipe[t]
            ));
        }
        let q = quota
            .get(v.plan.territory_ids[t].as_str())
            .copied()
            .unwrap_or(0.0);
        let (ratio, band) = if q > 0.0 {
            let r = pipe[t] / q;
            (format!("{r:.4}"), bands.band(r))
        } else {
            (String::new(), "no quota")
        };
        let close = match (row[cov].parse::<f64>(), ratio.parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
            _ => row[cov] == ratio,
        };
        if !close || row[band_col] != band {
            failures.push(format!(
                "{} coverage: territories.csv says {} ({}), recomputed {ratio} ({band})",
                v.plan.territory_ids[t], row[cov], row[band_col]
            ));
        }
    }
    Ok(())
}
