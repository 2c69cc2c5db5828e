#!/usr/bin/env bash
# Create or update the project's virtual environment in .venv (idempotent; quick when nothing changed).
#
#   1. .venv with python3.11 (or $ASSETGEN_PYTHON) unless it exists;
#   2. torch first: the machine's local CPU build (torch==2.13.0) where no NVIDIA GPU is found, the normal
#      CUDA build (torch) where nvidia-smi finds one, or the pip arguments in $ASSETGEN_TORCH_SPEC;
#   3. the project, editable, with extras [open,test] (+ [cuda] on GPU machines) and the exact pins of requirements/ci.txt;
#   4. the built-in open head's data file (python -m assetgen.heads.compile_open; cached by the module) and the
#      gRPC stubs generated from proto/ (python -m assetgen.service.protos);
#   5. the Node test tools of tests/js (Khronos glTF-Validator) with `npm ci`, skipped when node_modules
#      already matches package-lock.json, and left out (the tests that need them skip) when npm is missing.
#
# pip's own configuration (pip.conf, PIP_* variables: local wheels, mirrors) is respected.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { echo "[setup] $*"; }
die() { echo "[setup] error: $*" >&2; exit 1; }

export PIP_DISABLE_PIP_VERSION_CHECK=1
PYTHON_BIN="${ASSETGEN_PYTHON:-python3.11}"
VENV=.venv
PY="$VENV/bin/python"
STAMP="$VENV/.assetgen-setup-stamp"

# 1. virtual environment
if [[ ! -x "$PY" ]]; then
    command -v "$PYTHON_BIN" >/dev/null 2>&1 || die "$PYTHON_BIN not found (Python >= 3.11 needed; set ASSETGEN_PYTHON)"
    say "creating $VENV with $PYTHON_BIN"
    "$PYTHON_BIN" -m venv "$VENV"
fi
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "$VENV has Python $("$PY" -c 'import platform; print(platform.python_version())'); 3.11+ is needed: remove $VENV and re-run"

# 2. which torch
has_gpu=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    has_gpu=1
fi
use_pins=1
if [[ -n "${ASSETGEN_TORCH_SPEC:-}" ]]; then
    read -r -a torch_args <<<"$ASSETGEN_TORCH_SPEC"
    torch_kind="ASSETGEN_TORCH_SPEC"
    use_pins=0 # the caller chose torch (and maybe an index); do not constrain it
elif [[ $has_gpu == 1 ]]; then
    torch_args=(torch)
    torch_kind="CUDA build, GPU found"
else
    torch_args=(torch==2.13.0)
    torch_kind="CPU build, no GPU found"
fi

# Everything that decides what pip installs; unchanged → skip pip entirely.
stamp_key="$(
    {
        "$PY" -c 'import sys; print(sys.version)'
        echo "${torch_args[*]}"
        cat pyproject.toml requirements/ci.txt scripts/setup.sh
    } | sha256sum | cut -d' ' -f1
)"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$stamp_key" ]] && "$PY" -c 'import assetgen' >/dev/null 2>&1; then
    : # up to date
else
    rm -f "$STAMP"
    say "installing torch (${torch_args[*]}; $torch_kind)"
    if [[ $use_pins == 1 ]]; then
        "$PY" -m pip install -q "${torch_args[@]}" -c requirements/ci.txt
    else
        "$PY" -m pip install -q "${torch_args[@]}"
    fi
    extras="open,test"
    [[ $has_gpu == 1 ]] && extras="open,test,cuda" # nvdiffrast: the CUDA renderer backend
    say "installing assetgen (editable, extras $extras) with requirements/ci.txt"
    "$PY" -m pip install -q -e ".[$extras]" -r requirements/ci.txt
    echo "$stamp_key" >"$STAMP"
    "$PY" - <<'EOF'
import platform

import torch

cuda = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU only"
print(f"[setup] ready: Python {platform.python_version()}, torch {torch.__version__} ({cuda})")
EOF
    if [[ $has_gpu == 1 ]] && ! "$PY" -c 'import sys, torch; sys.exit(torch.version.cuda is None)'; then
        say "note: a GPU is present but .venv has a CPU-only torch; remove .venv and re-run for the CUDA build"
    fi
fi

# 3. the built-in open head's data file (the module skips quietly when it is up to date)
"$PY" -m assetgen.heads.compile_open

# 4b. the gRPC stubs from proto/ (grpcio-tools; regenerated only when the proto or grpcio-tools changes)
"$PY" -m assetgen.service.protos

# 5. Node test tools (tests/js: Khronos glTF-Validator), exactly as pinned in package-lock.json
JS_DIR=tests/js
JS_STAMP="$JS_DIR/node_modules/.assetgen-lock-sha256" # inside node_modules: npm ci removes it first
if ! command -v npm >/dev/null 2>&1; then
    say "npm not found: skipping $JS_DIR (glTF-Validator tests will be skipped; install Node.js >= 18 with npm)"
else
    lock_sha="$(sha256sum "$JS_DIR/package-lock.json" | cut -d' ' -f1)"
    if [[ ! -f "$JS_STAMP" || "$(cat "$JS_STAMP")" != "$lock_sha" ]]; then
        say "installing Node test tools (npm ci --prefix $JS_DIR)"
        if npm ci --prefix "$JS_DIR" --no-audit --no-fund --loglevel=error; then
            echo "$lock_sha" >"$JS_STAMP"
        else
            die "npm ci --prefix $JS_DIR failed (see above)"
        fi
    fi
fi
