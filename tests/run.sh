#!/usr/bin/env bash
# Every check CI runs, from a fresh machine: installs what is missing (Python tools into a local
# venv), then formatting, lints, the template linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
if [ ! -x "$venv/bin/cfn-lint" ]; then
  echo "== installing cfn-lint into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cfn-lint
fi
export PATH="$PWD/$venv/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "== cfn-lint assets/aws"
cfn-lint assets/aws/*.yaml
echo "== cargo test"
cargo test --locked --all-targets
