#!/usr/bin/env bash
# Every check CI runs, from a fresh machine: installs what is missing (Python tools into a local
# venv), starts moto_server on a free loopback port for the AWS tests, then runs formatting,
# lints, the template linter and the whole test suite. moto is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
# checkov's version is the one src/scan.rs names (CHECKOV_VERSION): its checks and the templates'
# inline skips are reviewed against that release (docs/hardening.md).
checkov_version=3.3.30
if [ ! -x "$venv/bin/cfn-lint" ] || [ ! -x "$venv/bin/moto_server" ] || [ ! -x "$venv/bin/parliament" ] \
  || [ "$(CKV_SKIP_PACKAGE_UPDATE_CHECK=true "$venv/bin/checkov" --version 2>/dev/null)" != "$checkov_version" ]; then
  echo "== installing moto[server], cfn-lint, parliament and checkov into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==5.2.5" cfn-lint "parliament==1.6.4" \
    "checkov==$checkov_version"
fi
export PATH="$PWD/$venv/bin:$PATH"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp)
# moto serves one request at a time here: its backends are not thread-safe (tests/support/moto_serial.py).
python tests/support/moto_serial.py 127.0.0.1 "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
    break
  fi
  sleep 0.2
done
python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" \
  || { echo "moto_server did not start:"; cat "$log"; exit 1; }
export CLOUDGRANT_TEST_MOTO="http://127.0.0.1:$port"
echo "== moto_server on $CLOUDGRANT_TEST_MOTO"

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cfn-lint assets/aws examples/*/aws"
cfn-lint assets/aws/*.yaml examples/*/aws/*.yaml
# The IaC scan, offline (no download, no version check, no API key; docs/hardening.md): any
# finding a template does not set aside with its reason fails here. tests/scan_checkov.rs runs the
# same scan through src/scan.rs and checks each reason against the preview's.
echo "== checkov $checkov_version assets/aws assets/azure examples/*/aws examples/*/azure"
env -u BC_API_KEY -u PRISMA_API_URL LOG_LEVEL=ERROR CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE \
  checkov --file assets/aws/*.yaml assets/azure/*.json examples/*/aws/*.yaml examples/*/azure/*.json --framework cloudformation arm \
  --skip-download --compact --quiet
echo "== cargo test"
cargo test --locked --all-targets
