#!/usr/bin/env bash
# Installs what Starling needs on Debian 12 (as root): build tools and
# libraries from Debian, test clients from npm. Idempotent and quiet when
# everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build pkg-config ccache make
          libcaf-dev libboost-dev libboost-system-dev libnats-dev nats-server
          libmsgpack-cxx-dev libspdlog-dev nlohmann-json3-dev libssl-dev
          nginx openssl
          chromium) # headless, for the admin page test (admin_page.test.js)
# clang only for `make fuzz` (libFuzzer); its runtime is only recommended,
# and we install without recommends.
if [ -n "${STARLING_SETUP_CLANG:-}" ]; then
  packages+=(clang libclang-rt-dev)
fi
# wrk (HTTP publish load) and gnuplot (report plots) only for `make compare`.
if [ -n "${STARLING_SETUP_BENCH:-}" ]; then
  packages+=(wrk gnuplot-nox)
fi
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
  # nginx is here for the deploy tests only: keep its package from starting
  # the default site on port 80 (policy-rc.d 101 = "do not start services").
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
  fi
  # Quiet on success (debconf chatters on stderr), everything on failure.
  if ! log=$(apt-get install -y -qq --no-install-recommends "${missing[@]}" 2>&1); then
    echo "$log" >&2
    [ -z "$own_policy" ] || rm -f "$policy"
    exit 1
  fi
  [ -z "$own_policy" ] || rm -f "$policy"
fi
# apt-cache show (the Dockerfile test) needs package lists.
if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
  apt-get update -qq
fi

# Real Pusher clients, YAML and Dockerfile parsers for the conformance and
# deploy tests, pinned by their lockfiles.
# A node_modules that is a symlink (a git worktree borrowing another
# checkout's) is left alone: npm ci through it empties the other checkout's.
for d in tests/conformance tests/deploy; do
  [ -L "$d/node_modules" ] && continue
  if [ -f "$d/package-lock.json" ] && { [ ! -d "$d/node_modules" ] \
       || [ "$d/package-lock.json" -nt "$d/node_modules" ]; }; then
    echo "setup: installing npm packages for $d"
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
done
