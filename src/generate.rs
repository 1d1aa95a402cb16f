//! Realistic synthetic inputs on real US geography: accounts placed in ZIP codes in
//! proportion to population, an industry mix, log-normal company sizes, propensity,
//! pipeline, and current owners from an earlier, deliberately unbalanced alignment.
//! Pure: returns rows; the CLI writes them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, LogNormal};
use rayon::prelude::*;

use crate::geometry::haversine_km;

/// The bundled geography: US ZCTA centroids with 2010 population (see data/SOURCE.md).
pub const US_ZIPS: &str = include_str!("../data/us_zip_pop.csv");

#[derive(Debug, Clone)]
pub struct Zip {
    pub code: String,
    pub lat: f64,
    pub lon: f64,
    pub population: f64,
    pub state: String,
}

/// Parses the ZIP table (columns zip, lat, lon, population, state, …).
pub fn parse_zips(text: &str) -> Result<Vec<Zip>, String> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let h = r.headers().map_err(|e| e.to_string())?.clone();
    let c = |n: &str| {
        h.iter()
            .position(|x| x == n)
            .ok_or(format!("geography lacks column '{n}'"))
    };
    let (cz, ca, co, cp, cs) = (
        c("zip")?,
        c("lat")?,
        c("lon")?,
        c("population")?,
        c("state")?,
    );
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        let num = |k: usize| {
            rec[k]
                .parse::<f64>()
                .map_err(|_| format!("line {}: bad number '{}'", i + 2, &rec[k]))
        };
        out.push(Zip {
            code: rec[cz].to_string(),
            lat: num(ca)?,
            lon: num(co)?,
            population: num(cp)?,
            state: rec[cs].to_string(),
        });
    }
    Ok(out)
}

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub postal_code: String,
    pub state: String,
    pub industry: &'static str,
    pub employees: u64,
    pub annual_revenue: u64,
    pub propensity: f64,
    pub owner_id: String,
    pub pipeline: u64,
    pub late_stage: bool,
    pub locked: bool,
}

#[derive(Debug, Clone)]
pub struct RepRow {
    pub id: String,
    pub name: String,
    pub segment: &'static str,
    pub tenure_months: u32,
    pub level: &'static str,
    pub status: &'static str,
    pub home_lat: f64,
    pub home_lon: f64,
    /// AE for account owners; overlay roles (SE, SDR, …) otherwise.
    pub role: String,
}

const INDUSTRIES: &[(&str, f64)] = &[
    ("Manufacturing", 0.16),
    ("Healthcare", 0.13),
    ("Retail", 0.12),
    ("Financial Services", 0.10),
    ("Technology", 0.10),
    ("Professional Services", 0.10),
    ("Construction", 0.08),
    ("Education", 0.06),
    ("Transportation", 0.06),
    ("Hospitality", 0.05),
    ("Energy", 0.04),
];
const NAME_A: &[&str] = &[
    "Summit",
    "Pioneer",
    "Harbor",
    "Cedar",
    "Granite",
    "Blue Ridge",
    "Northwind",
    "Riverbend",
    "Keystone",
    "Lakeside",
    "Ironwood",
    "Prairie",
    "Beacon",
    "Redwood",
    "Silverline",
    "Crescent",
    "Evergreen",
    "Frontier",
];
const NAME_B: &[&str] = &[
    "Analytics",
    "Foods",
    "Logistics",
    "Health",
    "Systems",
    "Partners",
    "Builders",
    "Energy",
    "Labs",
    "Supply",
    "Financial",
    "Media",
    "Motors",
    "Clinics",
    "Networks",
    "Outfitters",
];
const NAME_C: &[&str] = &["Inc", "LLC", "Corp", "Group", "Co", "Holdings"];
const FIRST: &[&str] = &[
    "Avery", "Jordan", "Maria", "Wei", "Priya", "Sam", "Diego", "Hannah", "Omar", "Grace", "Luca",
    "Aisha", "Noah", "Elena", "Kenji", "Zoe", "Mateo", "Fatima", "Liam", "Ingrid",
];
const LAST: &[&str] = &[
    "Garcia", "Chen", "Okafor", "Smith", "Patel", "Nguyen", "Kowalski", "Rossi", "Haddad",
    "Johnson", "Silva", "Müller", "Tanaka", "O'Brien", "Dubois", "Larsen",
];

fn pick_weighted(rng: &mut ChaCha8Rng, cumulative: &[f64]) -> usize {
    let total = *cumulative.last().unwrap_or(&1.0);
    let r = rng.random::<f64>() * total;
    cumulative
        .partition_point(|&c| c <= r)
        .min(cumulative.len() - 1)
}

/// Accounts with at least this many employees belong to the Corporate segment (the
/// sample scenario's rule); their owners are Corporate reps.
pub const CORPORATE_EMPLOYEES: u64 = 100;

/// Changes to the team the plan must absorb.
#[derive(Debug, Clone, Default)]
pub struct Staffing {
    /// Reps to be hired: they own nothing yet and get a territory.
    pub tbh: usize,
    /// Reps leaving: their books must be redistributed.
    pub leaving: usize,
    /// Overlay reps per role (e.g. SE 20): they own nothing and cover territories.
    pub overlays: Vec<(String, usize)>,
}

pub fn generate(
    zips: &[Zip],
    n_accounts: usize,
    n_reps: usize,
    seed: u64,
) -> (Vec<AccountRow>, Vec<RepRow>) {
    generate_with(zips, n_accounts, n_reps, seed, Staffing::default())
}

fn person_name(rng: &mut ChaCha8Rng) -> String {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    format!("{first} {}", LAST[rng.random_range(0..LAST.len())])
}

/// Every seventh rep (from the fourth) sells to Corporate accounts when there are seven or more.
fn rep_segment(r: usize, n_reps: usize) -> &'static str {
    if n_reps >= 7 && r % 7 == 3 {
        "Corporate"
    } else {
        "Commercial"
    }
}

pub fn generate_with(
    zips: &[Zip],
    n_accounts: usize,
    n_reps: usize,
    seed: u64,
    staffing: Staffing,
) -> (Vec<AccountRow>, Vec<RepRow>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cum = Vec::with_capacity(zips.len());
    let mut acc = 0.0;
    for z in zips {
        acc += z.population.max(0.0);
        cum.push(acc);
    }
    let ind_cum: Vec<f64> = INDUSTRIES
        .iter()
        .scan(0.0, |s, (_, w)| {
            *s += w;
            Some(*s)
        })
        .collect();

    // Reps: homes where people live; an earlier alignment gave each a random reach, so
    // today's books are unbalanced.
    let mut reps = Vec::with_capacity(n_reps);
    let mut reach = Vec::with_capacity(n_reps);
    for r in 0..n_reps {
        let z = &zips[pick_weighted(&mut rng, &cum)];
        let tenure = if rng.random::<f64>() < 0.12 {
            rng.random_range(0..4)
        } else {
            LogNormal::new(3.3f64, 0.7)
                .map(|d| d.sample(&mut rng))
                .unwrap_or(24.0)
                .min(240.0) as u32
        };
        let level = match tenure {
            0..12 => "junior",
            12..48 => "mid",
            _ => "senior",
        };
        reps.push(RepRow {
            id: format!("R{:04}", r + 1),
            name: person_name(&mut rng),
            segment: rep_segment(r, n_reps),
            tenure_months: tenure,
            level,
            status: "active",
            home_lat: z.lat,
            home_lon: z.lon,
            role: "AE".into(),
        });
        reach.push(rng.random_range(0.8..1.25));
    }
    // Owner of each ZIP, per segment: the rep of that segment with the smallest
    // distance / reach (parallel, per ZIP).
    let owners_of_zip = |segment: &str| -> Vec<u32> {
        let any = reps.iter().any(|r| r.segment == segment);
        zips.par_iter()
            .map(|z| {
                let mut best = (f64::INFINITY, 0u32);
                for (r, rep) in reps.iter().enumerate() {
                    if any && rep.segment != segment {
                        continue;
                    }
                    let d = haversine_km([z.lat, z.lon], [rep.home_lat, rep.home_lon]) / reach[r];
                    if d < best.0 {
                        best = (d, r as u32);
                    }
                }
                best.1
            })
            .collect()
    };
    let commercial_owner = owners_of_zip("Commercial");
    let corporate_owner = owners_of_zip("Corporate");

    // Commercial / mid-market book: enterprise giants are a segment of their own.
    let size = LogNormal::new((30.0f64).ln(), 0.8).expect("valid log-normal");
    let rev_per_head = LogNormal::new((180_000.0f64).ln(), 0.3).expect("valid log-normal");
    let beta = Beta::new(2.0f64, 5.0).expect("valid beta");
    let width = n_accounts.to_string().len().max(6);
    let mut accounts = Vec::with_capacity(n_accounts);
    for i in 0..n_accounts {
        let zi = pick_weighted(&mut rng, &cum);
        let z = &zips[zi];
        let employees = (size.sample(&mut rng).round() as u64).clamp(1, 2_500);
        let revenue =
            ((employees as f64 * rev_per_head.sample(&mut rng)) / 1000.0).round() as u64 * 1000;
        let propensity: f64 = (beta.sample(&mut rng) * 1000.0f64).round() / 1000.0;
        let has_pipe = rng.random::<f64>() < 0.3;
        let pipeline = if has_pipe {
            ((revenue as f64 * rng.random_range(0.002..0.02)) / 100.0).round() as u64 * 100
        } else {
            0
        };
        let late_stage = has_pipe && rng.random::<f64>() < 0.25;
        let ind = INDUSTRIES[pick_weighted(&mut rng, &ind_cum)].0;
        let name = format!(
            "{} {} {}",
            NAME_A[rng.random_range(0..NAME_A.len())],
            NAME_B[rng.random_range(0..NAME_B.len())],
            NAME_C[rng.random_range(0..NAME_C.len())]
        );
        let owner_of_zip = if employees >= CORPORATE_EMPLOYEES {
            &corporate_owner
        } else {
            &commercial_owner
        };
        let locked = rng.random::<f64>() < 0.01;
        let owner = match reps.get(owner_of_zip[zi] as usize) {
            Some(r) => r.id.clone(),
            None => String::new(),
        };
        accounts.push(AccountRow {
            id: format!("A{:0width$}", i + 1),
            name,
            lat: z.lat,
            lon: z.lon,
            postal_code: z.code.clone(),
            state: z.state.clone(),
            industry: ind,
            employees,
            annual_revenue: revenue,
            propensity,
            owner_id: owner,
            pipeline,
            late_stage,
            locked,
        });
    }
    // The last active reps leave (their books stay theirs until the plan moves them);
    // new hires own nothing yet.
    let leaving = staffing.leaving.min(reps.len().saturating_sub(1));
    let n = reps.len();
    for r in reps.iter_mut().skip(n - leaving) {
        r.status = "leaving";
    }
    for t in 0..staffing.tbh {
        let z = &zips[pick_weighted(&mut rng, &cum)];
        reps.push(RepRow {
            id: format!("R{:04}", n + t + 1),
            name: format!("To be hired {}", t + 1),
            segment: "Commercial",
            tenure_months: 0,
            level: "junior",
            status: "tbh",
            home_lat: z.lat,
            home_lon: z.lon,
            role: "AE".into(),
        });
    }
    // Overlay reps last, so accounts and owners are the same with or without them; their
    // segments follow the owners' pattern.
    for (role, count) in &staffing.overlays {
        for i in 0..*count {
            let z = &zips[pick_weighted(&mut rng, &cum)];
            let tenure = rng.random_range(6..120u32);
            reps.push(RepRow {
                id: format!("{role}{:03}", i + 1),
                name: person_name(&mut rng),
                segment: rep_segment(i, *count),
                tenure_months: tenure,
                level: if tenure < 48 { "mid" } else { "senior" },
                status: "active",
                home_lat: z.lat,
                home_lon: z.lon,
                role: role.clone(),
            });
        }
    }
    (accounts, reps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_population_weighted() {
        let zips = parse_zips(US_ZIPS).unwrap();
        assert!(zips.len() > 30_000);
        let (a, r) = generate(&zips, 2000, 10, 7);
        let (b, _) = generate(&zips, 2000, 10, 7);
        assert_eq!(a.len(), 2000);
        assert_eq!(r.len(), 10);
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.postal_code == y.postal_code && x.employees == y.employees)
        );
        // California holds about 12% of the population; accept a wide margin.
        let ca = a.iter().filter(|x| x.state == "CA").count() as f64 / 2000.0;
        assert!((0.08..0.17).contains(&ca), "CA share {ca}");
        assert!(
            a.iter()
                .all(|x| (0.0..=1.0).contains(&x.propensity) && x.employees >= 1)
        );
    }
}
