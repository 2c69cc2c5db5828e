"""Text door benchmark: encoder load time, per-prompt latency (median, encoder loaded) and the evaluation score
on ``tests/data/text_eval.yaml`` (overall, per split, per model, per attribute), measured on generated heads.

    .venv/bin/python benchmarks/bench_text.py [--failures]

FLAME entries use the test FLAME fixture (``tests/flame_fixture.py``; the real FLAME cannot be downloaded here),
whose directions are fitted at first use (the time is printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--failures", action="store_true", help="print every failed check")
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    os.environ.setdefault("ASSETGEN_CACHE", tempfile.mkdtemp(prefix="assetgen-cache-"))
    from flame_fixture import write_flame_folder

    import assetgen.heads as heads
    from assetgen.control.directions import directions_for
    from assetgen.control.text import spec_from_text, warm_up
    from assetgen.control.text_encoder import load_seconds
    from assetgen.control.text_eval import evaluate, load_eval_set, median_ms

    t = time.perf_counter()
    warm = warm_up()
    print(f"encoder load {load_seconds():.2f} s; load + anchor embeddings {warm:.2f} s")
    open_model = heads.load("open")
    fx = write_flame_folder(tempfile.mkdtemp(), num_shape=100, num_expression=50)
    flame = heads.load(fx.folder, shape_space_dim=100)
    t = time.perf_counter()
    directions_for(flame)
    print(f"FLAME fixture directions fitted at first use in {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    directions_for("open")
    print(f"open-head shipped directions loaded in {1000 * (time.perf_counter() - t):.1f} ms")

    prompts = ["a very old man with a wide nose", "a weathered old fisherman, wide nose, smiling",
               "a young woman with freckles and blue eyes, slightly smiling", "grinning", "a person who looks heartbroken"]
    for p in prompts:
        spec_from_text(p)
    times = []
    for _ in range(5):
        for p in prompts:
            t = time.perf_counter()
            spec_from_text(p, seed=3)
            times.append(1000 * (time.perf_counter() - t))
    times.sort()
    print(f"spec_from_text latency (open, {len(times)} calls): median {times[len(times) // 2]:.1f} ms, "
          f"max {times[-1]:.1f} ms")

    entries = load_eval_set()
    report = evaluate(entries, {"open": open_model, "flame": flame})
    print(f"\nevaluation: {report.prompts} prompts, score {report.score:.3f} (prompts fully correct), "
          f"checks {report.check_score:.3f}; median door latency {median_ms(report):.1f} ms")
    for title, table in (("split", report.per_split), ("model", report.per_model),
                         ("attribute", report.per_attribute)):
        print(f"per {title}:")
        for name, (ok, total) in table.items():
            print(f"  {name:18s} {ok:3d}/{total:<3d} {ok / total:6.1%}")
    if report.failures:
        print(f"failures ({len(report.failures)}):")
        for line in report.failures if args.failures else report.failures[:10]:
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
