//! scenario.toml: parsed strictly (unknown keys are errors) and resolved against its folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

mod team;

use crate::error::{InputError, Location};
use crate::expr::Expr;
use crate::geometry::Coordinates;
use crate::model::scenario::{
    Balance, Criterion, LevelDef, LpSetting, Op, QuotaSettings, RealignSettings, Scenario,
    SegmentDef, SolverSettings, UnitKind,
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
    #[serde(default)]
    segment: Vec<SegmentSpec>,
    #[serde(default)]
    level: Vec<LevelSpec>,
    realign: Option<RealignSpec>,
    #[serde(default)]
    team: team::TeamSection,
    #[serde(default)]
    overlay: Vec<team::OverlaySpec>,
    coverage: Option<team::CoverageSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentSpec {
    name: Spanned<String>,
    #[serde(default)]
    criteria: Vec<CriterionSpec>,
    territories: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CriterionSpec {
    field: Spanned<String>,
    op: Spanned<Op>,
    value: Spanned<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelSpec {
    name: Spanned<String>,
    span: Spanned<(i64, i64)>,
    tolerance_factor: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RealignSpec {
    enabled: Option<bool>,
    move_cost: Option<Spanned<f64>>,
    max_moved_accounts: Option<Spanned<f64>>,
    max_moved_pipeline: Option<Spanned<f64>>,
    keep_late_stage: Option<bool>,
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
    block_size: Option<Spanned<i64>>,
    max_accounts: Option<Spanned<i64>>,
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
    #[serde(default)]
    segment_targets: BTreeMap<String, Spanned<f64>>,
    over_assignment: Option<Spanned<f64>>,
    ramp: Option<Spanned<Vec<f64>>>,
    #[serde(default)]
    experience: BTreeMap<String, Spanned<f64>>,
    period_start: Option<String>,
    period_months: Option<Spanned<i64>>,
    tbh_hire_month: Option<Spanned<i64>>,
    pipeline_weight: Option<Spanned<f64>>,
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
        block_size: src
            .count(&file.plan.block_size, "plan.block_size", 0)?
            .unwrap_or(defaults.block_size),
        exact: None,
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
            let ramp = match &q.ramp {
                None => vec![0.0, 0.25, 0.5, 0.75, 1.0],
                Some(r) if r.get_ref().iter().all(|x| (0.0..=1.0).contains(x)) => {
                    r.get_ref().clone()
                }
                Some(r) => {
                    return Err(InputError::new(
                        src.loc(r, "quota.ramp"),
                        "ramp holds productivity shares between 0 and 1, month 1 first",
                    ));
                }
            };
            let mut segment_targets = BTreeMap::new();
            for (name, v) in &q.segment_targets {
                if !(v.get_ref().is_finite() && *v.get_ref() >= 0.0) {
                    return Err(InputError::new(
                        src.loc(v, "quota.segment_targets"),
                        format!("the target of '{name}' must be an amount of 0 or more"),
                    ));
                }
                segment_targets.insert(name.clone(), *v.get_ref());
            }
            if segment_targets.values().sum::<f64>() > target * (1.0 + 1e-12) {
                return Err(InputError::new(
                    src.loc(&q.target, "quota.segment_targets"),
                    "segment targets add up to more than the company target",
                ));
            }
            let mut experience = BTreeMap::from([
                ("junior".to_string(), 0.9),
                ("mid".to_string(), 1.0),
                ("senior".to_string(), 1.1),
            ]);
            for (level, v) in &q.experience {
                if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) {
                    return Err(InputError::new(
                        src.loc(v, "quota.experience"),
                        format!("the factor for '{level}' must be above 0"),
                    ));
                }
                experience.insert(level.to_ascii_lowercase(), *v.get_ref());
            }
            Some(QuotaSettings {
                target,
                segment_targets,
                over_assignment: over,
                ramp,
                experience,
                period_start: q.period_start.clone(),
                period_months: src
                    .count(&q.period_months, "quota.period_months", 1)?
                    .unwrap_or(12),
                tbh_hire_month: src
                    .count(&q.tbh_hire_month, "quota.tbh_hire_month", 0)?
                    .unwrap_or(3),
                pipeline_weight: share(&src, &q.pipeline_weight, "quota.pipeline_weight")?
                    .unwrap_or(0.0),
            })
        }
    };

    let segments = segments(&src, &file.segment)?;
    let mut levels = Vec::new();
    let depth = file.level.len() as i32;
    for (i, l) in file.level.iter().enumerate() {
        let (a, b) = *l.span.get_ref();
        if a < 1 || b < a {
            return Err(InputError::new(
                src.loc(&l.span, "level.span"),
                format!("span must be [min, max] with 1 ≤ min ≤ max, not [{a}, {b}]"),
            )
            .hint("span = [6, 10] means each node of this level has 6 to 10 children"));
        }
        // Halving per level up keeps room below: a parent at the edge of its band still
        // leaves its children a band-wide window around their own targets.
        let default = 0.5f64.powi(depth - i as i32);
        let factor = l
            .tolerance_factor
            .as_ref()
            .map_or(default, |f| *f.get_ref());
        if !(factor > 0.0 && factor <= 1.0) {
            let loc = l
                .tolerance_factor
                .as_ref()
                .map(|f| src.loc(f, "level.tolerance_factor"));
            return Err(InputError::new(
                loc.unwrap_or_else(|| Location::file(path)),
                format!("tolerance_factor must be above 0 and at most 1, not {factor}"),
            ));
        }
        if levels
            .iter()
            .any(|x: &LevelDef| x.name == *l.name.get_ref())
        {
            return Err(InputError::new(
                src.loc(&l.name, "level.name"),
                format!("level '{}' is defined twice", l.name.get_ref()),
            ));
        }
        levels.push(LevelDef {
            name: l.name.get_ref().clone(),
            span: (a as usize, b as usize),
            tolerance_factor: factor,
        });
    }
    let realign = realign(&src, file.realign.as_ref())?;
    let max_accounts = src.count(&file.plan.max_accounts, "plan.max_accounts", 1)?;
    let owner_role = team::owner_role(&src, &file.team)?;
    let overlays = team::overlays(&src, &file.overlay, &levels, &owner_role)?;
    let coverage = team::coverage(&src, file.coverage.as_ref())?;

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
        segments,
        levels,
        realign,
        max_accounts,
        owner_role,
        overlays,
        coverage,
        overrides: Vec::new(),
    })
}

fn share(src: &Src, v: &Option<Spanned<f64>>, field: &str) -> Result<Option<f64>, InputError> {
    match v {
        None => Ok(None),
        Some(s) if (0.0..=1.0).contains(s.get_ref()) => Ok(Some(*s.get_ref())),
        Some(s) => Err(InputError::new(
            src.loc(s, field),
            format!("{field} is a share between 0 and 1, not {}", s.get_ref()),
        )
        .hint("0.2 means 20%")),
    }
}

fn realign(src: &Src, spec: Option<&RealignSpec>) -> Result<RealignSettings, InputError> {
    let d = RealignSettings::default();
    let Some(r) = spec else { return Ok(d) };
    let move_cost = match &r.move_cost {
        None => d.move_cost,
        Some(c) if c.get_ref().is_finite() && *c.get_ref() >= 0.0 => *c.get_ref(),
        Some(c) => {
            return Err(InputError::new(
                src.loc(c, "realign.move_cost"),
                format!(
                    "move_cost must be a distance of 0 or more, not {}",
                    c.get_ref()
                ),
            ));
        }
    };
    Ok(RealignSettings {
        enabled: r.enabled.unwrap_or(d.enabled),
        move_cost,
        max_moved_accounts: share(src, &r.max_moved_accounts, "realign.max_moved_accounts")?,
        max_moved_pipeline: share(src, &r.max_moved_pipeline, "realign.max_moved_pipeline")?,
        keep_late_stage: r.keep_late_stage.unwrap_or(d.keep_late_stage),
    })
}

fn segments(src: &Src, specs: &[SegmentSpec]) -> Result<Vec<SegmentDef>, InputError> {
    let mut out: Vec<SegmentDef> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let loc = src.loc(&s.name, "segment.name");
        let name = s.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(InputError::new(loc, "a segment needs a name"));
        }
        if out.iter().any(|x| x.name == name) {
            return Err(InputError::new(
                loc,
                format!("segment '{name}' is defined twice"),
            ));
        }
        if s.criteria.is_empty() && i + 1 < specs.len() {
            return Err(InputError::new(
                loc,
                format!("segment '{name}' has no criteria, so it takes every account, but segments follow it"),
            )
            .hint("put the catch-all segment last"));
        }
        let mut criteria = Vec::new();
        for c in &s.criteria {
            let cloc = src.loc(&c.value, "segment.criteria.value");
            let values: Vec<String> = match c.value.get_ref() {
                toml::Value::Array(a) => a.iter().map(scalar).collect::<Option<_>>(),
                v => scalar(v).map(|x| vec![x]),
            }
            .ok_or_else(|| {
                InputError::new(
                    cloc.clone(),
                    "value must be a string, a number or a list of them",
                )
            })?;
            if values.is_empty() {
                return Err(InputError::new(cloc, "the value list is empty"));
            }
            if values.iter().any(|v| v.contains(',')) {
                return Err(InputError::new(
                    cloc,
                    "a segment value contains a comma, which CRM rules read as a list separator",
                )
                .hint("write the values as a TOML list: value = [\"a\", \"b\"]"));
            }
            let op = *c.op.get_ref();
            if op.is_numeric() && (values.len() != 1 || values[0].parse::<f64>().is_err()) {
                return Err(InputError::new(
                    cloc,
                    format!("{op:?} compares with one number, not {values:?}"),
                ));
            }
            criteria.push(Criterion {
                field: c.field.get_ref().trim().to_string(),
                op,
                values,
                location: src.loc(&c.field, "segment.criteria.field"),
            });
        }
        out.push(SegmentDef {
            name,
            criteria,
            territories: src.count(&s.territories, "segment.territories", 1)?,
            location: loc,
        });
    }
    Ok(out)
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
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
