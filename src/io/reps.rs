//! reps.csv → [`Reps`].

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, InputError, Location};
use crate::io::csv_util::{Problems, read_table};
use crate::model::account::parse_number;
use crate::model::{Accounts, Rep, RepStatus, Reps, Scenario};

pub fn read_reps(path: &Path) -> Result<Reps, Error> {
    let table = read_table(path, "reps")?;
    let Some(id_col) = table.col("rep_id") else {
        return Err(InputError::new(
            Location::at(path, 1, 1),
            "required column 'rep_id' is missing",
        )
        .hint(format!("the header has: {}", table.headers.join(", ")))
        .into());
    };
    if table.rows.is_empty() {
        return Err(
            InputError::new(Location::file(path), "the file has a header but no reps").into(),
        );
    }
    let mut problems = Problems::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut reps = Vec::with_capacity(table.rows.len());
    for (line, row) in &table.rows {
        let at = |c: usize| Location::at(path, *line, c + 1).field(&table.headers[c]);
        let text = |name: &str| {
            table
                .col(name)
                .map(|c| row[c].trim().to_string())
                .unwrap_or_default()
        };
        let num = |name: &str, problems: &mut Problems| -> Option<f64> {
            let c = table.col(name)?;
            let cell = row[c].trim();
            if cell.is_empty() {
                return None;
            }
            match parse_number(cell) {
                Some(v) if v >= 0.0 || name.starts_with("home_") => Some(v),
                _ => {
                    problems.push(InputError::new(
                        at(c),
                        format!("'{cell}' is not a valid {name}"),
                    ));
                    None
                }
            }
        };
        let id = row[id_col].trim().to_string();
        if id.is_empty() {
            problems.push(InputError::new(at(id_col), "rep_id is empty"));
        } else if let Some(first) = seen.insert(id.clone(), *line) {
            problems.push(InputError::new(
                at(id_col),
                format!("rep_id '{id}' is used again (first on line {first})"),
            ));
        }
        let status = match RepStatus::parse(&text("status")) {
            Some(s) => s,
            None => {
                let c = table.col("status").unwrap_or(0);
                problems.push(
                    InputError::new(at(c), format!("unknown status '{}'", text("status")))
                        .hint("status is active, tbh (to be hired) or leaving"),
                );
                RepStatus::Active
            }
        };
        let home = match (
            num("home_lat", &mut problems),
            num("home_lon", &mut problems),
        ) {
            (Some(a), Some(b)) => Some([a, b]),
            _ => None,
        };
        reps.push(Rep {
            line: *line,
            id,
            name: text("name"),
            segment: text("segment"),
            tenure_months: num("tenure_months", &mut problems),
            level: text("level"),
            status,
            home,
            max_accounts: num("max_accounts", &mut problems).map(|v| v as u64),
            role: text("role"),
        });
        if problems.full() {
            break;
        }
    }
    problems.into_result()?;
    Ok(Reps {
        source: path.to_path_buf(),
        headers: table.headers.clone(),
        reps,
        overlay: Vec::new(),
    })
}

/// reps.csv as a plan uses it: reps of the owning role (blank role included) own
/// territories, the others are overlays; every `owner_id` must name an owning rep.
pub fn load_reps(path: &Path, accounts: &Accounts, scenario: &Scenario) -> Result<Reps, Error> {
    let mut reps = read_reps(path)?;
    let owner = scenario.owner_role.as_str();
    let (own, overlay): (Vec<Rep>, Vec<Rep>) = std::mem::take(&mut reps.reps)
        .into_iter()
        .partition(|r| r.role.is_empty() || r.role.eq_ignore_ascii_case(owner));
    reps.reps = own;
    reps.overlay = overlay;
    check_owners(accounts, &reps)?;
    Ok(reps)
}

/// Every `owner_id` must name a rep in reps.csv (a departed owner is listed as `leaving`).
pub fn check_owners(accounts: &Accounts, reps: &Reps) -> Result<(), Error> {
    let Some(col) = accounts
        .headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case("owner_id"))
    else {
        return Ok(());
    };
    let known: std::collections::HashSet<&str> = reps.reps.iter().map(|r| r.id.as_str()).collect();
    let overlay: HashMap<&str, &str> = reps
        .overlay
        .iter()
        .map(|r| (r.id.as_str(), r.role.as_str()))
        .collect();
    let mut problems = Problems::default();
    for (i, owner) in accounts.owner_id.iter().enumerate() {
        if !owner.is_empty() && !known.contains(owner.as_str()) {
            let at = Location::at(&accounts.source, accounts.line[i], col + 1).field("owner_id");
            problems.push(match overlay.get(owner.as_str()) {
                Some(role) => InputError::new(
                    at,
                    format!("owner '{owner}' has role {role} in {}, not an account owner", reps.source.display()),
                )
                .hint("accounts are owned by reps of the owning role (scenario team.owner_role); overlay reps cover territories"),
                None => InputError::new(
                    at,
                    format!("owner '{owner}' is not in {}", reps.source.display()),
                )
                .hint("add the rep to reps.csv (status = leaving if they have left)"),
            });
            if problems.full() {
                break;
            }
        }
    }
    problems.into_result()
}
