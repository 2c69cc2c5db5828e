"""Renderer speed: one 512² portrait of the open head, batched portraits/s, against the raw raster cost.

    python benchmarks/bench_render.py --device cpu --threads 2
    python benchmarks/bench_render.py --device cuda --batches 1,64,256

Prints the machine, then per configuration the median (and min–max) of ``--repeats`` timed runs after warm-up:

* ``portrait``: :func:`assetgen.render.render_portrait` end to end (camera, normals, tangents, raster,
  interpolate, texture lookups, SH + GGX shading, sRGB; all outputs), clay and textured (1K synthetic
  TextureSet, converted once to :class:`MaterialMaps`), supersample 1 and 2.
* ``raw raster``: the backend's rasterize alone on the same clip-space mesh and size (nvdiffrast on CUDA,
  ``raster_torch`` on CPU), measured in the same run; ``ratio`` = portrait time / raw raster time.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import assetgen.heads as heads  # noqa: E402
from assetgen.render import MaterialMaps, RenderMesh, get_backend, portrait_camera, render_portrait  # noqa: E402
from assetgen.render.synthetic import synthetic_texture_set  # noqa: E402
from common import machine  # noqa: E402


def timed(fn, device: str, repeats: int, warmup: int = 2) -> tuple[float, float, float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batches", default="1,64,256", help="CUDA batch sizes for portraits/s")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    print(f"machine: {machine(device)}; python {platform.python_version()}")
    print("command:", " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    model = heads.load("open", device=device)
    vertices = model().vertices.detach()
    mesh = RenderMesh.from_model(model).to(device)
    maps = MaterialMaps.from_texture_set(synthetic_texture_set(1024), device)
    backend = get_backend(device)
    size = args.size
    print(f"mesh: {model.faces.shape[0]} triangles, {mesh.split.num_vertices} split vertices; image {size}²; "
          f"backend {backend!r}")

    def raw(batch: int):
        cam = portrait_camera(vertices, yaw_deg=[0.0] * batch, size=size)
        clip = cam.to_clip(vertices[:, mesh.split.vertex_index].expand(batch, -1, -1)).contiguous()
        faces = mesh.render_faces.to(torch.int32 if device == "cuda" else torch.long).contiguous()
        return lambda: backend.rasterize(clip, faces, (size, size))

    batches = [1] if device == "cpu" else [int(b) for b in args.batches.split(",")]
    for batch in batches:
        yaws = [float(15 * (i % 13) - 90) for i in range(batch)]
        raw_t = timed(raw(batch), device, args.repeats)
        print(f"raw raster   batch {batch:4d}: {raw_t[0] * 1e3:8.3f} ms  (min {raw_t[1] * 1e3:.3f}, max "
              f"{raw_t[2] * 1e3:.3f}); {batch / raw_t[0]:10.1f} frames/s")
        for label, tex in (("clay", None), ("textured", maps)):
            for ss in ((1, 2) if batch <= 64 else (1,)):
                fn = lambda: render_portrait(model, vertices, tex, yaw_deg=yaws if batch > 1 else 0.0,  # noqa: E731
                                             size=size, backend=device, supersample=ss, mesh=mesh)
                t = timed(fn, device, args.repeats)
                print(f"portrait {label:8s} ss={ss} batch {batch:4d}: {t[0] * 1e3:8.2f} ms  (min {t[1] * 1e3:.2f}, "
                      f"max {t[2] * 1e3:.2f}); {batch / t[0]:8.1f} portraits/s; ratio to raw raster "
                      f"{t[0] / raw_t[0]:6.1f}x")


if __name__ == "__main__":
    main()
