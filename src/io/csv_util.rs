//! Shared CSV reading: strict shape, UTF-8 checked per cell, positions for every error.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, InputError, Location};

/// At most this many problems are collected before reading stops.
pub const MAX_ERRORS: usize = 25;

pub struct Table {
    /// Trimmed header names as written.
    pub headers: Vec<String>,
    /// Lower-cased header name → column index (0-based).
    pub index: HashMap<String, usize>,
    /// (line, cells): one buffer per row, not one string per cell (a 1M-row file has
    /// 15M cells).
    pub rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    pub fn col(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// Collects input problems; too many at once are cut short with a count.
#[derive(Default)]
pub struct Problems(pub Vec<InputError>);

impl Problems {
    pub fn push(&mut self, e: InputError) {
        self.0.push(e);
    }

    pub fn full(&self) -> bool {
        self.0.len() >= MAX_ERRORS
    }

    pub fn into_result(mut self) -> Result<(), Error> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(Error::Input(self.0.remove(0))),
            _ => Err(Error::Inputs(self.0)),
        }
    }
}

pub fn read_table(path: &Path, what: &str) -> Result<Table, Error> {
    let file = std::fs::File::open(path).map_err(|e| {
        InputError::new(
            Location::file(path),
            format!("cannot open the {what} file: {e}"),
        )
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let header_record = reader
        .byte_headers()
        .map_err(|e| csv_error(path, e))?
        .clone();
    if header_record.is_empty() || (header_record.len() == 1 && header_record[0].is_empty()) {
        return Err(
            InputError::new(Location::file(path), format!("the {what} file is empty"))
                .hint("the first line must be a header row naming the columns")
                .into(),
        );
    }
    let mut headers = Vec::with_capacity(header_record.len());
    let mut index = HashMap::new();
    for (i, raw) in header_record.iter().enumerate() {
        let text = std::str::from_utf8(raw).map_err(|_| {
            InputError::new(Location::at(path, 1, i + 1), "header is not valid UTF-8")
                .hint("save the file as UTF-8")
        })?;
        let name = text.trim().trim_start_matches('\u{feff}').to_string();
        if name.is_empty() {
            return Err(
                InputError::new(Location::at(path, 1, i + 1), "empty column name")
                    .hint("every column needs a name in the header row")
                    .into(),
            );
        }
        if index.insert(name.to_lowercase(), i).is_some() {
            return Err(InputError::new(
                Location::at(path, 1, i + 1),
                format!("column '{name}' appears twice in the header"),
            )
            .into());
        }
        headers.push(name);
    }

    let mut rows = Vec::new();
    let mut problems = Problems::default();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                problems.push(csv_error(path, e));
                if problems.full() {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(0, |p| p.line());
        match csv::StringRecord::from_byte_record(record.clone()) {
            Ok(cells) => rows.push((line, cells)),
            Err(_) => {
                // Every bad cell of the row, not only the first.
                for (i, raw) in record.iter().enumerate() {
                    if std::str::from_utf8(raw).is_err() {
                        problems.push(
                            InputError::new(
                                Location::at(path, line, i + 1).field(&headers[i]),
                                "cell is not valid UTF-8",
                            )
                            .hint("export the file as UTF-8 (in Excel: 'CSV UTF-8')"),
                        );
                    }
                }
            }
        }
        if problems.full() {
            break;
        }
    }
    problems.into_result()?;
    Ok(Table {
        headers,
        index,
        rows,
    })
}

fn csv_error(path: &Path, e: csv::Error) -> InputError {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => InputError::new(
            Location::at(path, line, (*len as usize).min(*expected_len as usize) + 1),
            format!("row has {len} fields but the header has {expected_len}"),
        )
        .hint("a field with a comma or line break must be quoted"),
        _ => InputError::new(
            Location::at(path, line.max(1), 1),
            format!("unreadable CSV: {e}"),
        ),
    }
}

pub fn parse_bool(text: &str) -> Option<bool> {
    let t = text.trim();
    let is = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
    if is(&["", "false", "0", "no", "n", "f"]) {
        Some(false)
    } else if is(&["true", "1", "yes", "y", "t"]) {
        Some(true)
    } else {
        None
    }
}
