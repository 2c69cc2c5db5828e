#!/usr/bin/env bash
# Quick-start command 2: set up .venv if needed, then run the test suite (arguments go to pytest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
