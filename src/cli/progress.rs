//! Phase spinners on stderr (indicatif): shown only on a terminal and without --quiet, so
//! pipes, CI logs and tests see nothing.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Phases {
    bar: Option<ProgressBar>,
    started: std::time::Instant,
}

impl Phases {
    pub fn new(quiet: bool) -> Phases {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Phases {
            bar,
            started: std::time::Instant::now(),
        }
    }

    pub fn phase(&self, msg: &str) {
        terraplan::solve::debug(&format!("at {:?}: {msg}", self.started.elapsed()));
        if let Some(b) = &self.bar {
            b.set_message(msg.to_string());
        }
    }

    pub fn done(&self) {
        terraplan::solve::debug(&format!("at {:?}: done", self.started.elapsed()));
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
