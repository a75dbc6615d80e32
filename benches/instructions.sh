#!/usr/bin/env bash
# Instructions per byte of one steady-state scan pass (4 MiB), counted by valgrind's cachegrind:
# unlike timings, the count does not move with the machine's load, so two builds can be compared
# on a busy machine. Needs valgrind (`apt-get install valgrind`).
#
#   bash benches/instructions.sh SELECTORS [decoys|file:PATH] # e.g. `all decoys`, `credit_card`
#   FUNCTIONS=1 bash benches/instructions.sh all decoys      # and the costliest functions
#
# The pass is the third of three over the same text (the first compiles regexes on first use):
# the count of three passes less that of two.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 2; }
cargo build --release --quiet -p dlp-detect --features bench --example prof
bin=target/release/examples/prof
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for n in 2 3; do
  DLP_PROF_MB=4 DLP_PROF_ITERATIONS=$n valgrind --tool=cachegrind --cache-sim=no \
    --cachegrind-out-file="$out/cg.$n" "$bin" "$@" >/dev/null 2>&1
done
cg_diff "$out/cg.2" "$out/cg.3" >"$out/diff" 2>/dev/null
cg_annotate --auto=no "$out/diff" 2>/dev/null >"$out/annotated"
python3 - "$out/annotated" "${FUNCTIONS:-0}" <<'PY'
import collections, re, sys
total = 0
by_function = collections.Counter()
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(PROGRAM TOTALS|\S.*?:(.+))$", line)
    if not m:
        continue
    n = int(m.group(1).replace(",", ""))
    if m.group(2) == "PROGRAM TOTALS":
        total = n
    else:
        by_function[m.group(3).strip()] += n
print(f"{total / (4 << 20):.2f} instructions per byte")
if sys.argv[2] == "1":
    for name, n in by_function.most_common(25):
        print(f"{n / (4 << 20):7.2f}  {name[:120]}")
PY
