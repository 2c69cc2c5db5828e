"""HeadModel.forward throughput against smplx.FLAMELayer on the same FLAME-format model, same run.

    python benchmarks/bench_heads.py --device cpu --threads 2 --batches 1,64,1024
    python benchmarks/bench_heads.py --device cuda --batches 1,1024,16384

Prints one line per (model, batch): meshes/s (median of ``--repeats`` timed samples after warm-up), and for
FLAME the ratio to smplx measured in the same run. The samples of ours and smplx (and, on CUDA, the graph
replay) are interleaved — ours, smplx, smplx, ours, … — so both see the same state of a shared machine; the
spread printed is the range of the per-pair ratios. fp32, no grad, all pose inputs given (global, neck,
jaw, both eyes) plus shape and expression. The FLAME-format model is the test fixture
(``tests/flame_fixture.py``, FLAME 2020 layout, 300 shape + 100 expression components); the real FLAME file
cannot be downloaded here. ``--json FILE`` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import assetgen.heads as heads  # noqa: E402
from assetgen.heads import lbs  # noqa: E402
from assetgen.heads.cuda_graph import CudaGraphForward  # noqa: E402
from flame_fixture import write_flame_folder  # noqa: E402
from common import machine  # noqa: E402


def _calibrate(fn, sync, min_time: float) -> int:
    """Calls per sample so that one sample lasts about ``min_time`` (after 3 warm-up calls)."""
    for _ in range(3):
        fn()
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return max(1, int(min_time / max(time.perf_counter() - start, 1e-6)))


def _sample(fn, sync, inner: int) -> float:
    sync()
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    sync()
    return (time.perf_counter() - start) / inner


def timed(fn, device: str, repeats: int, min_time: float = 0.2) -> float:
    """Median seconds per call of ``fn`` (each sample loops until ``min_time`` has passed)."""
    return statistics.median(timed_samples([fn], device, repeats, min_time)[0])


def timed_samples(fns: list, device: str, repeats: int, min_time: float = 0.2) -> list[list[float]]:
    """``repeats`` samples (seconds per call) of each function, interleaved.

    Round ``r`` times the functions in order, then in reverse order (ABBA…), so a slow phase of a shared
    machine hits all of them alike instead of whichever happened to run then.
    """
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    inner = [_calibrate(fn, sync, min_time) for fn in fns]
    samples: list[list[float]] = [[] for _ in fns]
    for r in range(repeats):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            samples[i].append(_sample(fns[i], sync, inner[i]))
    return samples


def inputs(model, batch: int, device: str, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    r = lambda *s, scale=0.1: (torch.randn(*s, generator=g) * scale).to(device)  # noqa: E731
    shape = r(batch, model.num_shape, scale=1.0)
    bounds = model.shape_bounds()
    if bounds is not None:
        shape = shape.clamp(bounds[0].to(device) * 0.5, bounds[1].to(device) * 0.5)
    expr = r(batch, model.num_expression, scale=0.5)
    if model.model_id == "open":
        expr = expr.abs().clamp(max=1.0)
    return dict(shape=shape, expression=expr, global_orient=r(batch, 3), neck_pose=r(batch, 3),
                jaw_pose=r(batch, 3), eye_pose=r(batch, 2, 3), translation=r(batch, 3))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--batches", default=None, help="comma list (default cpu 1,64,1024; cuda 1,1024,16384)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--subdivisions", type=int, default=4, help="fixture mesh density (4 → 3,846 vertices)")
    parser.add_argument("--no-open", action="store_true", help="skip the open head")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("bench_heads: --device cuda but CUDA is not available", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in (args.batches or ("1,64,1024" if args.device == "cpu" else "1,1024,16384")).split(",")]
    import smplx

    rows = []
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        fx = write_flame_folder(Path(tmp) / "flame", subdivisions=args.subdivisions)
        ours = heads.load(fx.model, device=args.device)
        # smplx reads <folder>/FLAME_NEUTRAL.pkl and the two landmark embeddings beside it.
        ref_dir = Path(tmp) / "smplx"
        ref_dir.mkdir()
        for src, dst in ((fx.model.name, "FLAME_NEUTRAL.pkl"), ("flame_static_embedding.pkl",) * 2,
                         ("flame_dynamic_embedding.npy",) * 2):
            shutil.copy(fx.folder / src, ref_dir / dst)
        # Same work on both sides: vertices, joints and 68 landmarks (51 static + 17 yaw-dependent contour).
        ref = smplx.FLAMELayer(model_path=str(ref_dir), num_betas=ours.num_shape, use_face_contour=True,
                               num_expression_coeffs=ours.num_expression).to(args.device).eval()
        print(f"# machine: {machine(args.device)}; smplx FLAMELayer {version('smplx')}")
        print(f"# command: {' '.join(sys.argv)}")
        print(f"# FLAME-format fixture: {ours.num_vertices} vertices, {ours.num_shape} shape + "
              f"{ours.num_expression} expression, fp32, no grad")
        for batch in batches:
            x = inputs(ours, batch, args.device)
            rot = lambda v: lbs.axis_angle_to_matrix(v).unsqueeze(1)  # noqa: E731
            ref_kwargs = dict(betas=x["shape"], expression=x["expression"], global_orient=rot(x["global_orient"]),
                              neck_pose=rot(x["neck_pose"]), jaw_pose=rot(x["jaw_pose"]),
                              leye_pose=rot(x["eye_pose"][:, 0]), reye_pose=rot(x["eye_pose"][:, 1]),
                              transl=x["translation"])
            err = (ours(**x).vertices - ref(**ref_kwargs).vertices).abs().max().item()
            fns = [lambda: ours(**x), lambda: ref(**ref_kwargs)]
            if args.device == "cuda":  # the same forward replayed as a CUDA graph (CudaGraphForward)
                graph = CudaGraphForward(ours, batch)
                gerr = (graph(**x).vertices - ours(**x).vertices).abs().max().item()
                fns.append(lambda: graph(**x))
            samples = timed_samples(fns, args.device, args.repeats)
            t_ours, t_ref = statistics.median(samples[0]), statistics.median(samples[1])
            pair = [r / o for o, r in zip(samples[0], samples[1])]
            row = dict(model="flame-fixture", device=args.device, batch=batch, meshes_per_s=batch / t_ours,
                       smplx_meshes_per_s=batch / t_ref, ratio=t_ref / t_ours, pair_ratio_min=min(pair),
                       pair_ratio_max=max(pair), max_abs_err_m=err)
            rows.append(row)
            print(f"flame  batch {batch:>6}: ours {row['meshes_per_s']:>12,.0f} meshes/s | smplx "
                  f"{row['smplx_meshes_per_s']:>12,.0f} meshes/s | ratio {row['ratio']:5.2f}x "
                  f"(pairs {min(pair):.2f}-{max(pair):.2f}) | max err {err:.1e} m")
            if args.device == "cuda":
                t_graph = statistics.median(samples[2])
                rows.append(dict(model="flame-fixture/cuda-graph", device=args.device, batch=batch,
                                 meshes_per_s=batch / t_graph, smplx_meshes_per_s=batch / t_ref,
                                 ratio=t_ref / t_graph, max_abs_err_m=gerr))
                print(f"flame  batch {batch:>6}: graph {batch / t_graph:>11,.0f} meshes/s | smplx "
                      f"{batch / t_ref:>12,.0f} meshes/s | ratio {t_ref / t_graph:5.2f}x | vs eager {gerr:.1e} m")
        if not args.no_open:
            open_head = heads.load("open", device=args.device)
            for batch in batches:
                x = inputs(open_head, batch, args.device)
                t = timed(lambda: open_head(**x), args.device, args.repeats)
                rows.append(dict(model="open", device=args.device, batch=batch, meshes_per_s=batch / t))
                print(f"open   batch {batch:>6}: ours {batch / t:>12,.0f} meshes/s "
                      f"({open_head.num_vertices} vertices, {open_head.num_shape} shape, "
                      f"{open_head.num_expression} expression)")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(args.device), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
