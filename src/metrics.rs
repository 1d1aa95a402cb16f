//! Balance metrics and the objective weight, per account. A metric name resolves to a
//! `[metrics]` formula, a built-in (accounts, potential, workload) or a numeric column.
//! Both the planner and the checker evaluate metrics through this one definition.

use ndarray::Array2;

use crate::error::{InputError, Location};
use crate::expr::Expr;
use crate::model::{Accounts, Scenario};

#[derive(Debug, Clone)]
pub struct AccountMetrics {
    pub names: Vec<String>,
    pub tolerances: Vec<f64>,
    /// The formula each metric was computed with, for the summary.
    pub formulas: Vec<String>,
    /// accounts × balance metrics.
    pub values: Array2<f64>,
    pub weight_name: String,
    pub weight_formula: String,
    pub weight: Vec<f64>,
    /// Blank cells counted as 0, per column read.
    pub blanks: Vec<(String, usize)>,
}

/// The balance list the plan uses: the scenario's, or accounts at ±10% when it names none.
pub fn balance_list(scenario: &Scenario) -> Vec<(String, f64, Location)> {
    if scenario.balance.is_empty() {
        vec![("accounts".into(), 0.10, Location::file(&scenario.source))]
    } else {
        scenario
            .balance
            .iter()
            .map(|b| (b.metric.clone(), b.tolerance, b.location.clone()))
            .collect()
    }
}

pub fn evaluate(accounts: &Accounts, scenario: &Scenario) -> Result<AccountMetrics, InputError> {
    let balance = balance_list(scenario);
    let n = accounts.len();
    let mut values = Array2::zeros((n, balance.len()));
    let mut names = Vec::new();
    let mut formulas = Vec::new();
    let mut blanks: Vec<(String, usize)> = Vec::new();
    for (j, (name, _, loc)) in balance.iter().enumerate() {
        let (expr, def_loc) = definition(name, accounts, scenario, loc)?;
        let col = eval_expr(&expr, name, accounts, &def_loc, &mut blanks)?;
        values.column_mut(j).assign(&ndarray::Array1::from(col));
        names.push(name.clone());
        formulas.push(expr.to_string());
    }
    let (wexpr, wloc) = definition(
        &scenario.weight,
        accounts,
        scenario,
        &scenario.weight_location,
    )?;
    let weight = eval_expr(&wexpr, &scenario.weight, accounts, &wloc, &mut blanks)?;
    Ok(AccountMetrics {
        names,
        tolerances: balance.iter().map(|b| b.1).collect(),
        formulas,
        values,
        weight_name: scenario.weight.clone(),
        weight_formula: wexpr.to_string(),
        weight,
        blanks,
    })
}

fn definition(
    name: &str,
    accounts: &Accounts,
    scenario: &Scenario,
    used_at: &Location,
) -> Result<(Expr, Location), InputError> {
    if let Some((expr, loc)) = scenario.metrics.get(name) {
        return Ok((expr.clone(), loc.clone()));
    }
    let has = |c: &str| accounts.has_column(c);
    let formula = match name {
        "accounts" => "1",
        "potential" if has("annual_revenue") && has("propensity") => "annual_revenue * propensity",
        "potential" if has("annual_revenue") => "annual_revenue",
        "potential" if has("employees") && has("propensity") => "employees * propensity",
        "potential" if has("employees") => "employees",
        "potential" => "1",
        "workload" if has("employees") => "1 + ln1p(employees) / 4",
        "workload" => "1",
        col if has(col) => col,
        other => {
            return Err(InputError::new(
                used_at.clone(),
                format!("metric '{other}' is neither a built-in nor a column of the accounts file"),
            )
            .hint(format!(
                "built-ins: accounts, potential, workload; or define it under [metrics]; columns: {}",
                accounts.headers.join(", ")
            )));
        }
    };
    let expr = Expr::parse(formula).map_err(|e| InputError::new(used_at.clone(), e.to_string()))?;
    Ok((expr, used_at.clone()))
}

fn eval_expr(
    expr: &Expr,
    name: &str,
    accounts: &Accounts,
    loc: &Location,
    blanks: &mut Vec<(String, usize)>,
) -> Result<Vec<f64>, InputError> {
    let cols = expr.columns();
    let mut data = Vec::with_capacity(cols.len());
    for c in &cols {
        let col = accounts.numeric_column(c).map_err(|e| {
            if accounts.has_column(c) {
                e
            } else {
                InputError::new(
                    loc.clone(),
                    format!("metric '{name}' reads column '{c}', which the accounts file lacks"),
                )
                .hint(format!("columns: {}", accounts.headers.join(", ")))
            }
        })?;
        if col.blanks > 0 && !blanks.iter().any(|(n, _)| n == c) {
            blanks.push((c.clone(), col.blanks));
        }
        data.push(col.values);
    }
    let mut out = Vec::with_capacity(accounts.len());
    for i in 0..accounts.len() {
        let v = expr.eval(&cols, &|k| data[k][i]);
        if !v.is_finite() || v < 0.0 {
            return Err(InputError::new(
                Location::at(&accounts.source, accounts.line[i], 1).field(name),
                format!(
                    "metric '{name}' = {expr} is {v} for account '{}'",
                    accounts.id[i]
                ),
            )
            .hint(format!(
                "metrics must be finite and non-negative; check the formula at {loc}"
            )));
        }
        out.push(v);
    }
    Ok(out)
}

/// One metric by name (a formula, a built-in or a column) for every account.
pub fn evaluate_one(
    name: &str,
    accounts: &Accounts,
    scenario: &Scenario,
) -> Result<Vec<f64>, InputError> {
    evaluate_at(
        name,
        accounts,
        scenario,
        &Location::file(&scenario.source).field(name),
    )
}

/// As [`evaluate_one`], with errors located where the scenario names the metric.
pub fn evaluate_at(
    name: &str,
    accounts: &Accounts,
    scenario: &Scenario,
    at: &Location,
) -> Result<Vec<f64>, InputError> {
    let (expr, loc) = definition(name, accounts, scenario, at)?;
    eval_expr(&expr, name, accounts, &loc, &mut Vec::new())
}
