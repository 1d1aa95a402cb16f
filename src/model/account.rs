//! Accounts in columnar form: a million rows stay compact and metric columns are slices.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{InputError, Location};

/// Columns with a meaning of their own (INTERFACE.md); every other column is kept raw.
pub const KNOWN_COLUMNS: &[&str] = &[
    "account_id",
    "name",
    "lat",
    "lon",
    "x",
    "y",
    "postal_code",
    "country",
    "state",
    "industry",
    "employees",
    "annual_revenue",
    "propensity",
    "owner_id",
    "pipeline",
    "late_stage",
    "locked",
];

/// Known numeric columns, validated on read (non-negative; propensity within 0..1).
pub const NUMERIC_COLUMNS: &[&str] = &["employees", "annual_revenue", "propensity", "pipeline"];

#[derive(Debug, Clone, Default)]
pub struct NumericColumn {
    pub values: Vec<f64>,
    /// Blank cells, counted as 0 and reported in summary.json.
    pub blanks: usize,
    /// Rows (0-based) whose cell was blank, ascending: a CRM rule never matches them.
    pub blank_rows: Vec<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub source: PathBuf,
    pub headers: Vec<String>,
    /// Line of each account in the source file (1-based, header is line 1).
    pub line: Vec<u64>,
    pub id: Vec<String>,
    pub name: Vec<String>,
    /// `[lat, lon]` or `[x, y]`, as the scenario's `coordinates` says.
    pub pos: Vec<[f64; 2]>,
    pub postal_code: Vec<String>,
    pub country: Vec<String>,
    pub state: Vec<String>,
    pub industry: Vec<String>,
    pub owner_id: Vec<String>,
    pub late_stage: Vec<bool>,
    pub locked: Vec<bool>,
    /// The known numeric columns that the file has.
    pub numeric: BTreeMap<String, NumericColumn>,
    /// Every other column, raw, with its 1-based column number.
    pub extra: BTreeMap<String, (usize, Vec<String>)>,
}

impl Accounts {
    pub fn len(&self) -> usize {
        self.id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }

    /// A numeric column by name: a known one, or an extra column parsed now, with the
    /// first bad cell reported by line and column. Blank cells count as 0.
    pub fn numeric_column(&self, name: &str) -> Result<NumericColumn, InputError> {
        if let Some(col) = self.numeric.get(name) {
            return Ok(col.clone());
        }
        let Some((column, raw)) = self.extra.get(name) else {
            return Err(InputError::new(
                Location::file(&self.source),
                format!("there is no numeric column '{name}'"),
            )
            .hint(format!("columns in the file: {}", self.headers.join(", "))));
        };
        let mut out = NumericColumn {
            values: Vec::with_capacity(raw.len()),
            blanks: 0,
            blank_rows: Vec::new(),
        };
        for (i, cell) in raw.iter().enumerate() {
            let cell = cell.trim();
            if cell.is_empty() {
                out.blanks += 1;
                out.blank_rows.push(i as u32);
                out.values.push(0.0);
                continue;
            }
            match parse_number(cell) {
                Some(v) => out.values.push(v),
                None => {
                    return Err(InputError::new(
                        Location::at(&self.source, self.line[i], *column).field(name),
                        format!("'{cell}' is not a finite number"),
                    )
                    .hint("metric columns must hold plain numbers such as 1250 or 0.35"));
                }
            }
        }
        Ok(out)
    }
}

/// Parses a finite number; thousands separators and currency signs are not guessed at.
pub fn parse_number(text: &str) -> Option<f64> {
    let v: f64 = text.trim().parse().ok()?;
    v.is_finite().then_some(v)
}
