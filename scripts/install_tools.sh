#!/usr/bin/env bash
# Install the real tools that FBX export and the real-tool tests use (idempotent; a few ms when present):
#
#   * Debian `blender` (3.4.1 on bookworm) + `python3-numpy`: FBX export (exporters/fbx.py) and the Blender
#     re-import tests; Debian's Blender over PyPI `bpy` (965 MB, needs numpy<2 in its own venv): one apt line,
#     ~1.1 GB installed with Chromium, and the glTF/FBX add-ons are the ones the tests pin down;
#   * Debian `chromium`: headless three.js GLTFLoader check (tests/test_threejs.py);
#   * npm `three` is pinned in tests/js/package.json and installed by scripts/setup.sh (npm ci).
#
# Needs root (or passwordless sudo) for apt-get. ASSETGEN_SKIP_TOOLS=1 skips everything (tests that need the
# tools then skip locally, and fail in CI where ASSETGEN_REQUIRE_TOOLS=1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "[install_tools] $*"; }

if [[ "${ASSETGEN_SKIP_TOOLS:-0}" == 1 ]]; then
    say "ASSETGEN_SKIP_TOOLS=1: skipping"
    exit 0
fi

packages=(blender python3-numpy chromium)
missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if ((${#missing[@]})); then
    if ! command -v apt-get >/dev/null 2>&1; then
        say "error: apt-get not found; install ${missing[*]} with your package manager (FBX export needs Blender;" \
            "or set ASSETGEN_BLENDER to a Blender 3.4+ executable)" >&2
        exit 1
    fi
    SUDO=()
    if [[ $(id -u) != 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            SUDO=(sudo -n)
        else
            say "error: installing ${missing[*]} needs root: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
            exit 1
        fi
    fi
    say "installing ${missing[*]} (apt-get, --no-install-recommends)"
    start=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    say "installed in $((SECONDS - start)) s"
fi

# Smoke checks: the versions the tests will use.
say "$(blender --version 2>/dev/null | head -n1) ($(command -v blender)); $(chromium --version 2>/dev/null)"
if [[ ! -f tests/js/node_modules/three/package.json ]]; then
    say "note: npm three is not in tests/js/node_modules yet (scripts/setup.sh runs npm ci --prefix tests/js)"
fi
