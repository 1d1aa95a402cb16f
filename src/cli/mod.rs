//! Argument definitions and dispatch; each subcommand lives in its own file.

mod check;
mod compare;
mod generate;
mod plan;
mod progress;
mod route;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "terraplan",
    version,
    about = "Balanced sales territories, CRM rules, quotas and what-if scenarios"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Plan territories for a scenario and write the output folder.
    Plan(PlanArgs),
    /// Generate realistic synthetic accounts, reps and a scenario on real US geography.
    Generate(GenerateArgs),
    /// Re-verify a written plan: coverage, segments, bands, nesting, caps, pins, budget,
    /// quotas and the rule replay.
    Check(CheckArgs),
    /// Route accounts with a plan's rules.json, as the CRM will.
    Route(RouteArgs),
    /// Plan several scenarios (or sweep one) and compare them side by side.
    Compare(CompareArgs),
}

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Scenario files (TOML).
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    /// Output folder [default: out/compare].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Sweep one scenario: tolerance=0.03,0.05,0.08 (or max_moved_accounts, max_moved_pipeline, move_cost).
    #[arg(long)]
    pub sweep: Option<String>,
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long)]
    pub quiet: bool,
}

#[derive(clap::Args)]
pub struct RouteArgs {
    /// The plan's rules.json.
    #[arg(long)]
    pub rules: PathBuf,
    /// Accounts to route (account_id plus the columns the rules read).
    #[arg(long)]
    pub accounts: PathBuf,
    /// Output CSV [default: standard output].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct PlanArgs {
    /// The scenario file (TOML); its paths are relative to it.
    pub scenario: PathBuf,
    /// Output folder [default: out/<scenario name>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores). Output is the same for any count.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print nothing but errors.
    #[arg(long)]
    pub quiet: bool,
    /// Also solve the balanced assignment exactly (MIP, HiGHS) at the final centres, with
    /// this time limit in seconds (default 60); needs a build with `--features highs`.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "60")]
    pub exact: Option<f64>,
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    #[arg(long)]
    pub accounts: usize,
    #[arg(long)]
    pub reps: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Reps to be hired (status tbh): they own no accounts yet.
    #[arg(long, default_value_t = 0)]
    pub tbh: usize,
    /// Reps leaving (the last of the --reps): their accounts must move.
    #[arg(long, default_value_t = 0)]
    pub leaving: usize,
    /// Overlay reps, e.g. SE:20,SDR:10 (they own no accounts; role column in reps.csv).
    #[arg(long)]
    pub overlays: Option<String>,
    #[arg(long)]
    pub out: PathBuf,
    /// ZIP geography (zip,lat,lon,population,state,…) [default: the bundled US table].
    #[arg(long)]
    pub geography: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// A plan output folder.
    pub dir: PathBuf,
}

pub fn run() -> anyhow::Result<u8> {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return Ok(code);
        }
    };
    match cli.command {
        Command::Plan(a) => plan::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Check(a) => check::run(a),
        Command::Route(a) => route::run(a),
        Command::Compare(a) => compare::run(a),
    }
}

/// Sets the global worker count once; the solver's output does not depend on it.
pub fn set_threads(threads: Option<usize>) -> anyhow::Result<()> {
    if let Some(n) = threads {
        if n == 0 {
            return Err(terraplan::Error::Usage("--threads must be at least 1".into()).into());
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()?;
    }
    Ok(())
}
