//! Any bytes as accounts.csv: the reader returns accounts or a located error, never panics,
//! and every account it returns has an id, coordinates and a source line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terraplan::geometry::Coordinates;
use terraplan::io::read_accounts;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("accounts.csv");
    std::fs::write(&path, data).expect("write input");
    for coords in [Coordinates::Latlon, Coordinates::Xy] {
        if let Ok(acc) = read_accounts(&path, coords) {
            assert_eq!(acc.id.len(), acc.pos.len());
            assert_eq!(acc.id.len(), acc.line.len());
            assert!(acc.id.iter().all(|id| !id.is_empty()));
            assert!(acc.pos.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
        }
    }
});
