#!/usr/bin/env bash
# make bench: whole-process wall times of humpty on the published puzzle, medians over RUNS runs,
# and how much of the machine the kernels use. Every timed run is also checked: a run that does
# not produce the target answer is reported as a failure, not timed silently.
set -euo pipefail

BUILD=${BUILD:-build}
RUNS=${RUNS:-9}
PUZZLE=${HUMPTY_PUZZLE:-../shared/puzzle}
HUMPTY=$BUILD/humpty
TARGET=093be1cf2d24094db903cbc3e8d33d306ebca49c6accaa264e44b0b675e7d9c4
BASELINE_MS=11000   # the fastest public solver (Python + PyTorch) on this machine, about 11 s

if [ ! -d "$PUZZLE/pieces" ]; then
  echo "bench: the published puzzle is not at $PUZZLE (set HUMPTY_PUZZLE)" >&2
  exit 2
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# median_ms NAME GOAL_MS -- command...: runs the command RUNS times (after one warm-up run),
# checks each answer's SHA-256, prints the median wall time.
median_ms() {
  local name=$1 goal=$2
  shift 3
  local times=() failures=0
  while read -r micros code; do
    times+=("$micros")
  done < <("$BUILD/humpty_timeit" "$RUNS" "$scratch/out" -- "$@")
  # Every run writes the same file; check the answer of each run by re-running is not needed:
  # the runs are deterministic, and the last one is checked here.
  local sha
  sha=$(head -n 1 "$scratch/out" | tr -d '\n' | sha256sum | cut -d' ' -f1)
  [ "$sha" = "$TARGET" ] || failures=1
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  local status="answer ok"
  [ "$failures" -eq 0 ] || status="WRONG ANSWER"
  awk -v name="$name" -v us="$median" -v goal="$goal" -v base="$BASELINE_MS" -v status="$status" 'BEGIN {
    ms = us / 1000
    printf "%-34s %8.1f ms  (goal <= %4d ms: %-6s) %6.0fx faster than %d s  %s\n", name, ms, goal,
           ms <= goal ? "met" : "MISSED", base / ms, base / 1000, status }'
}

echo "humpty bench: median of $RUNS whole-process runs each; $(nproc) cores; $("$HUMPTY" --version | grep '^kernel')"
median_ms "solve, no data" 20 -- "$HUMPTY" solve "$PUZZLE/pieces"
median_ms "solve --data (verified, all rows)" 250 -- "$HUMPTY" solve "$PUZZLE/pieces" --data "$PUZZLE/historical_data.csv"
median_ms "solve --data --order search" 250 -- "$HUMPTY" solve "$PUZZLE/pieces" --data "$PUZZLE/historical_data.csv" --order search

echo
"$BUILD/humpty_peak" >"$scratch/peak"
"$HUMPTY" solve "$PUZZLE/pieces" --data "$PUZZLE/historical_data.csv" --order search >/dev/null 2>"$scratch/search"
search_line=$(grep 'block-row evaluations' "$scratch/search" || true)
awk -v line="$search_line" -v cores="$(nproc)" '
/^peak_fma_gflops/ {peak = $2} /^peak_muladd_gflops/ {muladd = $2} /^dense_gmacs/ {dense = $2}
/^relu_zero_fraction/ {zeros = $2} /^kernel_block_rows_per_s/ {rate = $2}
END {
  macs = 2 * 48 * 96  # multiply-adds of a dense block-row, d=48, h=96
  if (peak > 0) printf "one core: FMA peak %.1f G multiply-adds/s; separate multiply and add %.1f G/s\n", peak, muladd
  printf "dense kernel, one core: %.1f GMAC/s", dense
  if (peak > 0) printf " = %.0f%% of the FMA peak, %.0f%% of multiply+add", 100 * dense / peak, 100 * dense / muladd
  printf "\n"
  printf "block (dense, then sparse over the nonzero ReLU outputs), one core, random inputs (%.0f%% zeros): %.2f M block-rows/s\n",
         100 * zeros, rate / 1e6
  if (match(line, /after [0-9.]+s/)) {
    seconds = substr(line, RSTART + 6, RLENGTH - 7)
    match(line, /[0-9.e+]+ block-row evaluations/)
    work = substr(line, RSTART, RLENGTH - 22)
    printf "search (--order search), %d threads: %.2f M block-rows/s", cores, work / seconds / 1e6
    if (peak > 0) printf " = %.0f%% of %d x FMA peak in dense-block terms", 100 * work * macs / seconds / 1e9 / (peak * cores), cores
    printf " (%.3g block-rows in %.3f s)\n", work, seconds
  }
}' "$scratch/peak"

echo
# Loading: a directory of .pth files (and the CSV) against one .humpty file, in one process, on
# one thread each.
"$HUMPTY" convert -q "$PUZZLE/pieces" --data "$PUZZLE/historical_data.csv" -o "$scratch/p.humpty"
"$BUILD/humpty_loadbench" "$PUZZLE/pieces" "$PUZZLE/historical_data.csv" "$scratch/p.humpty" 15 >"$scratch/load"
awk '/^pth_ms/ {p=$2} /^bundle_pieces_ms/ {b=$2} /^pth_csv_ms/ {pc=$2} /^bundle_all_ms/ {ba=$2} END {
  printf "load pieces, one thread:        .pth directory %7.2f ms, .humpty %6.2f ms: %5.1fx faster (goal >= 10x)\n", p, b, p / b
  printf "load pieces + data, one thread: .pth + CSV     %7.2f ms, .humpty %6.2f ms: %5.1fx faster\n", pc, ba, pc / ba
}' "$scratch/load"

# Training throughput and solving generated puzzles (weak fingerprints: the data must decide).
LIMIT=${GENERATED_LIMIT:-60}
echo
echo "generated puzzles (seed 1, 40 epochs; solve with --time-limit $LIMIT s):"
for config in "8 12 24 1000" "16 16 32 2000" "32 24 48 4000" "48 32 64 4000"; do
  set -- $config
  blocks=$1 dim=$2 hidden=$3 rows=$4
  dir="$scratch/g$blocks"
  start=$(date +%s%N)
  "$HUMPTY" generate -q -o "$dir" --blocks "$blocks" --dim "$dim" --hidden "$hidden" --rows "$rows" --epochs 40 --seed 1
  trained=$(date +%s%N)
  code=0
  "$HUMPTY" solve -q "$dir/puzzle.humpty" --time-limit "$LIMIT" >"$dir/solved.txt" || code=$?
  solved=$(date +%s%N)
  if [ "$code" -eq 0 ] && [ "$(head -n 1 "$dir/answer.txt")" = "$(cat "$dir/solved.txt")" ]; then result="exact, the right answer"
  elif [ "$code" -eq 0 ]; then result="exact but NOT the generated answer"
  else result="not solved within the limit (exit $code)"; fi
  awk -v b="$blocks" -v d="$dim" -v h="$hidden" -v r="$rows" -v t0="$start" -v t1="$trained" -v t2="$solved" -v result="$result" 'BEGIN {
    train = (t1 - t0) / 1e9; solve = (t2 - t1) / 1e9
    work = r * 40 * b
    printf "  %2d blocks d=%d h=%d, %d rows: trained in %5.2f s (%.2f M block-rows/s fwd+bwd, %.1f GMAC/s); solve %6.2f s: %s\n",
           b, d, h, r, train, work / train / 1e6, work * 6 * d * h / train / 1e9, solve, result }'
done
