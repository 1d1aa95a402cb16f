//! Segments: named criteria over account fields, evaluated in file order, first match
//! wins. The same semantics as the CRM rules they compile to: a value list is an OR,
//! criteria of one segment combine with AND, text compares case-insensitively.

use crate::error::InputError;
use crate::model::Accounts;
use crate::model::scenario::{Criterion, Op, Scenario, SegmentDef};

/// The segment every account falls in when the scenario defines none.
pub const DEFAULT_SEGMENT: &str = "All";

/// An account field a criterion reads: text, or a number where the column is numeric.
enum Field<'a> {
    Text(&'a [String]),
    Number(Vec<f64>),
    Raw(&'a [String]),
}

fn field<'a>(accounts: &'a Accounts, c: &Criterion) -> Result<Field<'a>, InputError> {
    let text = match c.field.as_str() {
        "account_id" => Some(&accounts.id),
        "name" => Some(&accounts.name),
        "postal_code" => Some(&accounts.postal_code),
        "country" => Some(&accounts.country),
        "state" => Some(&accounts.state),
        "industry" => Some(&accounts.industry),
        "owner_id" => Some(&accounts.owner_id),
        _ => None,
    };
    if let Some(t) = text {
        if c.op.is_numeric() {
            return Err(InputError::new(
                c.location.clone(),
                format!("'{}' is text; {:?} needs a numeric column", c.field, c.op),
            ));
        }
        return Ok(Field::Text(t));
    }
    if let Some(col) = accounts.numeric.get(&c.field) {
        return Ok(Field::Number(col.values.clone()));
    }
    if let Some((_, raw)) = accounts.extra.get(&c.field) {
        if c.op.is_numeric() {
            let col = accounts.numeric_column(&c.field)?;
            return Ok(Field::Number(col.values));
        }
        return Ok(Field::Raw(raw));
    }
    Err(InputError::new(
        c.location.clone(),
        format!(
            "segment criterion reads '{}', which accounts.csv does not have",
            c.field
        ),
    )
    .hint(format!(
        "columns in the file: {}",
        accounts.headers.join(", ")
    )))
}

fn text_matches(op: Op, values: &[String], cell: &str) -> bool {
    let cell = cell.trim();
    match op {
        Op::Equals => values.iter().any(|v| v.eq_ignore_ascii_case(cell)),
        Op::NotEqual => !values.iter().any(|v| v.eq_ignore_ascii_case(cell)),
        Op::StartsWith => values.iter().any(|v| {
            cell.len() >= v.len()
                && cell.is_char_boundary(v.len())
                && cell[..v.len()].eq_ignore_ascii_case(v)
        }),
        _ => false,
    }
}

fn number_matches(op: Op, values: &[String], x: f64) -> bool {
    let parsed = || values.iter().filter_map(|v| v.parse::<f64>().ok());
    let first = parsed().next().unwrap_or(f64::NAN);
    match op {
        Op::LessThan => x < first,
        Op::GreaterThan => x > first,
        Op::LessOrEqual => x <= first,
        Op::GreaterOrEqual => x >= first,
        Op::Equals => parsed().any(|v| v == x),
        Op::NotEqual => !parsed().any(|v| v == x),
        Op::StartsWith => text_matches(op, values, &x.to_string()),
    }
}

/// Per segment and criterion, whether each account matches.
fn criterion_matches(accounts: &Accounts, c: &Criterion) -> Result<Vec<bool>, InputError> {
    Ok(match field(accounts, c)? {
        Field::Text(t) | Field::Raw(t) => {
            t.iter().map(|x| text_matches(c.op, &c.values, x)).collect()
        }
        Field::Number(v) => v
            .iter()
            .map(|&x| number_matches(c.op, &c.values, x))
            .collect(),
    })
}

/// The segments a plan uses: the scenario's, or one catch-all.
pub fn definitions(scenario: &Scenario) -> Vec<SegmentDef> {
    if scenario.segments.is_empty() {
        vec![SegmentDef {
            name: DEFAULT_SEGMENT.into(),
            criteria: Vec::new(),
            territories: scenario.territories,
            location: scenario.territories_location.clone(),
        }]
    } else {
        scenario.segments.clone()
    }
}

/// The segment of every account (index into `defs`). An account no segment takes is an
/// error naming it: nothing is dropped.
pub fn classify(accounts: &Accounts, defs: &[SegmentDef]) -> Result<Vec<u16>, InputError> {
    let n = accounts.len();
    let mut seg = vec![u16::MAX; n];
    for (s, def) in defs.iter().enumerate() {
        let mut hit = vec![true; n];
        for c in &def.criteria {
            for (h, m) in hit.iter_mut().zip(criterion_matches(accounts, c)?) {
                *h &= m;
            }
        }
        for i in 0..n {
            if seg[i] == u16::MAX && hit[i] {
                seg[i] = s as u16;
            }
        }
    }
    if let Some(i) = seg.iter().position(|&s| s == u16::MAX) {
        let left = seg.iter().filter(|&&s| s == u16::MAX).count();
        return Err(InputError::new(
            crate::error::Location::at(&accounts.source, accounts.line[i], 1),
            format!(
                "account '{}' falls in no segment ({left} accounts in all)",
                accounts.id[i]
            ),
        )
        .hint("add a last [[segment]] without criteria to take the rest"));
    }
    Ok(seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_or_and_text_ignores_case() {
        let v = vec!["Healthcare".to_string(), "Pharma".to_string()];
        assert!(text_matches(Op::Equals, &v, "healthcare"));
        assert!(!text_matches(Op::Equals, &v, "Retail"));
        assert!(text_matches(Op::NotEqual, &v, "Retail"));
        assert!(text_matches(Op::StartsWith, &["94".to_string()], "94105"));
        assert!(!text_matches(
            Op::StartsWith,
            &["941050".to_string()],
            "94105"
        ));
        assert!(number_matches(
            Op::GreaterOrEqual,
            &["100".to_string()],
            100.0
        ));
        assert!(!number_matches(
            Op::GreaterThan,
            &["100".to_string()],
            100.0
        ));
    }
}
