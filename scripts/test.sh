#!/usr/bin/env bash
# The whole test suite on a fresh machine: a virtualenv with the test extras pinned to the tested set in
# constraints/test.txt (update it on purpose: `python scripts/update_constraints.py`), the system packages the browser
# and database suites need (installed only when running as root, as CI does), then pytest.
# Downloads are cached under .cache/ inside the checkout so a second run is fast and offline-friendly; so are the
# version matrix's virtualenvs (tests/versions/, .cache/envs/).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
cache="$here/.cache"
venv="$cache/venv"
mkdir -p "$cache"
export PIP_CACHE_DIR="$cache/pip"
export npm_config_cache="$cache/npm"
export CHATKIT_FIX_TEST_CACHE="$cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export UV_CACHE_DIR="$cache/uv"

python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -qq --upgrade pip
"$venv/bin/python" -m pip install -qq -c constraints/test.txt -e ".[test]"

# System packages: Debian's chromium for the browser suite, PostgreSQL for the database suite.
need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need_apt+=(postgresql)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${need_apt[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "not root: the suites needing ${need_apt[*]} will skip (under CI=true a skip fails the run)"
  fi
fi

set +e
"$venv/bin/python" -m pytest "$@"
status=$?
set -e
if [ "$status" = "5" ]; then
  echo "pytest collected no tests: failing the run" >&2
  exit 1
fi
exit "$status"
