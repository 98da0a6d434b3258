#!/usr/bin/env bash
# Installs what Starling needs on Debian 12 (as root): build tools and
# libraries from Debian, test clients from npm. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config ccache make
          libcaf-dev libboost-dev libboost-system-dev libnats-dev nats-server
          libmsgpack-cxx-dev libspdlog-dev nlohmann-json3-dev libssl-dev)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Real Pusher clients for the conformance tests, pinned by the lockfile.
if [ ! -d tests/conformance/node_modules ] \
   || [ tests/conformance/package-lock.json -nt tests/conformance/node_modules ]; then
  echo "setup: installing npm test clients"
  (cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
