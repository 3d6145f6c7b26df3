#!/usr/bin/env bash
# make bench-hard: the hard suite of bench/hard.txt. Per puzzle and variant: exact or not, seconds
# to exact (or the limit), best MSE / var(pred), right pairs and inverted pairs of blocks (of all
# N(N-1)/2) at the end; then the totals and the
# puzzles' fingerprints (how many pairs the weight score gets right, the rank correlation of
# ||W_out||_F with depth, how many bias-path neighbours are true neighbours).
#   HARD_LIMIT=60      seconds per full solve (the order-only variant gets a third of it,
#                      or HARD_ORDER_LIMIT seconds when that is set)
#   HARD_ONLY=a,b      only the puzzles whose names contain one of these
#   HARD_THREADS=2     threads per solve
#   HARD_VARIANTS="full order"
#   HARD_SUITE=bench/hard.txt  the suite file (e.g. the same options with other seeds)
#   HARD_SEED=N        the search's seed for every solve (default: the solver's own), to see
#                      which results are the seed's luck; the reports go to the same files
#   HARD_PYTHON=python3  the interpreter for suite lines whose options start with `torch`: those
#                      puzzles are trained by PyTorch itself (bench/torchnet.py,
#                      bench/hard-torch.txt) and skipped, with a line saying so, without it
# Puzzles are generated once and cached in $BUILD/hard/ (keyed by their options).
set -euo pipefail
BUILD=${BUILD:-build}
HUMPTY=${HUMPTY:-$BUILD/humpty}
LIMIT=${HARD_LIMIT:-60}
ORDER_LIMIT=${HARD_ORDER_LIMIT:-$(awk -v l="$LIMIT" 'BEGIN { printf "%g", l / 3 }')}
THREADS=${HARD_THREADS:-2}
VARIANTS=${HARD_VARIANTS:-full order}
ONLY=${HARD_ONLY:-}
SUITE=${HARD_SUITE:-bench/hard.txt}
PYTHON=${HARD_PYTHON:-python3}
SEED_ARGS=()
if [ -n "${HARD_SEED:-}" ]; then
  if ! [[ "$HARD_SEED" =~ ^[0-9]+$ ]]; then
    echo "bench-hard: HARD_SEED must be a non-negative integer, got '$HARD_SEED'" >&2
    exit 2
  fi
  SEED_ARGS=(--seed "$HARD_SEED")
fi
CACHE=$BUILD/hard
mkdir -p "$CACHE"

# Pulls one field from the report (one line of JSON): the first "key":value.
field() { { grep -o "\"$2\":[^,}]*" "$1" || true; } | head -1 | cut -d: -f2- | tr -d '"'; }
# A string field that may hold commas (the answer).
text_field() { { grep -o "\"$2\":\"[^\"]*\"" "$1" || true; } | head -1 | cut -d: -f2- | tr -d '"'; }

# Right pairs: how many (inp,out) pairs of answer $1 are in the true answer $2.
right_pairs() {
  awk -v a="$1" -v t="$2" 'BEGIN {
    n = split(t, T, ","); for (i = 1; i + 1 < n; i += 2) truth[T[i] "," T[i+1]] = 1
    m = split(a, A, ","); c = 0; for (i = 1; i + 1 < m; i += 2) c += ((A[i] "," A[i+1]) in truth)
    print c }'
}

# Inverted pairs: how many pairs of blocks of answer $1 run in the other relative order than in
# the true answer $2, each block placed by its inp piece (the order's distance from the truth:
# 0 for the right order, about half of all pairs for a random one).
inverted_pairs() {
  awk -v a="$1" -v t="$2" 'BEGIN {
    n = split(t, T, ","); for (i = 1; i + 1 < n; i += 2) depth[T[i]] = (i - 1) / 2
    m = split(a, A, ","); b = 0; for (i = 1; i + 1 < m; i += 2) if (A[i] in depth) d[b++] = depth[A[i]]
    c = 0; for (i = 0; i < b; i++) for (j = i + 1; j < b; j++) c += (d[i] > d[j])
    print c }'
}

# The right pairing in an order shuffled by a fixed seed (Park-Miller; exact in awk's doubles).
shuffled() {
  awk -v t="$1" 'BEGIN {
    n = split(t, T, ","); b = (n - 1) / 2; x = 20261201
    for (i = 0; i < b; i++) { inp[i] = T[2*i+1]; out[i] = T[2*i+2] }
    for (i = b - 1; i > 0; i--) { x = (x * 16807) % 2147483647; j = x % (i + 1)
      s = inp[i]; inp[i] = inp[j]; inp[j] = s; s = out[i]; out[i] = out[j]; out[j] = s }
    line = ""; for (i = 0; i < b; i++) line = line inp[i] "," out[i] ","
    print line T[n] }'
}

# Fingerprints: pairing-score hits, ||W_out|| rank trend with depth, bias-path true neighbours.
fingerprints() {
  local dir=$1 truth=$2
  "$HUMPTY" inspect "$dir/puzzle.humpty" --json "$dir/inspect.json" > "$dir/inspect.txt"
  local chain score_pairs
  chain=$(text_field "$dir/inspect.json" answer)
  score_pairs=$({ grep -o '"inp":[0-9]*,"out":[0-9]*' "$dir/inspect.json" || true; } | sed 's/"inp"://; s/"out"://' | tr '\n' ',')
  awk -v t="$truth" -v chain="$chain" -v sp="$score_pairs" '
    # inspect.txt: "piece  shape  role  ||W||_F  ||b||" rows
    $3 == "out" { norm[$1] = $4 }
    END {
      n = split(t, T, ","); b = (n - 1) / 2
      for (i = 0; i < b; i++) { truth[T[2*i+1] "," T[2*i+2]] = 1; depth[T[2*i+2]] = i }
      m = split(sp, S, ","); hits = 0
      for (i = 1; i + 1 <= m; i += 2) if (S[i] != "" && ((S[i] "," S[i+1]) in truth)) hits++
      # Spearman of ||W_out|| with depth (no ties expected).
      for (i = 0; i < b; i++) { o = T[2*i+2]; v[i] = norm[o] }
      for (i = 0; i < b; i++) { r = 0; for (j = 0; j < b; j++) if (v[j] < v[i]) r++; rank[i] = r }
      d2 = 0; for (i = 0; i < b; i++) d2 += (rank[i] - i) ^ 2
      rho = 1 - 6 * d2 / (b * (b * b - 1))
      k = split(chain, C, ","); nb = 0
      for (i = 2; i + 2 < k; i += 2) { p = depth[C[i]]; q = depth[C[i+2]]; if (p - q == 1 || q - p == 1) nb++ }
      printf "%d/%d %+.2f %d/%d", hits, b, rho, nb, b - 1 }' "$dir/inspect.txt"
}

printf '%-22s %-6s %-5s %8s %11s %7s %11s\n' puzzle run exact seconds mse/var pairs inverted
full_exact=0 full_n=0 order_exact=0 order_n=0 fingerprint_lines=""
while read -r name args; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [ -n "$ONLY" ]; then
    keep=0
    IFS=, read -ra wanted <<< "$ONLY"
    for w in "${wanted[@]}"; do [[ "$name" == *"$w"* ]] && keep=1; done
    [ "$keep" = 1 ] || continue
  fi
  key=$(printf '%s' "$args" | cksum | cut -d' ' -f1)
  dir=$CACHE/$name-$key
  if [ ! -f "$dir/puzzle.humpty" ]; then
    if [[ "$args" == torch\ * ]] && ! "$PYTHON" -c 'import torch' 2> /dev/null; then
      printf '%-22s skipped: needs %s with torch (HARD_PYTHON)\n' "$name" "$PYTHON"
      continue
    fi
    echo "(training $name: $args)" >&2
    if [[ "$args" == torch\ * ]]; then
      # Trained by PyTorch (bench/torchnet.py), then bundled as humpty's own puzzles are.
      rm -rf "$dir"
      # shellcheck disable=SC2086
      if ! "$PYTHON" bench/torchnet.py -o "$dir" ${args#torch } ||
        ! "$HUMPTY" convert "$dir/pieces" -q --data "$dir/historical_data.csv" -o "$dir/puzzle.humpty"; then
        printf '%-22s could not be trained (see the error above)\n' "$name"
        continue
      fi
    else
      # shellcheck disable=SC2086
      if ! "$HUMPTY" generate -q -o "$dir" --force --threads "$THREADS" $args; then
        printf '%-22s could not be trained (see the error above)\n' "$name"
        continue
      fi
    fi
  fi
  truth=$(head -1 "$dir/answer.txt")
  blocks=$(( ($(tr -cd , <<< "$truth" | wc -c) ) / 2 ))
  for variant in $VARIANTS; do
    report=$dir/$variant.json
    rm -f "$report"
    if [ "$variant" = full ]; then
      limit=$LIMIT
      "$HUMPTY" solve "$dir/puzzle.humpty" -q --threads "$THREADS" ${SEED_ARGS[@]+"${SEED_ARGS[@]}"} --time-limit "$limit" --json "$report" > /dev/null || true
      full_n=$((full_n + 1))
    else
      limit=$ORDER_LIMIT
      shuffled "$truth" > "$dir/start.txt"
      "$HUMPTY" solve "$dir/puzzle.humpty" -q --threads "$THREADS" ${SEED_ARGS[@]+"${SEED_ARGS[@]}"} --order search --start @"$dir/start.txt" \
        --time-limit "$limit" --json "$report" > /dev/null || true
      order_n=$((order_n + 1))
    fi
    proven=$(field "$report" proven)
    # Time to exact: the search's, else the stages' (a chain order proven without search).
    seconds=$({ grep -o '"search":{[^}]*' "$report" || true; } | { grep -o '"seconds":[^,]*' || true; } | cut -d: -f2)
    [ -z "$seconds" ] && seconds=$({ grep -o '"seconds":{[^}]*' "$report" || true; } | grep -o '[0-9.e-]*' | awk '{ s += $1 } END { print s + 0 }')
    mse=$(field "$report" mse_pred)
    var=$(field "$report" pred_variance)
    answer=$(text_field "$report" answer)
    pairs=$(right_pairs "$answer" "$truth")
    inverted=$(inverted_pairs "$answer" "$truth")
    if [ "$proven" = true ]; then
      exact=yes
      if [ "$variant" = full ]; then full_exact=$((full_exact + 1)); else order_exact=$((order_exact + 1)); fi
    else
      exact=no
      seconds=$limit
    fi
    printf '%-22s %-6s %-5s %8.2f %11.3g %3d/%-3d %5d/%-5d\n' "$name" "$variant" "$exact" "$seconds" \
      "$(awk -v m="$mse" -v v="$var" 'BEGIN { print (v > 0 ? m / v : m) }')" "$pairs" "$blocks" \
      "$inverted" "$((blocks * (blocks - 1) / 2))"
  done
  fingerprint_lines+=$(printf '%-22s %s' "$name" "$(fingerprints "$dir" "$truth")")$'\n'
done < "$SUITE"
echo
[ "$full_n" -gt 0 ] && echo "full solves: $full_exact of $full_n exact within ${LIMIT} s each"
[ "$order_n" -gt 0 ] && echo "order only (right pairs given): $order_exact of $order_n exact within ${ORDER_LIMIT} s each"
echo
echo "fingerprints (weight-score pairs right, ||W_out|| rank correlation with depth, bias-path true neighbours):"
printf '%s' "$fingerprint_lines"
