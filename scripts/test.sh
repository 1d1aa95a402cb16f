#!/usr/bin/env bash
# The test command (README.md, .ci/run): installs what the tests need (a headless browser
# for the report test), then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-browser.sh
cargo test --release
