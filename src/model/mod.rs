//! Domain types shared by the readers, the solver driver, the exporters and the checker.

pub mod account;
pub mod plan;
pub mod rep;
pub mod scenario;

pub use account::Accounts;
pub use plan::{Plan, Territory};
pub use rep::{Rep, RepIndex, RepStatus, Reps};
pub use scenario::Scenario;
