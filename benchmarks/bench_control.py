"""Latent door throughput: ``specs_from_latents(Z [N, 512]) → list[HeadSpec]`` on the CPU.

    python benchmarks/bench_control.py [--count 10000] [--repeats 7] [--model open|flame] [--json FILE]

Prints the machine, the median time (and spread) of the batched path for ``--count`` latents, and in the same
run two references: the mapper alone (``ProceduralMapper.map`` → arrays, no spec objects) and the one-at-a-time
path (``spec_from_latent`` per latent, measured on 500 latents and scaled), with the ratios. Also the seed →
latent generator. The target of issue 5 is 10,000 latents → specs in ≤ 1 s on CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from assetgen.control import (  # noqa: E402
    OPEN_INFO,
    ModelInfo,
    ProceduralMapper,
    latents_from_seeds,
    spec_from_latent,
    specs_from_latents,
)
from common import machine  # noqa: E402


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times) * 1e3:8.1f} ms  (min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--model", choices=("open", "flame"), default="open")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    info = OPEN_INFO if args.model == "open" else ModelInfo("flame:0000000000000000", "flame", 300, 100)

    print(f"machine: {machine()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}; command: {' '.join(sys.argv)}")
    print(f"model: {info.id} ({info.num_shape} shape, {info.num_expression} expression)")

    seeds = list(range(args.count))
    t_seeds = timed(lambda: latents_from_seeds(seeds), max(1, args.repeats // 2))
    z = latents_from_seeds(seeds)
    mapper = ProceduralMapper()
    t_map = timed(lambda: mapper.map(z, info, psi=0.7), args.repeats)
    t_specs = timed(lambda: specs_from_latents(z, info, psi=0.7, seeds=seeds), args.repeats)
    few = min(500, args.count)
    t_single = timed(lambda: [spec_from_latent(z[i], info, psi=0.7, seed=i) for i in range(few)], 3)
    single_scaled = [t * args.count / few for t in t_single]

    med = statistics.median(t_specs)
    print(f"seeds → latents      {args.count:6d}: {summary(t_seeds)}")
    print(f"mapper only (arrays) {args.count:6d}: {summary(t_map)}")
    print(f"specs_from_latents   {args.count:6d}: {summary(t_specs)}   "
          f"{args.count / med:,.0f} specs/s; {med / statistics.median(t_map):.1f}× the mapper alone")
    print(f"one at a time        {args.count:6d}: {summary(single_scaled)}   (from {few}; batched is "
          f"{statistics.median(single_scaled) / med:.1f}× faster)")
    print(f"target ≤ 1 s for 10,000: {'met' if med * 10_000 / args.count <= 1.0 else 'NOT met'} "
          f"({med * 10_000 / args.count:.3f} s per 10,000)")
    if args.json is not None:
        args.json.write_text(json.dumps({
            "machine": machine(), "count": args.count, "model": info.id, "seeds_s": t_seeds, "mapper_s": t_map,
            "specs_s": t_specs, "single_scaled_s": single_scaled}, indent=2))


if __name__ == "__main__":
    main()
