#!/usr/bin/env bash
# Whole-run benchmark (issue #7): generates the inputs, plans each with `/usr/bin/time -v`,
# and prints one table row per input: wall, peak memory, gap to the bound, contiguous
# territories and the worst band deviation, read from the written files.
#
#   bash scripts/bench.sh                      # 10k/20, 100k/200, 1M/2,000
#   bash scripts/bench.sh 100000:200:22        # accounts:territories:seed, any number
#   THREADS=1 bash scripts/bench.sh ...        # --threads for every run
#   bash scripts/bench.sh --threads 100000:200:7
#       plans the input on 1 and on 2 threads, checks that every file but summary.json's
#       timings is identical, and prints the heuristic phase's speed-up
#       (local_search + cycles_and_bound in summary.json).
#
# Inputs are kept under target/bench-inputs (1M: ~150 MB), plans under target/bench-runs.
# Needs python3 (to read summary.json) and GNU time (installed with apt if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/time ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi

mode=table
if [ "${1:-}" = "--threads" ]; then
  mode=threads
  shift
fi
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  specs=(10000:20:11 100000:200:7 1000000:2000:3)
fi

cargo build --release --quiet
bin=target/release/terraplan
inputs=target/bench-inputs
runs=target/bench-runs
mkdir -p "$inputs" "$runs"

# Input for accounts:territories:seed, generated once.
input_of() {
  local accounts=$1 territories=$2 seed=$3
  local dir="$inputs/${accounts}x${territories}-seed${seed}"
  if [ ! -f "$dir/scenario.toml" ]; then
    "$bin" generate --accounts "$accounts" --reps "$territories" --seed "$seed" --out "$dir" >/dev/null
  fi
  echo "$dir/scenario.toml"
}

# Figures of a written plan: gap %, contiguous/territories, worst |deviation| %, heuristic s.
figures() {
  python3 - "$1" <<'EOF'
import csv, json, sys
out = sys.argv[1]
s = json.load(open(f"{out}/summary.json"))
t = dict(s["timings"])
rows = [r for r in csv.DictReader(open(f"{out}/territories.csv")) if r["level"] == "territory"]
worst = max(abs(float(r[c])) for r in rows for c in r if c.endswith("_deviation"))
gap = s["objective"]["gap"]
print(f"{gap * 100:.2f}% {s['contiguous_territories']}/{s['territories']} "
      f"{worst * 100:.2f}% {t['local_search'] + t['cycles_and_bound']:.3f}")
EOF
}

# Plans `scenario` into `out` with GNU time; prints "wall_s peak_MB".
timed_plan() {
  local scenario=$1 out=$2
  shift 2
  local log="$out.time"
  /usr/bin/time -v "$bin" plan "$scenario" --quiet --out "$out" "$@" 2>"$log" >/dev/null
  local wall peak
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log" |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
  peak=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$log")
  echo "$wall $((peak / 1024))"
}

if [ "$mode" = table ]; then
  threads=()
  if [ -n "${THREADS:-}" ]; then threads=(--threads "$THREADS"); fi
  echo "| accounts | territories | seed | wall s | peak MB | gap | contiguous | worst deviation |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  for spec in "${specs[@]}"; do
    IFS=: read -r accounts territories seed <<<"$spec"
    scenario=$(input_of "$accounts" "$territories" "$seed")
    out="$runs/${accounts}x${territories}-seed${seed}"
    read -r wall peak <<<"$(timed_plan "$scenario" "$out" "${threads[@]}")"
    read -r gap contiguous worst _ <<<"$(figures "$out")"
    echo "| $accounts | $territories | $seed | $wall | $peak | $gap | $contiguous | $worst |"
  done
else
  for spec in "${specs[@]}"; do
    IFS=: read -r accounts territories seed <<<"$spec"
    scenario=$(input_of "$accounts" "$territories" "$seed")
    base="$runs/${accounts}x${territories}-seed${seed}"
    declare -A phase
    for t in 1 2; do
      timed_plan "$scenario" "$base-t$t" --threads "$t" >/dev/null
      read -r _ _ _ phase[$t] <<<"$(figures "$base-t$t")"
    done
    # Every file identical but summary.json, which may differ in its timings only.
    diff -r -x summary.json "$base-t1" "$base-t2" >/dev/null
    python3 - "$base-t1/summary.json" "$base-t2/summary.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop("timings"), b.pop("timings")
sys.exit(0 if a == b else "summary.json differs between 1 and 2 threads beyond its timings")
EOF
    python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'$spec: heuristic phase {a:.3f} s on 1 thread, {b:.3f} s on 2: {a / b:.2f}x, identical files')" \
      "${phase[1]}" "${phase[2]}"
  done
fi
