#!/usr/bin/env bash
# Quick-start command 1: set up .venv if needed, then write a pack of four game-ready heads (the main job on
# the built-in defaults: open head, seeds 0-3, 3 LODs, 1K PBR maps) to out/pack/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
.venv/bin/python -m exporters.gltf --count 4 --seed 0 --out out/pack --force
echo "demo: four heads (head.glb, textures/, manifest.json, preview.png each) and contact_sheet.png are in $PWD/out/pack/"
