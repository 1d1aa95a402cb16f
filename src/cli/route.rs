//! `terraplan route`: routes accounts with an exported rules.json, the way the CRM will
//! (e.g. new accounts mid-year). Writes account, territory and how it got there.

use std::path::Path;

use terraplan::Error;
use terraplan::error::{InputError, Location};
use terraplan::io::csv_util::read_table;
use terraplan::io::output::safe_cell;
use terraplan::rules::RuleSet;
use terraplan::rules::eval::Evaluator;

use super::RouteArgs;

pub fn run(a: RouteArgs) -> anyhow::Result<u8> {
    let text = std::fs::read_to_string(&a.rules).map_err(|e| Error::io("read", &a.rules, e))?;
    let set: RuleSet = serde_json::from_str(&text).map_err(|e| {
        Error::from(InputError::new(
            Location::at(&a.rules, e.line() as u64, e.column()),
            format!("not a terraplan rules.json: {e}"),
        ))
    })?;
    let ev = Evaluator::new(&set)
        .map_err(|e| Error::from(InputError::new(Location::file(&a.rules), e)))?;
    let table = read_table(&a.accounts, "accounts")?;
    let Some(id_col) = table.col("account_id") else {
        return Err(Error::from(
            InputError::new(
                Location::at(&a.accounts, 1, 1),
                "required column 'account_id' is missing",
            )
            .hint(format!("the header has: {}", table.headers.join(", "))),
        )
        .into());
    };
    // The rules' fields, read from the file's columns of the same name (blank if absent).
    let cols: Vec<Option<usize>> = ev.fields.iter().map(|f| table.col(f)).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "account_id",
        "territory_id",
        "territory_name",
        "rep_id",
        "status",
    ])?;
    let (mut ok, mut unrouted, mut ambiguous) = (0usize, 0usize, 0usize);
    for (_, row) in &table.rows {
        let values: Vec<Option<&str>> = cols.iter().map(|c| c.map(|c| &row[c])).collect();
        let id = row[id_col].trim();
        let got = ev.route(id, &values);
        let (tid, name, rep, status) = match got.as_slice() {
            [one] => {
                ok += 1;
                let n = &set.nodes[*one];
                (
                    n.id.clone(),
                    n.name.clone(),
                    n.rep_id.clone().unwrap_or_default(),
                    "routed",
                )
            }
            [] => {
                unrouted += 1;
                (String::new(), String::new(), String::new(), "unrouted")
            }
            many => {
                ambiguous += 1;
                let ids: Vec<&str> = many.iter().map(|&g| set.nodes[g].id.as_str()).collect();
                (
                    ids.join(";"),
                    String::new(),
                    String::new(),
                    "several territories",
                )
            }
        };
        w.write_record([
            safe_cell(id).as_ref(),
            &tid,
            safe_cell(&name).as_ref(),
            safe_cell(&rep).as_ref(),
            status,
        ])?;
    }
    let bytes = w.into_inner()?;
    match &a.out {
        Some(p) => write_file(p, &bytes)?,
        None => print!("{}", String::from_utf8_lossy(&bytes)),
    }
    eprintln!(
        "routed {ok} of {} accounts; {unrouted} match no territory, {ambiguous} match several",
        table.rows.len()
    );
    Ok(if unrouted + ambiguous == 0 { 0 } else { 1 })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("rename into place", path, e))
}
