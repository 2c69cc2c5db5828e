"""Animation clips: glb export cost of a 10 s, 30 fps, 52-channel clip and Live Link Face CSV import speed.

    python benchmarks/bench_animation.py [--repeats 5] [--threads 2] [--capture-min 10]

* ``clip``: Sequence → Animation (``sequence_to_animation``) of a 10 s talk+blink+look-around+nod clip with all
  52 ARKit channels (random-walk values on the channels the presets leave at 0) at 30 fps, plus neck/eye/jaw
  rotations;
* ``export delta``: ``export_glb`` of the open head (LOD 0 only, 64² textures) with the clip minus without it:
  the animation part of export (issue 6 target ≤ 0.5 s on the 2-core CPU);
* ``csv import``: ``read_livelink_csv`` of a synthetic ``--capture-min`` minute capture at 60 fps (default 10
  min = 36,000 rows), resampled to 30 fps (target ≤ 2 s);
* ``text``: a four-step prompt → Sequence (keywords), and two paraphrases through the sentence encoder;
* ``PC2``: the baked vertex cache of the 10 s clip; ``fit``: the ARKit → FLAME mapping on the FLAME fixture.
Each figure is the median of ``--repeats`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import assetgen.heads as heads  # noqa: E402
from assetgen.animation import (Sequence, attach_animations, preset, read_livelink_csv,  # noqa: E402
                                sequence_to_animation, write_livelink_csv)
from assetgen.asset import build_head_asset  # noqa: E402
from assetgen.control import ARKIT_52  # noqa: E402
from assetgen.animation import sequence_from_text  # noqa: E402
from assetgen.animation.retarget import fit_mapping, open_source  # noqa: E402
from common import machine  # noqa: E402
from exporters.vertex_cache import vertex_cache_files  # noqa: E402
from flame_fixture import write_flame_folder  # noqa: E402
from exporters.gltf import export_glb  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, object]:
    result = fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def full_clip(model, seconds: float = 10.0, fps: float = 30.0) -> Sequence:
    """All 52 channels animated (presets + a seeded random walk on the rest), with rotations."""
    seq = preset("talk", model, duration=seconds, fps=fps, seed=1)
    for name, off in (("blink", 2.0), ("look_around", 0.0), ("nod", 0.0)):
        seq = seq.blend(preset(name, model, duration=None if name == "blink" else seconds, fps=fps), offset=off)
    rng = np.random.default_rng(0)
    rest = [c for c in ARKIT_52 if c not in seq.channels]
    walk = np.clip(np.cumsum(rng.normal(0, 0.02, (seq.num_frames, len(rest))), 0), 0, 1)
    extra = Sequence(seq.times, tuple(rest), walk)
    return seq.blend(extra, name="full").with_channels(ARKIT_52)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--capture-min", type=float, default=10.0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model = heads.load("open")
    print(f"machine: {machine()}")
    asset = build_head_asset(model, None, None, lods=1, provenance={})
    seq = full_clip(model)
    assert len(seq.channels) == 52 and seq.num_frames == 301
    t_clip, clip = timed(lambda: sequence_to_animation(seq, asset), args.repeats)
    animated = attach_animations(asset, [clip])
    t_plain, plain = timed(lambda: export_glb(asset), args.repeats)
    t_anim, data = timed(lambda: export_glb(animated), args.repeats)
    print(f"clip 10 s @30 fps, 52 channels + rotations ({seq.num_frames} keys): Sequence→Animation "
          f"{t_clip * 1e3:.1f} ms")
    print(f"export_glb without clip {t_plain:.3f} s, with clip {t_anim:.3f} s: animation part "
          f"{(t_anim - t_plain + t_clip) * 1e3:.1f} ms incl. conversion (target <= 500 ms); "
          f"+{(len(data) - len(plain)) / 1024:.0f} KiB")
    # a long capture: the 4 s sample pattern repeated, written at 60 fps
    minutes = args.capture_min
    base = full_clip(model, seconds=10.0, fps=60.0)
    reps = int(np.ceil(minutes * 60 / 10.0))
    long = base.loop(reps).trim(0.0, minutes * 60)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.csv"
        write_livelink_csv(long, path, timecode_fps=60, start=3600.0)
        size = path.stat().st_size
        t_csv, take = timed(lambda: read_livelink_csv(path, fps=30), args.repeats)
    print(f"csv import {minutes:g} min @60 fps ({long.num_frames} rows, {size / 2**20:.1f} MiB) → "
          f"{take.num_frames} frames @30 fps: {t_csv:.3f} s (target <= 2 s)")
    # text → sequence (keyword layer, then a paraphrase through the sentence encoder after it is loaded)
    prompt = "smiles, then blinks twice and looks left, then nods slowly"
    t_text, said = timed(lambda: sequence_from_text(prompt, model, use_encoder=False), args.repeats)
    sequence_from_text("agrees", model)  # loads the encoder and the anchors
    t_enc, _ = timed(lambda: sequence_from_text("agrees, then is taken aback", model), args.repeats)
    print(f"text → sequence: {t_text * 1e3:.1f} ms keywords ({said.sequence.duration:.2f} s clip), "
          f"{t_enc * 1e3:.1f} ms with two encoder paraphrases")
    # baked vertex cache of the 10 s clip (LOD0, 4,872 points × 301 frames)
    t_pc2, files = timed(lambda: vertex_cache_files(animated, fps=30), args.repeats)
    print(f"PC2 vertex cache of the 10 s clip: {t_pc2:.3f} s, {len(files['cache/full.pc2']) / 2**20:.1f} MiB")
    # ARKit → FLAME mapping fit on the FLAME-format fixture (300 + 100 components)
    with tempfile.TemporaryDirectory() as tmp:
        flame = heads.load(write_flame_folder(tmp).folder)
        src = open_source(model)
        t_fit, mapping = timed(lambda: fit_mapping(src, flame, model_id="bench"), max(1, args.repeats // 2))
    print(f"ARKit → FLAME fit ({flame.num_vertices} vertices, {flame.num_expression} coefficients, "
          f"{mapping.card['points']} face points): {t_fit:.2f} s; open-head source: 52 shapes")


if __name__ == "__main__":
    main()
