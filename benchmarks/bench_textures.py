"""Benchmark of the procedural texture model.

CPU: median time per full 1K texture set (albedo + displacement + normal + ORM) with a stage breakdown.
CUDA: batched throughput (complete 1K sets per second, uint8/uint16 maps left on the device).

    python benchmarks/bench_textures.py                      # CPU
    python benchmarks/bench_textures.py --device cuda --batch 64
    python benchmarks/bench_textures.py --device cuda --batch 64 --profile   # + torch.profiler top ops
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from assetgen.heads import load
from assetgen.textures import procedural as proc


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def cpu(size: int, repeats: int) -> None:
    model = load("open")
    t0 = time.perf_counter()
    layout = proc.procedural_layout(model, size)
    print(f"layout build (once per model and size): {time.perf_counter() - t0:.2f} s")
    times, shaped = [], []
    for i in range(repeats):
        t = time.perf_counter()
        proc.generate_textures(model, size=size, seed=i, controls={"freckles": 0.3, "stubble": 0.4})
        times.append(time.perf_counter() - t)
    shape = torch.zeros(model.num_shape)
    shape[1] = 0.3
    for i in range(max(2, repeats // 2)):
        t = time.perf_counter()
        proc.generate_textures(model, size=size, seed=i, shape=shape)
        shaped.append(time.perf_counter() - t)
    # stage breakdown (neutral identity)
    ctl = {k: torch.tensor([v]) for k, v in proc.resolve_controls(None).items()}
    ctl["_seeds"] = torch.tensor([1])
    st = {}
    for _ in range(3):
        t = time.perf_counter(); proc._noise(layout, ctl["_seeds"], ctl["asymmetry"]); a = time.perf_counter()
        rgb, disp, slopes = proc._albedo_and_displacement(layout, ctl, ctl["_seeds"]); b = time.perf_counter()
        proc._slope_normals(slopes, layout, None); c = time.perf_counter()
        for k, v in (("noise gathers (incl. tangent-offset points)", a - t),
                     ("albedo+displacement+slopes (incl. noise)", b - a), ("normal map encode", c - b)):
            st.setdefault(k, []).append(v)
    print(f"CPU ({torch.get_num_threads()} threads) full {size}² set, neutral head: median "
          f"{statistics.median(times) * 1000:.0f} ms over {repeats} (min {min(times) * 1000:.0f} ms)")
    print(f"CPU full {size}² set with a new identity (frames + AO per identity): median "
          f"{statistics.median(shaped) * 1000:.0f} ms")
    for k, v in st.items():
        print(f"  stage {k}: {statistics.median(v) * 1000:.0f} ms")


def cuda(size: int, batch: int, repeats: int) -> None:
    model = load("open", device="cuda")
    proc.procedural_layout(model, size)
    seeds = list(range(batch))
    ctls = [{"skin_tone": 1 + 5 * (i % 11) / 10, "freckles": (i % 3) / 2} for i in range(batch)]
    proc.generate_texture_batch(model, ctls, seeds, size=size)
    _sync("cuda")
    times = []
    for r in range(repeats):
        t = time.perf_counter()
        out = proc.generate_texture_batch(model, ctls, [s + r * batch for s in seeds], size=size)
        _sync("cuda")
        times.append(time.perf_counter() - t)
    med = statistics.median(times)
    print(f"CUDA {torch.cuda.get_device_name()}: batch {batch} of {size}² sets: {med * 1000:.1f} ms "
          f"→ {batch / med:.0f} sets/s (peak mem {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB)")
    del out


def profile(size: int, batch: int) -> None:
    from torch.profiler import ProfilerActivity, profile as tprof

    model = load("open", device="cuda")
    ctls = [{"skin_tone": 1 + 5 * (i % 11) / 10, "freckles": (i % 3) / 2} for i in range(batch)]
    proc.generate_texture_batch(model, ctls, list(range(batch)), size=size)
    _sync("cuda")
    with tprof(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        proc.generate_texture_batch(model, ctls, list(range(batch)), size=size)
        _sync("cuda")
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25, max_name_column_width=60))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    if a.device == "cpu":
        cpu(a.size, a.repeats)
    else:
        for b in sorted({8, a.batch}):
            cuda(a.size, b, a.repeats)
        if a.profile:
            profile(a.size, a.batch)


if __name__ == "__main__":
    main()
