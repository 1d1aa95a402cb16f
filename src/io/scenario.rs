//! scenario.toml: parsed strictly (unknown keys are errors) and resolved against its folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{InputError, Location};
use crate::expr::Expr;
use crate::geometry::Coordinates;
use crate::model::scenario::{
    Balance, LpSetting, QuotaSettings, Scenario, SolverSettings, UnitKind,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    seed: Option<u64>,
    input: InputSection,
    #[serde(default)]
    plan: PlanSection,
    #[serde(default)]
    balance: Vec<BalanceSpec>,
    objective: Option<ObjectiveSpec>,
    #[serde(default)]
    metrics: BTreeMap<String, Spanned<String>>,
    quota: Option<QuotaSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSection {
    accounts: PathBuf,
    reps: Option<PathBuf>,
    #[serde(default)]
    coordinates: Coordinates,
    #[serde(default)]
    unit: UnitKind,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PlanSection {
    territories: Option<Spanned<i64>>,
    candidates: Option<Spanned<i64>>,
    rounds: Option<Spanned<i64>>,
    restarts: Option<Spanned<i64>>,
    contiguity: Option<bool>,
    lp: Option<LpSetting>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceSpec {
    metric: Spanned<String>,
    tolerance: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectiveSpec {
    weight: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaSection {
    target: Spanned<f64>,
    over_assignment: Option<Spanned<f64>>,
    ramp: Option<Vec<f64>>,
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (u64, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}

struct Src<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Src<'_> {
    fn loc<T>(&self, s: &Spanned<T>, field: &str) -> Location {
        let (line, col) = line_col(self.text, s.span().start);
        Location::at(self.path, line, col).field(field)
    }

    fn count(
        &self,
        v: &Option<Spanned<i64>>,
        field: &str,
        min: i64,
    ) -> Result<Option<usize>, InputError> {
        match v {
            None => Ok(None),
            Some(s) if *s.get_ref() >= min => Ok(Some(*s.get_ref() as usize)),
            Some(s) => Err(InputError::new(
                self.loc(s, field),
                format!("{field} must be at least {min}, not {}", s.get_ref()),
            )),
        }
    }
}

pub fn read_scenario(path: &Path) -> Result<Scenario, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError::new(
            Location::file(path),
            format!("cannot read the scenario: {e}"),
        )
    })?;
    parse_scenario(path, &text)
}

pub fn parse_scenario(path: &Path, text: &str) -> Result<Scenario, InputError> {
    let src = Src { path, text };
    let file: ScenarioFile = toml::from_str(text).map_err(|e| {
        let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        InputError::new(
            Location::at(path, line, col),
            e.message().trim().to_string(),
        )
        .hint("see data/scenario.toml and README.md for every key the scenario accepts")
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &Path| -> PathBuf {
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        };
        std::path::absolute(&joined).unwrap_or(joined)
    };

    let mut balance = Vec::new();
    for b in &file.balance {
        let tol = *b.tolerance.get_ref();
        if !(tol > 0.0 && tol < 1.0) {
            return Err(InputError::new(
                src.loc(&b.tolerance, "balance.tolerance"),
                format!("tolerance must be a fraction above 0 and below 1, not {tol}"),
            )
            .hint("0.05 means every territory within ±5% of its target"));
        }
        if balance
            .iter()
            .any(|x: &Balance| x.metric == *b.metric.get_ref())
        {
            return Err(InputError::new(
                src.loc(&b.metric, "balance.metric"),
                format!("metric '{}' is balanced twice", b.metric.get_ref()),
            ));
        }
        balance.push(Balance {
            metric: b.metric.get_ref().clone(),
            tolerance: tol,
            location: src.loc(&b.metric, "balance.metric"),
        });
    }

    let mut metrics = BTreeMap::new();
    for (name, formula) in &file.metrics {
        let loc = src.loc(formula, &format!("metrics.{name}"));
        let expr = Expr::parse(formula.get_ref()).map_err(|e| {
            let mut l = loc.clone();
            // Point inside the quoted string: one for the quote, then the character.
            l.column = l.column.map(|c| c + e.position);
            InputError::new(l, format!("formula for '{name}': {}", e.message))
        })?;
        metrics.insert(name.clone(), (expr, loc));
    }

    let (weight, weight_location) = match &file.objective {
        Some(o) => (
            o.weight.get_ref().clone(),
            src.loc(&o.weight, "objective.weight"),
        ),
        None => (
            "potential".to_string(),
            Location::file(path).field("objective.weight"),
        ),
    };

    let defaults = SolverSettings::default();
    let solver = SolverSettings {
        candidates: src
            .count(&file.plan.candidates, "plan.candidates", 2)?
            .unwrap_or(defaults.candidates),
        rounds: src
            .count(&file.plan.rounds, "plan.rounds", 1)?
            .unwrap_or(defaults.rounds),
        restarts: src
            .count(&file.plan.restarts, "plan.restarts", 1)?
            .unwrap_or(defaults.restarts),
        contiguity: file.plan.contiguity.unwrap_or(defaults.contiguity),
        lp: file.plan.lp.unwrap_or(defaults.lp),
    };
    let territories = src.count(&file.plan.territories, "plan.territories", 1)?;
    let territories_location = match &file.plan.territories {
        Some(t) => src.loc(t, "plan.territories"),
        None => Location::file(path).field("plan.territories"),
    };

    let quota = match file.quota {
        None => None,
        Some(q) => {
            let target = *q.target.get_ref();
            if !(target.is_finite() && target > 0.0) {
                return Err(InputError::new(
                    src.loc(&q.target, "quota.target"),
                    format!("the company target must be a positive amount, not {target}"),
                ));
            }
            let over = q.over_assignment.as_ref().map_or(0.15, |o| *o.get_ref());
            if !(0.0..=1.0).contains(&over) {
                let loc = q
                    .over_assignment
                    .as_ref()
                    .map(|o| src.loc(o, "quota.over_assignment"));
                return Err(InputError::new(
                    loc.unwrap_or_else(|| Location::file(path)),
                    format!("over_assignment must be between 0 and 1, not {over}"),
                ));
            }
            Some(QuotaSettings {
                target,
                over_assignment: over,
                ramp: q.ramp.unwrap_or_else(|| vec![0.0, 0.25, 0.5, 0.75, 1.0]),
            })
        }
    };

    if file.name.trim().is_empty() {
        return Err(InputError::new(
            Location::file(path).field("name"),
            "name must not be empty",
        ));
    }

    Ok(Scenario {
        source: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        name: file.name,
        seed: file.seed.unwrap_or(0),
        accounts_path: resolve(&file.input.accounts),
        reps_path: file.input.reps.as_deref().map(resolve),
        coordinates: file.input.coordinates,
        unit: file.input.unit,
        territories,
        territories_location,
        balance,
        weight,
        weight_location,
        metrics,
        solver,
        quota,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "name = \"t\"\n[input]\naccounts = \"a.csv\"\n";

    #[test]
    fn unknown_key_is_reported_with_position() {
        let text = format!("{BASE}[plan]\nterritorys = 3\n");
        let e = parse_scenario(Path::new("s.toml"), &text).err().unwrap();
        assert_eq!(e.location.line, Some(5));
        assert!(e.message.contains("territorys"), "{}", e.message);
    }

    #[test]
    fn tolerance_must_be_positive() {
        let text = format!("{BASE}[[balance]]\nmetric = \"accounts\"\ntolerance = 0.0\n");
        let e = parse_scenario(Path::new("s.toml"), &text).err().unwrap();
        assert_eq!((e.location.line, e.location.column), (Some(6), Some(13)));
    }

    #[test]
    fn formula_errors_point_into_the_string() {
        let text = format!("{BASE}[metrics]\npotential = \"a * (b\"\n");
        let e = parse_scenario(Path::new("s.toml"), &text).err().unwrap();
        assert_eq!(e.location.line, Some(5));
        assert!(e.message.contains("expected ')'"), "{}", e.message);
    }

    #[test]
    fn paths_resolve_against_the_scenario_folder() {
        let s = parse_scenario(Path::new("/x/y/s.toml"), BASE).unwrap();
        assert_eq!(s.accounts_path, PathBuf::from("/x/y/a.csv"));
        assert_eq!(s.weight, "potential");
    }
}
