#!/usr/bin/env bash
# docs/config.md must be exactly what the binary prints for
# --config-reference, so the reference cannot drift from the key table.
# Usage: config_reference.sh STARLING_BIN DOC
set -euo pipefail
bin=$1
doc=$2
if ! diff -u "$doc" <("$bin" --config-reference); then
  echo "config.reference: $doc differs from 'starling --config-reference';" \
       "regenerate it with: cmake --build build --target config-reference" >&2
  exit 1
fi
echo "config.reference: $doc matches the binary's key table"
