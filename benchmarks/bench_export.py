"""Asset build + glb export of the open head: time per stage and file size.

    python benchmarks/bench_export.py [--lods 3] [--size 1024] [--textures smooth|noise] [--threads 2]

Stages (median of ``--repeats`` runs after a warm-up): ``build`` (``build_head_asset`` with ``lods=1``:
model evaluation, morph deltas and normals, seam split, tangents, skin weights), ``decimate`` (LOD 1..n-1
from LOD 0, ``decimate_part``), ``png`` (encoding the three maps alone) and ``glb`` (``export_glb``, PNG
included). The synthetic 1024² TextureSet is deterministic: ``smooth`` is low-frequency noise with a little
grain (±2.5 codes) and metallic 0, roughly like real maps; ``noise`` is white noise (worst case for PNG).
References in the same run: the glb with PNG level 6 (size and time), without morph normals, dense morphs.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import assetgen.heads as heads  # noqa: E402
from assetgen.asset import build_head_asset, decimate_part  # noqa: E402
from assetgen.textures import TextureSet  # noqa: E402
from exporters.gltf import export_glb  # noqa: E402
from common import machine  # noqa: E402


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """(median s, spread s, last result) of ``repeats`` calls after one warm-up."""
    result = fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), max(samples) - min(samples), result


def synthetic_textures(size: int, kind: str, seed: int = 0) -> TextureSet:
    g = torch.Generator().manual_seed(seed)

    def smooth(channels: int, base: float, amp: float) -> np.ndarray:
        low = torch.rand(1, channels, 32, 32, generator=g)
        img = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)[0]
        img = base + amp * (img - 0.5) + 0.01 * torch.randn(channels, size, size, generator=g)
        return (img.clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)

    if kind == "noise":
        rng = np.random.default_rng(seed)
        maps = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(3)]
    else:
        normal = smooth(3, 0.5, 0.15)
        normal[..., 2] = 255 - normal[..., 2] // 8  # mostly +Z
        orm = smooth(3, 0.6, 0.5)
        orm[..., 0] = 255 - orm[..., 0] // 4  # occlusion mostly bright
        orm[..., 2] = 0  # skin is not metallic
        maps = [smooth(3, 0.6, 0.4), normal, orm]
    return TextureSet(albedo=maps[0], normal=maps[1], orm=maps[2], displacement=np.zeros((size, size), np.uint16),
                      displacement_offset_m=0.0, displacement_scale_m=1e-3, provenance={"generator": f"bench {kind}"})


def png_bytes(a: np.ndarray, level: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lods", type=int, default=3)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--textures", choices=("smooth", "noise"), default="smooth")
    ap.add_argument("--threads", type=int, default=2, help="torch threads and PNG threads")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {machine()}; Python {platform.python_version()}, torch {torch.__version__}")
    print(f"# {' '.join(sys.argv)}")

    model = heads.load("open")
    g = torch.Generator().manual_seed(0)
    shape = ((torch.rand(model.num_shape, generator=g) - 0.5) * 0.4).to(model.dtype)
    tex = synthetic_textures(args.size, args.textures)
    prov = {"seed": 0, "spec_hash": "bench"}

    t_build, s_build, lod0 = timed(lambda: build_head_asset(model, shape, tex, lods=1, provenance=prov), args.repeats)

    def lods():
        return [[decimate_part(p, max(1, round(p.num_triangles * 0.5 ** level))) for p in lod0.lods[0].parts]
                for level in range(1, args.lods)]

    t_dec, s_dec, _ = timed(lods, args.repeats)
    asset = build_head_asset(model, shape, tex, lods=args.lods, provenance=prov)
    t_png, s_png, _ = timed(lambda: [png_bytes(m, 1) for m in (tex.albedo, tex.normal, tex.orm)], args.repeats)
    t_glb, s_glb, glb = timed(lambda: export_glb(asset, png_threads=args.threads), args.repeats)
    total = t_build + t_dec + t_glb

    print(f"open head, {args.lods} LODs ({', '.join(str(lod.num_triangles) for lod in asset.lods)} triangles), "
          f"{len(asset.morph_target_names)} morph targets, {args.size}² {args.textures} textures")
    print(f"build      {t_build * 1e3:7.1f} ms  (spread {s_build * 1e3:.1f})")
    print(f"decimate   {t_dec * 1e3:7.1f} ms  (spread {s_dec * 1e3:.1f})")
    print(f"glb        {t_glb * 1e3:7.1f} ms  (spread {s_glb * 1e3:.1f}; of which PNG level 1, serial: "
          f"{t_png * 1e3:.1f} ms)")
    print(f"total      {total * 1e3:7.1f} ms  (target for this part: <= 600 ms)")
    print(f"glb size   {len(glb) / 1e6:7.2f} MB  (target for the whole head: <= 6 MB)")
    _breakdown(glb)

    print("# references, same run")
    t6, _, glb6 = timed(lambda: export_glb(asset, png_threads=args.threads, png_compress_level=6), 1)
    print(f"png level 6     {t6 * 1e3:7.1f} ms  {len(glb6) / 1e6:6.2f} MB  (ratio time {t6 / t_glb:.2f}, "
          f"size {len(glb6) / len(glb):.2f})")
    t1, _, glb_1t = timed(lambda: export_glb(asset, png_threads=1), 1)
    print(f"png 1 thread    {t1 * 1e3:7.1f} ms  (ratio {t1 / t_glb:.2f})")
    no_n = export_glb(asset, morph_normals=False)
    print(f"no morph normals          {len(no_n) / 1e6:6.2f} MB")
    dense = export_glb(asset, sparse_morphs=False)
    print(f"dense morphs              {len(dense) / 1e6:6.2f} MB")


def _breakdown(glb: bytes) -> None:
    import pygltflib

    g = pygltflib.GLTF2.load_from_bytes(glb)
    images = {g.images[i].bufferView for i in range(len(g.images))}
    sparse = {v for a in g.accessors if a.sparse for v in (a.sparse.indices.bufferView, a.sparse.values.bufferView)}
    morph_dense = set()
    for mesh in g.meshes:
        for p in mesh.primitives:
            for t in p.targets:
                for acc in (t.values() if isinstance(t, dict) else ()):
                    if g.accessors[acc].bufferView is not None:
                        morph_dense.add(g.accessors[acc].bufferView)
    sizes = {"images": 0, "morphs": 0, "vertices+indices+other": 0}
    for i, bv in enumerate(g.bufferViews):
        key = "images" if i in images else "morphs" if i in sparse | morph_dense else "vertices+indices+other"
        sizes[key] += bv.byteLength
    json_len = int.from_bytes(glb[12:16], "little")
    parts = [f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items()] + [f"JSON {json_len / 1e6:.2f} MB"]
    print("           " + ", ".join(parts))


if __name__ == "__main__":
    main()
