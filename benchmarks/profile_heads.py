"""Profile one HeadModel.forward configuration (op table, host syncs) — a tool for the benchmark's hot spots.

    python benchmarks/profile_heads.py --device cuda --batch 1 [--model flame|open]
    python benchmarks/profile_heads.py --device cpu --threads 2 --batch 1 --shapes   # per-shape rows
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).resolve().parent)]
from bench_heads import inputs, timed  # noqa: E402
from bench_heads import heads, write_flame_folder  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--model", choices=["flame", "open"], default="flame")
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--shapes", action="store_true", help="one row per (op, input shapes)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        source = "open" if args.model == "open" else write_flame_folder(Path(tmp) / "f", subdivisions=4).model
        model = heads.load(source, device=args.device)
        x = inputs(model, args.batch, args.device)
        print(f"median forward: {timed(lambda: model(**x), args.device, 7) * 1e3:.3f} ms")
        if args.device == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
            model(**x)
            torch.cuda.set_sync_debug_mode(0)
        acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if args.device == "cuda" else [])
        with torch.profiler.profile(activities=acts, record_shapes=args.shapes) as prof:
            for _ in range(20):
                model(**x)
            if args.device == "cuda":
                torch.cuda.synchronize()
        table = prof.key_averages(group_by_input_shape=args.shapes)
        print(table.table(sort_by="self_cpu_time_total", row_limit=args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
