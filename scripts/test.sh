#!/usr/bin/env bash
# The test command (README.md, .ci/run): installs what the tests need (a headless browser
# for the report test; cmake and libclang for the HiGHS build), then runs the whole suite
# on the default pure-Rust backend, and the exact-MIP tests on a build with HiGHS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-browser.sh
bash scripts/install-highs-deps.sh
cargo test --release
cargo test --release --features highs -- exact
