#!/usr/bin/env bash
# Idempotent installer for the Debian 12 packages SagaPay needs to build, test
# and run its local stack (scripts/stack.sh, scripts/kafka.sh).
#
# Fast path: if every package is already installed, no apt call is made.
# Otherwise: apt-get update + apt-get install of only the missing packages.
# As non-root, sudo is used when available; without sudo we exit 1 and name
# the missing packages.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config make git curl ca-certificates
  postgresql-15 postgresql-client-15 libpq-dev
  redis-server redis-tools libhiredis-dev
  librdkafka-dev kcat openjdk-17-jre-headless maven
  prometheus prometheus-alertmanager chromium fonts-dejavu-core
  libboost1.81-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev libexpected-dev
  clang-format clang-tidy gcovr
  clang-14 libclang-rt-14-dev
  util-linux procps iproute2
  python3 python3-venv
)
# Node.js runs the console's browser test (tests/console, playwright-core from npm). A machine
# with its own Node.js keeps it; otherwise Debian's.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# playwright-core, pinned by tests/console/package-lock.json; it drives Debian's chromium, so
# npm downloads no browser.
npm_deps() {
  local dir="$ROOT/tests/console"
  if [[ -f "$dir/node_modules/.package-lock.json" ]] &&
     cmp -s "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.src" 2>/dev/null; then
    return 0
  fi
  echo "deps: npm ci in tests/console" >&2
  # Only the browser test needs it: without npm (offline), `make up` still works and
  # e2e.Console fails saying playwright-core is missing.
  if (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error); then
    cp "$dir/package-lock.json" "$dir/node_modules/.package-lock.json.src"
  else
    echo "deps: warning: npm ci failed in tests/console (the console's browser test needs it)" >&2
  fi
}

die() { echo "deps: error: $*" >&2; exit 1; }

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found (this script targets Debian 12)"

missing=()
for pkg in "${PACKAGES[@]}"; do
  # Unknown packages make dpkg-query fail; treat that as "missing".
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  npm_deps
  echo "deps: all present"
  exit 0
fi

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    die "not root and sudo is not available; missing packages: ${missing[*]}"
  fi
fi

echo "deps: installing missing packages: ${missing[*]}" >&2
"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"

# Verify the install actually happened (apt can "succeed" on held packages).
still=()
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || still+=("$pkg")
done
((${#still[@]} == 0)) || die "packages still missing after apt-get install: ${still[*]}"

npm_deps
echo "deps: installed ${missing[*]}"
