//! members.csv: who works each territory. The owner of every staffed territory, then each
//! overlay rep once per territory they cover, with the node their group sits under.

use std::path::Path;

use crate::error::Error;
use crate::io::output::safe_cell;
use crate::model::Plan;

pub fn members_csv(plan: &Plan, owner_role: &str) -> Result<Vec<u8>, Error> {
    let err =
        |e: csv::Error| Error::io("write", Path::new("members.csv"), std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["rep_id", "role", "node_id", "territory_id", "status"])
        .map_err(err)?;
    for t in plan.territories.iter().filter(|t| t.status != "open") {
        w.write_record([
            safe_cell(&t.rep_id).as_ref(),
            safe_cell(owner_role).as_ref(),
            &t.parent,
            &t.id,
            &t.status,
        ])
        .map_err(err)?;
    }
    for m in &plan.overlays {
        for t in &m.territories {
            w.write_record([
                safe_cell(&m.rep_id).as_ref(),
                safe_cell(&m.role).as_ref(),
                &m.node,
                t,
                "overlay",
            ])
            .map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::io("write", Path::new("members.csv"), e.into_error()))
}
