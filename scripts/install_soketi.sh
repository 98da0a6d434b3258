#!/usr/bin/env bash
# Installs Soketi 1.6.1 (the peer of `make compare`) from npm into a throwaway
# folder outside the tree, if it is not there yet; prints the soketi binary.
# Soketi's uWebSockets.js dependency is a GitHub URL this machine cannot reach,
# so it is aliased to the npm republish `uwebsockets@3.0.6` (an unofficial
# repackaging of upstream prebuilt binaries: loopback benchmarking only, never
# shipped). Recipe and caveats: /work/shared/ref/peers.md section 1.
set -euo pipefail
dir=${SOKETI_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/starling-bench/soketi-1.6.1}
bin=$dir/node_modules/.bin/soketi
if [ ! -x "$bin" ] || [ ! -d "$dir/node_modules/uWebSockets.js" ]; then
  mkdir -p "$dir"
  cat > "$dir/package.json" <<'JSON'
{
  "name": "starling-bench-soketi",
  "version": "1.0.0",
  "private": true,
  "dependencies": { "@soketi/soketi": "1.6.1" },
  "overrides": { "uWebSockets.js": "npm:uwebsockets@3.0.6" }
}
JSON
  # An in-place re-install can leave uWebSockets.js missing: start clean.
  rm -rf "$dir/node_modules" "$dir/package-lock.json"
  echo "install_soketi: npm install @soketi/soketi@1.6.1 into $dir" >&2
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
echo "$bin"
