#!/usr/bin/env bash
# Set up a fresh machine for boostkg: a virtual environment in .venv with the package installed.
#   scripts/setup.sh          runtime dependencies (for the main job)
#   scripts/setup.sh --test   also the test tools, Java (HermiT) and Chromium (page tests)
# Re-running is cheap: pip is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

pick_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  echo "boostkg needs Python 3.11 or newer; none found on PATH" >&2
  return 1
}

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to run: $*" >&2; return 1; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "==> installing system packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [[ ! -x .venv/bin/python ]]; then
  py=$(pick_python)
  echo "==> creating .venv with $($py --version)"
  "$py" -m venv .venv
fi

extras=""
[[ $want_test -eq 1 ]] && extras="[test]"
stamp=".venv/.boostkg-installed${extras:+-test}"
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$digest" ]]; then
  echo "==> installing boostkg${extras} and its dependencies into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip setuptools
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
  echo "$digest" > "$stamp"
fi

# The /query page's editor (YASGUI) is an npm package pinned by boostkg/api/static/vendor/
# package-lock.json, installed (not committed) into node_modules/ there; the app serves its build.
vendor=boostkg/api/static/vendor
vendor_stamp="$vendor/node_modules/.boostkg-installed"
vendor_digest=$(sha256sum "$vendor/package-lock.json" | cut -d' ' -f1)
if [[ ! -f "$vendor/node_modules/@triply/yasgui/build/yasgui.min.js" || ! -f "$vendor_stamp" ||
      "$(cat "$vendor_stamp")" != "$vendor_digest" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "ERROR: npm not found. The query page (/query) needs YASGUI from the npm registry." >&2
    echo "       Install Node.js 18+ with npm (Debian: apt-get install nodejs npm), then re-run $0." >&2
    exit 1
  fi
  echo "==> installing the query page's YASGUI into $vendor/node_modules (npm ci)"
  npm ci --prefix "$vendor" --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$vendor_digest" > "$vendor_stamp"
fi

if [[ $want_test -eq 1 ]]; then
  # HermiT (bundled with owlready2) needs a Java runtime.
  command -v java >/dev/null 2>&1 || apt_install default-jre-headless
  # The /submit page is tested end to end in headless Chromium (Debian's package `chromium`).
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  # The store contract tests also run over Virtuoso Open Source (scripts/virtuoso-server.sh starts
  # a scratch server as this user); Oxigraph's server comes with the test extras (pip: oxigraph).
  command -v virtuoso-t >/dev/null 2>&1 || apt_install virtuoso-opensource
fi
