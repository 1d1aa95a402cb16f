//! `terraplan compare`: plans several scenarios (or one scenario swept over a key) side by
//! side, writes each plan, the comparison table (CSV and Markdown), the diff of who gains
//! and loses accounts, and a comparison report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use terraplan::compare::{self, Row};
use terraplan::io::output::{OutFile, plan_files, safe_cell, write_atomically};
use terraplan::io::{load_reps, read_accounts, read_scenario};
use terraplan::model::{Accounts, Plan, Reps, Scenario};
use terraplan::{Error, check, planner, report};

use super::CompareArgs;

struct Planned {
    scenario: Scenario,
    accounts: Accounts,
    plan: Result<Plan, Error>,
}

/// One scenario per value of `key=v1,v2,…` (tolerance: every band; max_moved_accounts,
/// max_moved_pipeline: the disruption budget; move_cost).
fn sweep(base: &Scenario, spec: &str) -> Result<Vec<Scenario>, Error> {
    let (key, values) = spec
        .split_once('=')
        .ok_or_else(|| Error::Usage(format!("--sweep takes KEY=V1,V2,…, not '{spec}'")))?;
    let mut out = Vec::new();
    for v in values.split(',') {
        let x: f64 = v
            .trim()
            .parse()
            .map_err(|_| Error::Usage(format!("--sweep value '{v}' is not a number")))?;
        let mut s = base.clone();
        s.apply_override(key.trim(), x)
            .map_err(|e| Error::Usage(format!("--sweep {e}")))?;
        s.name = format!("{}-{}-{}", base.name, key.trim(), v.trim());
        out.push(s);
    }
    Ok(out)
}

fn load(s: &Scenario) -> Result<(Accounts, Option<Reps>), Error> {
    let accounts = read_accounts(&s.accounts_path, s.coordinates)?;
    let reps = match &s.reps_path {
        Some(p) => Some(load_reps(p, &accounts, s)?),
        None => None,
    };
    Ok((accounts, reps))
}

pub fn run(a: CompareArgs) -> anyhow::Result<u8> {
    super::set_threads(a.threads)?;
    let mut scenarios = Vec::new();
    for p in &a.scenarios {
        scenarios.push(read_scenario(p).map_err(Error::from)?);
    }
    if let Some(spec) = &a.sweep {
        if scenarios.len() != 1 {
            return Err(Error::Usage("--sweep takes exactly one scenario".into()).into());
        }
        scenarios = sweep(&scenarios[0], spec)?;
    } else if scenarios.len() < 2 {
        return Err(Error::Usage(
            "compare needs two scenarios or more, or one with --sweep".into(),
        )
        .into());
    }
    // Distinct folder names.
    for i in 0..scenarios.len() {
        if scenarios[..i].iter().any(|s| s.name == scenarios[i].name) {
            scenarios[i].name = format!("{}-{}", scenarios[i].name, i + 1);
        }
    }
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("out").join("compare"));
    let phases = super::progress::Phases::new(a.quiet);
    phases.phase(&format!("planning {} scenarios", scenarios.len()));
    let planned: Vec<Result<Planned, Error>> = scenarios
        .into_par_iter()
        .map(|s| {
            let (accounts, reps) = load(&s)?;
            let plan = planner::plan(&s, &accounts, reps.as_ref());
            Ok(Planned {
                scenario: s,
                accounts,
                plan,
            })
        })
        .collect();
    let mut files: Vec<OutFile> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut notes = String::new();
    let mut ok: Vec<&Planned> = Vec::new();
    let planned: Vec<Planned> = planned.into_iter().collect::<Result<_, _>>()?;
    for p in &planned {
        match &p.plan {
            Ok(plan) => {
                for f in plan_files(plan, &p.accounts)? {
                    files.push(OutFile {
                        name: format!("{}/{}", p.scenario.name, f.name),
                        bytes: f.bytes,
                    });
                }
                rows.push(Row::of(plan));
                ok.push(p);
            }
            Err(e) => {
                let _ = writeln!(
                    notes,
                    "- {}: not planned ({})",
                    p.scenario.name,
                    e.to_string().lines().next().unwrap_or("")
                );
            }
        }
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(compare::COLUMNS)?;
    for r in &rows {
        csv.write_record(r.cells().iter().map(|c| safe_cell(c).into_owned()))?;
    }
    files.push(OutFile {
        name: "comparison.csv".into(),
        bytes: csv.into_inner()?,
    });
    let mut md = compare::markdown(&rows);
    if !notes.is_empty() {
        md.push('\n');
        md.push_str(&notes);
    }
    files.push(OutFile {
        name: "comparison.md".into(),
        bytes: md.clone().into_bytes(),
    });

    // Who gains and loses: the first two plans, or the only one against today's owners.
    let mut diff_html = String::new();
    let same_accounts =
        ok.len() >= 2 && ok[0].scenario.accounts_path == ok[1].scenario.accounts_path;
    let pair = match ok.as_slice() {
        [a, b, ..] if same_accounts => Some((Some(a), b)),
        [a] => Some((None, a)),
        _ => None,
    };
    if let Some((from, to)) = pair {
        let (Ok(to_plan), accounts) = (&to.plan, &to.accounts) else {
            unreachable!("only planned scenarios")
        };
        let from_plan = from.and_then(|f| f.plan.as_ref().ok());
        let (moves, reps) = compare::diff(from_plan, to_plan, accounts);
        let from_name = from.map_or("current owners".to_string(), |f| f.scenario.name.clone());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "account_id",
            "from_territory",
            "from_rep",
            "to_territory",
            "to_rep",
        ])?;
        for m in &moves {
            w.write_record([
                safe_cell(&accounts.id[m.account]).as_ref(),
                &m.from_territory,
                safe_cell(&m.from_rep).as_ref(),
                &m.to_territory,
                safe_cell(&m.to_rep).as_ref(),
            ])?;
        }
        files.push(OutFile {
            name: "diff.csv".into(),
            bytes: w.into_inner()?,
        });
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "rep_id",
            "accounts_gained",
            "accounts_lost",
            "pipeline_gained",
            "pipeline_lost",
        ])?;
        for (rep, c) in &reps {
            w.write_record([
                safe_cell(rep).into_owned(),
                c.gained.to_string(),
                c.lost.to_string(),
                format!("{:.2}", c.pipeline_gained),
                format!("{:.2}", c.pipeline_lost),
            ])?;
        }
        files.push(OutFile {
            name: "diff-by-rep.csv".into(),
            bytes: w.into_inner()?,
        });
        let _ = write!(
            diff_html,
            "<p>From {} to {}: {} accounts change rep.</p><table><thead><tr><th>rep</th><th>gained</th><th>lost</th><th>pipeline gained</th><th>pipeline lost</th></tr></thead><tbody>",
            report::esc(&from_name),
            report::esc(&to.scenario.name),
            moves.len()
        );
        let mut by_churn: Vec<_> = reps.iter().collect();
        by_churn.sort_by(|a, b| {
            (b.1.gained + b.1.lost)
                .cmp(&(a.1.gained + a.1.lost))
                .then(a.0.cmp(b.0))
        });
        for (rep, c) in by_churn.iter().take(25) {
            let _ = write!(
                diff_html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td></tr>",
                report::esc(rep),
                c.gained,
                c.lost,
                c.pipeline_gained,
                c.pipeline_lost
            );
        }
        diff_html.push_str(
            "</tbody></table><p class=\"note\">All moves: diff.csv; per rep: diff-by-rep.csv.</p>",
        );
    }
    files.push(OutFile {
        name: "report.html".into(),
        bytes: report::comparison_report(&rows, &diff_html).into_bytes(),
    });
    phases.phase("writing and re-checking");
    write_atomically(&out, &files)?;
    for p in &ok {
        let dir = out.join(&p.scenario.name);
        let r = check::check_dir(&dir).with_context(|| format!("re-checking {}", dir.display()))?;
        if !r.ok() {
            return Err(Error::CheckFailed(r.failures).into());
        }
    }
    phases.done();
    if !a.quiet {
        print!("{md}");
        println!("→ {}", display(&out));
    }
    Ok(if ok.is_empty() { 1 } else { 0 })
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
