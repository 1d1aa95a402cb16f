//! quotas.csv, re-added: one row per territory with its rep, fully ramped quotas summing to
//! the street quota (target × (1 + over-assignment)), recommended = fully ramped × ramp.

use std::path::Path;

use crate::error::Error;
use crate::model::scenario::QuotaSettings;

pub fn check(
    dir: &Path,
    q: &QuotaSettings,
    segments: &[String],
    territory_ids: &[String],
    territory_reps: &[String],
    failures: &mut Vec<String>,
) -> Result<(), Error> {
    let path = dir.join("quotas.csv");
    let (h, rows) = super::read_csv(&path)?;
    let c = |n: &str| super::col(&h, n, &path);
    let (rep, terr, full, ramp, rec) = (
        c("rep_id")?,
        c("territory_id")?,
        c("full_quota")?,
        c("ramp_factor")?,
        c("recommended_quota")?,
    );
    if rows.len() != territory_ids.len() {
        failures.push(format!(
            "quotas.csv has {} rows for {} territories",
            rows.len(),
            territory_ids.len()
        ));
    }
    let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    let mut street = 0.0;
    for r in &rows {
        match territory_ids.iter().position(|t| *t == r[terr]) {
            Some(t) if territory_reps[t] == r[rep] => {}
            _ => failures.push(format!(
                "quotas.csv: {} of {} is not a territory of the plan",
                r[terr], r[rep]
            )),
        }
        let (f, p, x) = (num(&r[full]), num(&r[ramp]), num(&r[rec]));
        street += f;
        // Written to the cent and the ramp to 4 decimals.
        if (x - f * p).abs() > 0.01 + f * 5e-5 {
            failures.push(format!(
                "quotas.csv: {} recommended {x} is not full {f} × ramp {p}",
                r[rep]
            ));
        }
    }
    // Segments without a target of their own share what the named ones leave.
    let all_named = segments.iter().all(|s| q.segment_targets.contains_key(s));
    let target = if all_named {
        segments
            .iter()
            .filter_map(|s| q.segment_targets.get(s))
            .sum()
    } else {
        q.target
    };
    let want = target * (1.0 + q.over_assignment);
    if (street - want).abs() > 0.005 * rows.len() as f64 + 1e-9 * want {
        failures.push(format!(
            "quotas.csv: fully ramped quotas sum to {street:.2}, not the street quota {want:.2}"
        ));
    }
    Ok(())
}
