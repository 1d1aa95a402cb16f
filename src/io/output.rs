//! Writes a plan's output folder atomically: everything goes to a temporary folder beside
//! the target, which is renamed into place only when every file is written.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::model::{Accounts, Plan};

/// A file to be written into the output folder.
pub struct OutFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The output files in a fixed order. Each is rendered on its own, side by side (at 1M
/// accounts the CSVs, the CRM bundle, the report and the GeoJSON took 2.2 s one after
/// another); the bytes are the same whatever the thread count.
pub fn plan_files(plan: &Plan, accounts: &Accounts) -> Result<Vec<OutFile>, Error> {
    use rayon::prelude::*;
    let one = |name: &str, bytes: Result<Vec<u8>, Error>| -> Result<Vec<OutFile>, Error> {
        Ok(vec![OutFile {
            name: name.into(),
            bytes: bytes?,
        }])
    };
    let json = |e: serde_json::Error| Error::Solver(e.to_string());
    let parts: Vec<Result<Vec<OutFile>, Error>> = (0..PARTS)
        .into_par_iter()
        .map(|part| match part {
            0 => one("assignments.csv", assignments_csv(plan, accounts)),
            1 => one("territories.csv", territories_csv(plan)),
            2 => one(
                "hierarchy.json",
                serde_json::to_vec_pretty(&hierarchy_json(plan)).map_err(json),
            ),
            3 => one(
                "summary.json",
                serde_json::to_vec_pretty(&plan.summary).map_err(json),
            ),
            4 => match &plan.rules {
                Some(rules) => one(
                    "rules.json",
                    crate::export::rules_json(rules).map_err(Error::Solver),
                ),
                None => Ok(Vec::new()),
            },
            5 => match &plan.rules {
                Some(_) => Ok(crate::export::bundle(plan, accounts)
                    .map_err(|e| Error::CheckFailed(vec![e]))?
                    .files
                    .into_iter()
                    .map(|(name, bytes)| OutFile { name, bytes })
                    .collect()),
                None => Ok(Vec::new()),
            },
            6 => one(
                "report.html",
                Ok(crate::report::plan_report(plan, accounts, plan.coordinates).into_bytes()),
            ),
            7 => one(
                "territories.geojson",
                serde_json::to_vec(&crate::report::geojson(plan, accounts, plan.coordinates))
                    .map_err(json),
            ),
            8 if !plan.quotas.is_empty() => one("quotas.csv", quotas_csv(plan)),
            8 => Ok(Vec::new()),
            _ => one(
                "members.csv",
                super::members::members_csv(plan, &plan.owner_role),
            ),
        })
        .collect();
    let mut files = Vec::new();
    for part in parts {
        files.extend(part?);
    }
    Ok(files)
}

/// The kinds of output [`plan_files`] renders.
const PARTS: usize = 10;

fn quotas_csv(plan: &Plan) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "rep_id",
        "territory_id",
        "segment",
        "potential",
        "share",
        "base_quota",
        "experience_factor",
        "ramp_factor",
        "full_quota",
        "recommended_quota",
        "continuity",
        "reason",
    ])
    .map_err(csv_err)?;
    for q in &plan.quotas {
        w.write_record([
            safe_cell(&q.rep_id).as_ref(),
            &q.territory_id,
            safe_cell(&q.segment).as_ref(),
            &format!("{:.2}", q.potential),
            &format!("{:.6}", q.share),
            &format!("{:.2}", q.base_quota),
            &format!("{:.4}", q.experience_factor),
            &format!("{:.4}", q.ramp_factor),
            &format!("{:.2}", q.full_quota),
            &format!("{:.2}", q.recommended_quota),
            &format!("{:.4}", q.continuity),
            safe_cell(&q.reason).as_ref(),
        ])
        .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| Error::io("write", Path::new("quotas.csv"), e.into_error()))
}

/// The hierarchy as one tree: nodes above the territories, then the territories as
/// leaves, each with its metrics, targets and bands.
fn hierarchy_json(plan: &Plan) -> serde_json::Value {
    let metrics: Vec<&str> = plan
        .summary
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let per_metric = |values: &[f64], targets: &[f64], tol: &[f64]| {
        serde_json::Value::Object(
            metrics
                .iter()
                .enumerate()
                .map(|(j, name)| {
                    let dev = if targets[j] > 0.0 {
                        values[j] / targets[j] - 1.0
                    } else {
                        0.0
                    };
                    (
                        name.to_string(),
                        serde_json::json!({
                            "value": values[j],
                            "target": targets[j],
                            "deviation": dev,
                            "tolerance": tol[j],
                        }),
                    )
                })
                .collect(),
        )
    };
    let tol: Vec<f64> = plan.summary.metrics.iter().map(|m| m.tolerance).collect();
    let nodes: Vec<serde_json::Value> = plan
        .nodes
        .iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id,
                "name": n.name,
                "level": n.level,
                "parent": n.parent,
                "children": n.children,
                "territories": n.territories,
                "accounts": n.accounts,
                "metrics": per_metric(&n.values, &n.targets, &n.tolerances),
                "coverage": n.coverage,
            })
        })
        .collect();
    let territories: Vec<serde_json::Value> = plan
        .territories
        .iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "name": t.name,
                "level": "territory",
                "parent": t.parent,
                "segment": t.segment,
                "rep_id": t.rep_id,
                "status": t.status,
                "accounts": t.accounts,
                "metrics": per_metric(&t.values, &t.targets, &tol),
                "coverage": t.coverage,
                "overlays": plan
                    .overlays
                    .iter()
                    .filter(|m| m.territories.contains(&t.id))
                    .map(|m| serde_json::json!({"role": m.role, "rep_id": m.rep_id}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "levels": plan.summary.hierarchy.iter().map(|(l, c)| serde_json::json!({"level": l, "nodes": c})).collect::<Vec<_>>(),
        "nodes": nodes,
        "territories": territories,
    })
}

fn csv_err(e: csv::Error) -> Error {
    Error::io("write", Path::new("<csv>"), std::io::Error::other(e))
}

/// Neutralises spreadsheet formulas: a cell starting with = + - @ gets a leading quote.
pub fn safe_cell(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if s.parse::<f64>().is_err() => {
            format!("'{s}").into()
        }
        _ => s.into(),
    }
}

fn assignments_csv(plan: &Plan, accounts: &Accounts) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(accounts.len() * 40));
    w.write_record([
        "account_id",
        "territory_id",
        "rep_id",
        "previous_owner",
        "moved",
    ])
    .map_err(csv_err)?;
    for (i, &t) in plan.account_territory.iter().enumerate() {
        let terr = &plan.territories[t as usize];
        let owner = &accounts.owner_id[i];
        let moved = if owner.is_empty() {
            ""
        } else if *owner == terr.rep_id {
            "false"
        } else {
            "true"
        };
        w.write_record([
            safe_cell(&accounts.id[i]).as_ref(),
            &terr.id,
            safe_cell(&terr.rep_id).as_ref(),
            safe_cell(owner).as_ref(),
            moved,
        ])
        .map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| Error::io("write", Path::new("assignments.csv"), e.into_error()))
}

fn territories_csv(plan: &Plan) -> Result<Vec<u8>, Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "territory_id",
        "name",
        "segment",
        "parent",
        "level",
        "rep_id",
        "status",
        "centre_a",
        "centre_b",
        "account_count",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for m in &plan.summary.metrics {
        header.push(m.name.clone());
        header.push(format!("{}_target", m.name));
        header.push(format!("{}_deviation", m.name));
    }
    let coverage = plan.summary.coverage.is_some();
    if coverage {
        header
            .extend(["pipeline", "quota", "pipeline_coverage", "coverage_band"].map(String::from));
    }
    w.write_record(&header).map_err(csv_err)?;
    for t in &plan.territories {
        let mut row = vec![
            t.id.clone(),
            safe_cell(&t.name).into_owned(),
            safe_cell(&t.segment).into_owned(),
            t.parent.clone(),
            "territory".into(),
            safe_cell(&t.rep_id).into_owned(),
            t.status.clone(),
            format!("{:.6}", t.centre[0]),
            format!("{:.6}", t.centre[1]),
            t.accounts.to_string(),
        ];
        for (j, _) in plan.summary.metrics.iter().enumerate() {
            let dev = if t.targets[j] > 0.0 {
                t.values[j] / t.targets[j] - 1.0
            } else {
                0.0
            };
            row.push(format!("{:.6}", t.values[j]));
            row.push(format!("{:.6}", t.targets[j]));
            row.push(format!("{dev:.6}"));
        }
        if coverage {
            match &t.coverage {
                Some(c) => row.extend([
                    format!("{:.2}", c.pipeline),
                    format!("{:.2}", c.quota),
                    c.ratio.map_or(String::new(), |r| format!("{r:.4}")),
                    c.band.clone(),
                ]),
                None => row.extend(std::iter::repeat_n(String::new(), 4)),
            }
        }
        w.write_record(&row).map_err(csv_err)?;
    }
    w.into_inner()
        .map_err(|e| Error::io("write", Path::new("territories.csv"), e.into_error()))
}

/// Writes `files` as the folder `dir`, replacing a previous one only once all are written.
pub fn write_atomically(dir: &Path, files: &[OutFile]) -> Result<(), Error> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| Error::io("create", &parent, e))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
    let result = (|| {
        for f in files {
            let path = tmp.join(&f.name);
            if let Some(p) = path.parent() {
                fs::create_dir_all(p).map_err(|e| Error::io("create", p, e))?;
            }
            fs::write(&path, &f.bytes).map_err(|e| Error::io("write", &path, e))?;
        }
        if dir.exists() {
            fs::rename(dir, &old).map_err(|e| Error::io("move aside", dir, e))?;
        }
        fs::rename(&tmp, dir).map_err(|e| Error::io("rename into place", dir, e))
    })();
    match result {
        Ok(()) => {
            let _ = fs::remove_dir_all(&old);
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            if old.exists() && !dir.exists() {
                let _ = fs::rename(&old, dir);
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> OutFile {
        OutFile {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn failed_write_leaves_previous_output_and_no_temporary_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("plan");
        write_atomically(&dir, &[file("a.csv", "old")]).unwrap();
        // The second file cannot be written: its parent would have to be the file a.csv.
        let err = write_atomically(&dir, &[file("a.csv", "new"), file("a.csv/b.csv", "x")]);
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(dir.join("a.csv")).unwrap(), "old");
        let leftovers: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("plan")]);
    }

    #[test]
    fn successful_write_replaces_the_whole_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("plan");
        write_atomically(&dir, &[file("a.csv", "old"), file("stale.csv", "x")]).unwrap();
        write_atomically(&dir, &[file("a.csv", "new")]).unwrap();
        assert_eq!(fs::read_to_string(dir.join("a.csv")).unwrap(), "new");
        assert!(
            !dir.join("stale.csv").exists(),
            "no file of the old plan survives"
        );
    }

    #[test]
    fn formula_cells_are_neutralised_but_numbers_kept() {
        assert_eq!(safe_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("+cmd"), "'+cmd");
        assert_eq!(safe_cell("-12.5"), "-12.5");
        assert_eq!(safe_cell("R0001"), "R0001");
    }
}
