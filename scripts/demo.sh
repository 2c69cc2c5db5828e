#!/usr/bin/env bash
# Quick-start command 1: set up .venv if needed, then write four seeded sample heads to out/samples/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
.venv/bin/python -m assetgen.heads.samples --count 4 --seed 0 --out out/samples --force
echo "demo: sample heads (OBJ with UVs) and summary.json are in $PWD/out/samples/"
