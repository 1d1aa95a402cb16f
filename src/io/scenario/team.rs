//! `[team]`, `[[overlay]]` and `[coverage]`: who owns territories, the overlay roles that
//! cover them, and how pipeline coverage is judged.

use serde::Deserialize;
use toml::Spanned;

use super::Src;
use crate::error::InputError;
use crate::model::scenario::{CoverageSettings, LevelDef, OverlayDef};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct TeamSection {
    owner_role: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OverlaySpec {
    role: Spanned<String>,
    within: Option<Spanned<String>>,
    territories_per_rep: Option<Spanned<f64>>,
    reps_per_node: Option<Spanned<i64>>,
    load: Option<Spanned<String>>,
    max_load: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CoverageSection {
    /// [red below, green from]: pipeline / quota.
    thresholds: Spanned<(f64, f64)>,
}

pub(super) fn owner_role(src: &Src, team: &TeamSection) -> Result<String, InputError> {
    match &team.owner_role {
        None => Ok("AE".into()),
        Some(r) if !r.get_ref().trim().is_empty() => Ok(r.get_ref().trim().to_string()),
        Some(r) => Err(InputError::new(
            src.loc(r, "team.owner_role"),
            "owner_role must not be empty",
        )),
    }
}

pub(super) fn overlays(
    src: &Src,
    specs: &[OverlaySpec],
    levels: &[LevelDef],
    owner_role: &str,
) -> Result<Vec<OverlayDef>, InputError> {
    let mut out: Vec<OverlayDef> = Vec::new();
    for o in specs {
        let role = o.role.get_ref().trim().to_string();
        let location = src.loc(&o.role, "overlay.role");
        if role.is_empty() || role.eq_ignore_ascii_case(owner_role) {
            return Err(InputError::new(
                location,
                format!(
                    "overlay role '{role}' must be named and differ from the owning role '{owner_role}'"
                ),
            ));
        }
        if out.iter().any(|x| x.role.eq_ignore_ascii_case(&role)) {
            return Err(InputError::new(
                location,
                format!("overlay role '{role}' is defined twice"),
            ));
        }
        // The lowest level above the territories by default (the segment without levels).
        let within = match &o.within {
            None => levels
                .last()
                .map_or_else(|| "segment".to_string(), |l| l.name.clone()),
            Some(w) => {
                let name = w.get_ref().trim();
                if name.eq_ignore_ascii_case("segment") {
                    "segment".to_string()
                } else if let Some(l) = levels.iter().find(|l| l.name.eq_ignore_ascii_case(name)) {
                    l.name.clone()
                } else {
                    let names: Vec<&str> = levels.iter().map(|l| l.name.as_str()).collect();
                    return Err(InputError::new(
                        src.loc(w, "overlay.within"),
                        format!("'{name}' is not a level of the scenario"),
                    )
                    .hint(format!(
                        "within is \"segment\" or one of the [[level]] names: {}",
                        names.join(", ")
                    )));
                }
            }
        };
        let territories_per_rep = match &o.territories_per_rep {
            None => None,
            Some(r) if r.get_ref().is_finite() && *r.get_ref() >= 1.0 => Some(*r.get_ref()),
            Some(r) => {
                return Err(InputError::new(
                    src.loc(r, "overlay.territories_per_rep"),
                    format!("territories_per_rep must be 1 or more, not {}", r.get_ref()),
                )
                .hint("territories_per_rep = 4 means one overlay rep per four territories"));
            }
        };
        let reps_per_node = src.count(&o.reps_per_node, "overlay.reps_per_node", 1)?;
        if let (Some(_), Some(r)) = (territories_per_rep, &o.reps_per_node) {
            return Err(InputError::new(
                src.loc(r, "overlay.reps_per_node"),
                "give territories_per_rep or reps_per_node, not both",
            ));
        }
        let max_load = match &o.max_load {
            None => None,
            Some(m) if m.get_ref().is_finite() && *m.get_ref() > 0.0 => Some(*m.get_ref()),
            Some(m) => {
                return Err(InputError::new(
                    src.loc(m, "overlay.max_load"),
                    format!("max_load must be above 0, not {}", m.get_ref()),
                ));
            }
        };
        let (load, location) = match &o.load {
            Some(l) => (l.get_ref().trim().to_string(), src.loc(l, "overlay.load")),
            None => ("accounts".to_string(), location),
        };
        out.push(OverlayDef {
            role,
            within,
            territories_per_rep,
            reps_per_node,
            load,
            max_load,
            location,
        });
    }
    Ok(out)
}

pub(super) fn coverage(
    src: &Src,
    spec: Option<&CoverageSection>,
) -> Result<CoverageSettings, InputError> {
    let Some(c) = spec else {
        return Ok(CoverageSettings::default());
    };
    let (red, green) = *c.thresholds.get_ref();
    if !(red.is_finite() && green.is_finite() && red > 0.0 && green >= red) {
        return Err(InputError::new(
            src.loc(&c.thresholds, "coverage.thresholds"),
            format!("thresholds must be [red below, green from] with 0 < red ≤ green, not [{red}, {green}]"),
        )
        .hint("thresholds = [2.0, 3.0]: below 2× pipeline / quota is red, 3× and more green"));
    }
    Ok(CoverageSettings {
        red_below: red,
        green_from: green,
    })
}
