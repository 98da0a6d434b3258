#!/usr/bin/env bash
# Runs the whole CTest suite in an ASan+UBSan build dir (`make sanitize`):
# `scripts/sanitize.sh <build dir> [ctest args...]`. Every sanitizer report of
# every process, node children included, is written to <build dir>/sanitizer/
# and fails the run, even when the test that started the process passed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${1:-build-asan}
shift || true
reports="$root/$dir/sanitizer"
rm -rf "$reports" && mkdir -p "$reports"

# Node tests keep any child's stderr that holds a report here too
# (tests/conformance/support/sanitizer_reports.js): gcc's runtime ignores
# log_path in a process that has run a CAF actor system.
export STARLING_SANITIZER_DIR="$reports"
# log_path: a node test may ignore its server's stderr and exit code. gcc's
# UBSan runtime writes nothing with a log_path set, so its reports go to
# stderr; halt_on_error makes the process die, which its test sees.
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_init_order=1:detect_stack_use_after_return=0:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitize/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/tests/sanitize/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# The one knob for slow builds (tests/conformance/support/slowdown.js): the
# node tests multiply every timeout and time bound by it and skip their RSS
# assertions (ASan's allocator makes RSS meaningless). Unset elsewhere.
export STARLING_TEST_SLOWDOWN=${STARLING_TEST_SLOWDOWN:-3}

# Not run here: deploy.dockerfile checks that the Dockerfile's runtime stage
# provides every shared library `ldd` lists for the built binary; the ASan
# binary needs libasan and libubsan, which the image (a Release build) never
# ships.
exclude='^deploy\.dockerfile$'

start=$(date +%s)
(cd "$dir" && ctest --output-on-failure --timeout 1200 -E "$exclude" "$@")
status=$?
echo "sanitize: ctest took $(( $(date +%s) - start ))s"

if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: sanitizer reports in $reports:"
  for f in "$reports"/*; do
    echo "== $f"
    head -n 60 "$f"
  done
  status=1
fi
exit $status
