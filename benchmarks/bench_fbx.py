"""FBX conversion time through Blender (``exporters.fbx.export_fbx``), reported apart from the glb export.

    python benchmarks/bench_fbx.py [--size 1024] [--lods 3] [--repeats 3] [--blender PATH] [--animation blink,talk]

The open head at ``--size``² textures (the smooth synthetic maps of ``bench_export.py``), ``--lods`` levels and
a 1 s ``jaw_open`` clip (52 morph weights + jaw rotation), plus the ``--animation`` presets at 30 fps (each one
more FBX take), is exported once to glb; then, per preset, the median of ``--repeats`` FBX conversions of those
glb bytes (after one warm-up, which fills the OS file cache for Blender) split into Blender start+exit, glTF
import, scene fixes and FBX writing (which bakes every take at every frame), and the FBX size.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import assetgen.heads as heads  # noqa: E402
from assetgen.asset import Animation, build_head_asset  # noqa: E402
from bench_export import machine, synthetic_textures  # noqa: E402
from exporters.fbx import export_fbx, find_blender  # noqa: E402
from exporters.gltf import export_glb  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--lods", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--blender", default=None)
    ap.add_argument("--animation", default="", help="comma list of presets added after jaw_open (more takes)")
    args = ap.parse_args()
    exe = find_blender(args.blender)
    print(f"# {machine()}; Python {platform.python_version()}, torch {torch.__version__}; Blender {exe}")
    print(f"# {' '.join(sys.argv)}")

    model = heads.load("open")
    asset = build_head_asset(model, None, synthetic_textures(args.size, "smooth"), lods=args.lods,
                             provenance={"seed": 0, "spec_hash": "bench"})
    names = list(asset.morph_target_names)
    k = 5
    w = np.zeros((k, len(names)), np.float32)
    w[:, names.index("jawOpen")] = [0, 0.5, 1, 0.5, 0]
    ang = 0.3 * np.array([0, 0.5, 1, 0.5, 0])
    jaw = np.stack([np.sin(ang / 2), 0 * ang, 0 * ang, np.cos(ang / 2)], 1).astype(np.float32)
    asset = dataclasses.replace(asset, animations=(Animation("jaw_open", np.linspace(0, 1, k).astype(np.float32),
                                                             morph_weights=w, joint_rotations={"jaw": jaw}),))
    if args.animation:
        from assetgen.animation import attach_animations, preset

        asset = attach_animations(asset, [preset(n, model, fps=30) for n in args.animation.split(",")])
    frames = sum(round(float(a.times[-1]) * 30) + 1 for a in asset.animations)
    t0 = time.perf_counter()
    glb = export_glb(asset)
    t_glb = time.perf_counter() - t0
    print(f"open head, {args.lods} LODs ({', '.join(str(lod.num_triangles) for lod in asset.lods)} triangles), "
          f"{len(names)} morph targets, {args.size}² textures, {len(asset.animations)} clip(s), {frames} frames "
          f"to bake at 30 fps; glb {len(glb) / 1e6:.2f} MB in "
          f"{t_glb * 1e3:.0f} ms (not included below)")
    keys = ("blender_start", "import", "fix", "export")
    with tempfile.TemporaryDirectory() as tmp:
        for preset in ("unity", "unreal"):
            export_fbx(glb, Path(tmp) / f"warm_{preset}.fbx", preset=preset, blender=exe)
            runs = []
            for i in range(args.repeats):
                t0 = time.perf_counter()
                r = export_fbx(glb, Path(tmp) / f"{preset}_{i}.fbx", preset=preset, blender=exe)
                runs.append({**r.timings_s, "wall": time.perf_counter() - t0})
            med = {key: statistics.median(run[key] for run in runs) for key in (*keys, "wall")}
            spread = max(run["wall"] for run in runs) - min(run["wall"] for run in runs)
            parts = "  ".join(f"{key} {med[key] * 1e3:6.0f} ms" for key in keys)
            print(f"{preset:7s} total {med['wall'] * 1e3:6.0f} ms (spread {spread * 1e3:.0f})  {parts}  "
                  f"fbx {r.size_bytes / 1e6:.2f} MB  (Blender {r.blender_version})")


if __name__ == "__main__":
    main()
