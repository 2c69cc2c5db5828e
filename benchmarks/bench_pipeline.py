"""End-to-end head generation: spec → mesh → 1K maps → LOD0–2 asset → bundle on disk, and a pack rate.

Targets (issue 4): one head ≤ 1.5 s on the 2-core CPU, a pack ≥ 40 heads/min, glb with PNG maps ≤ 6 MB.
Reference measured in the same run: trimesh's textured-glb export of the same LOD0 mesh with the same albedo
(what a generic tool writes: no skin, no morphs, no LODs, no normal/ORM maps), to put the figures in scale.

    .venv/bin/python benchmarks/bench_pipeline.py [--heads 20] [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assetgen import control  # noqa: E402
from assetgen.asset import build_head_asset  # noqa: E402
from assetgen.pipeline import PipelineOptions, head_surface, load_model, provenance_of, render_preview  # noqa: E402
from exporters.bundle import BundleOptions, write_bundle  # noqa: E402
from exporters.cli import main as pack_main  # noqa: E402
from common import machine  # noqa: E402


def one_head(seed: int, out: Path, options: PipelineOptions) -> dict[str, float]:
    """Time each stage of one head; returns seconds per stage and the glb size."""
    from assetgen.pipeline import GeneratedHead

    t = {}
    t0 = time.perf_counter()
    spec = control.spec_from_seed(seed)
    t["spec"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    surface = head_surface(spec, texture_size=options.texture_size)
    t["mesh+maps"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    prov = provenance_of(spec, surface.model, surface.textures, options)
    asset = build_head_asset(surface.model, surface.inputs.shape, surface.textures, lods=options.lods, provenance=prov,
                             expression=surface.inputs.expression)
    t["asset (LODs)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    preview = render_preview(surface.model, surface.vertices, surface.textures, spec, size=options.preview_size)
    t["preview"] = time.perf_counter() - t0
    head = GeneratedHead(spec=spec, inputs=surface.inputs, vertices=surface.vertices, textures=surface.textures,
                         asset=asset, preview=preview, provenance=prov)
    t0 = time.perf_counter()
    doc = write_bundle(head, out, BundleOptions(), replace=True)
    t["glb+PNGs on disk"] = time.perf_counter() - t0
    t["total"] = sum(v for k, v in t.items())
    t["glb MB"] = doc["files"]["head.glb"]["bytes"] / 1e6
    return t


def trimesh_reference(seed: int) -> tuple[float, float]:
    """Seconds and MB for trimesh writing the LOD0 mesh with the albedo as a textured glb."""
    import trimesh
    from PIL import Image

    from assetgen.geometry import split_uv_seams

    surface = head_surface(control.spec_from_seed(seed))
    model = surface.model
    split = split_uv_seams(model.faces, model.uv_faces)
    t0 = time.perf_counter()
    mesh = trimesh.Trimesh(surface.vertices[split.vertex_index].numpy(), split.faces.numpy(), process=False)
    mesh.visual = trimesh.visual.TextureVisuals(uv=model.uvs[split.uv_index].numpy(),
                                                image=Image.fromarray(surface.textures.albedo))
    data = mesh.export(file_type="glb")
    return time.perf_counter() - t0, len(data) / 1e6


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--heads", type=int, default=20, help="heads in the pack-rate run")
    p.add_argument("--repeats", type=int, default=5, help="single-head repeats (median)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    print(f"command: {' '.join(sys.argv)}")
    options = PipelineOptions()
    tmp = Path(tempfile.mkdtemp(prefix="bench_pipeline."))
    try:
        load_model("open")
        one_head(1000, tmp / "warm", options)  # warm-up: model, atlas and texture-layout caches
        runs = [one_head(1 + i, tmp / f"h{i}", options) for i in range(args.repeats)]
        print(f"\none head end to end (open, 1K maps, 3 LODs, 512² preview), median of {args.repeats}:")
        for key in runs[0]:
            values = [r[key] for r in runs]
            unit = "MB" if key.endswith("MB") else "s"
            print(f"  {key:>18}: {statistics.median(values):.3f} {unit}  (min {min(values):.3f}, max {max(values):.3f})")
        total = statistics.median(r["total"] for r in runs)
        size = statistics.median(r["glb MB"] for r in runs)
        ref_s, ref_mb = trimesh_reference(1)
        print(f"  target ≤ 1.5 s: {total:.2f} s → {1.5 / total:.2f}× headroom; glb {size:.2f} MB (target ≤ 6 MB)")
        print(f"  reference, trimesh textured glb of LOD0 + albedo only: {ref_s:.3f} s, {ref_mb:.2f} MB "
              f"(ours: {total / ref_s:.1f}× its time for the full rigged PBR bundle, {size / ref_mb:.2f}× its size)")

        t0 = time.perf_counter()
        code = pack_main(["--count", str(args.heads), "--seed", "0", "--out", str(tmp / "pack")])
        elapsed = time.perf_counter() - t0
        assert code == 0
        rate = 60 * args.heads / elapsed
        print(f"\npack of {args.heads} heads (exporters.cli main, in this process: model and layout caches warm): {elapsed:.1f} s → "
              f"{rate:.1f} heads/min (target ≥ 40: {rate / 40:.2f}×)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
