//! Reps (sellers) from reps.csv.

use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RepStatus {
    #[default]
    Active,
    /// To be hired: gets a territory now, staffed later.
    Tbh,
    /// Leaves before the plan starts: gets no territory.
    Leaving,
}

impl RepStatus {
    pub fn parse(text: &str) -> Option<RepStatus> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "active" => Some(RepStatus::Active),
            "tbh" => Some(RepStatus::Tbh),
            "leaving" => Some(RepStatus::Leaving),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Rep {
    pub line: u64,
    pub id: String,
    pub name: String,
    pub segment: String,
    pub tenure_months: Option<f64>,
    pub level: String,
    pub status: RepStatus,
    pub home: Option<[f64; 2]>,
    pub max_accounts: Option<u64>,
    /// reps.csv `role`, as written (blank for the owning role).
    pub role: String,
}

#[derive(Debug, Clone, Default)]
pub struct Reps {
    pub source: PathBuf,
    pub headers: Vec<String>,
    /// Reps of the owning role: one territory each.
    pub reps: Vec<Rep>,
    /// Reps of overlay roles (SE, SDR, …): they cover territories owned by others.
    pub overlay: Vec<Rep>,
}

impl Reps {
    /// Reps who get a territory in this plan (active and to-be-hired).
    pub fn staffed(&self) -> impl Iterator<Item = &Rep> {
        self.reps.iter().filter(|r| r.status != RepStatus::Leaving)
    }

    /// 1-based column of a header, for error locations.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name).map(|c| c + 1)
    }

    /// An owning rep by id: a scan, for a few lookups (see [`Reps::by_id`]).
    pub fn find(&self, id: &str) -> Option<&Rep> {
        self.reps.iter().find(|r| r.id == id)
    }

    /// Owning reps by id, for a lookup per account (a scan each was quadratic: 1M accounts
    /// × 2,000 reps).
    pub fn by_id(&self) -> RepIndex<'_> {
        self.reps.iter().map(|r| (r.id.as_str(), r)).collect()
    }
}

/// Owning reps by id ([`Reps::by_id`]); reps.csv rejects a repeated id.
pub type RepIndex<'a> = rustc_hash::FxHashMap<&'a str, &'a Rep>;
