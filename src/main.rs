//! The terraplan command line: parses arguments, calls the library, maps errors to exit
//! codes (0 ok, 1 infeasible or failed check, 2 bad input or usage).

mod cli;

use std::process::ExitCode;

// The solver's searches allocate and free small buffers in every move they look at; the
// system allocator spent ~10% of a 1M run in malloc and free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = e
                .downcast_ref::<terraplan::Error>()
                .map_or(1, |t| t.exit_code());
            eprintln!("error: {e:#}");
            ExitCode::from(code as u8)
        }
    }
}
