#!/usr/bin/env bash
# Runs every libFuzzer target of a STARLING_FUZZ build for a while, one after
# the other: `scripts/fuzz.sh <build dir> <seconds per target>`. New inputs
# go to <build dir>/fuzz-corpus/<target>, crashes to <build dir>/fuzz-crashes/;
# a crash worth keeping becomes a file in tests/fuzz/corpus/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-fuzz}
seconds=${2:-60}

failed=()
for bin in "$dir"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  scratch="$dir/fuzz-corpus/$name"
  mkdir -p "$scratch" "$dir/fuzz-crashes"
  echo "fuzz: $name for ${seconds}s"
  # -timeout: one input that takes seconds is a finding (a parser DoS).
  if ! "$bin" -max_total_time="$seconds" -timeout=10 \
       -print_final_stats=1 -artifact_prefix="$dir/fuzz-crashes/$name-" \
       "$scratch" "tests/fuzz/corpus/$name" >"$dir/fuzz-$name.log" 2>&1; then
    failed+=("$name")
    tail -n 40 "$dir/fuzz-$name.log"
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' \
    "$dir/fuzz-$name.log" | tr '\n' ' '
  echo
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $dir/fuzz-crashes/)"
  exit 1
fi
echo "fuzz: all targets ran ${seconds}s without a finding"
