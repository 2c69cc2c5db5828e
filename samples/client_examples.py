"""One example per RPC of ``assetgen.v1.AssetGenerator``, through :class:`assetgen.client.AssetGenClient`.

Start a server (``python server.py``), then::

    python samples/client_examples.py --target 127.0.0.1:50051 --out out/client_examples
    python samples/client_examples.py --target host:50051 --token-file token.txt --tls-ca ca.pem

``--tiny`` asks for 64-texel textures and one LOD (quick checks).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assetgen.client import AssetGenClient  # noqa: E402


def describe_models(c: AssetGenClient) -> None:
    resp = c.describe()
    for m in resp.models:
        print(f"[DescribeModels] {m.id} ({m.kind}, {m.license}): formats {list(m.formats)}, "
              f"{sum(len(s.controls) for s in m.sections)} controls")
    print(f"[DescribeModels] limits: crowd ≤ {resp.limits.max_crowd_size}, texture ≤ {resp.limits.max_texture_size}")


def generate_asset(c: AssetGenClient, out: Path, export: dict) -> None:
    manifest = c.generate(out / "asset", text="a smiling old man with a beard", text_seed=3, export=export,
                          replace=True)
    print(f"[GenerateAsset] {out / 'asset'}: {len(manifest['files'])} files, spec {manifest['spec_hash'][:12]}")
    # clips baked into the asset, as `python -m exporters.gltf --seed 7 --animation blink,talk --fps 24`
    anim = {**export, "animations": ["blink", "talk"], "animation_fps": 24}
    manifest = c.generate(out / "asset_animated", seed=7, export=anim, replace=True)
    print(f"[GenerateAsset] {out / 'asset_animated'}: head.glb with clips blink, talk "
          f"({manifest['files']['head.glb']['bytes']} bytes)")


def render_portrait(c: AssetGenClient, out: Path, size: int) -> None:
    pngs = c.render_portrait([(0, 0, size), (35, 5, size)], seed=7, lighting="dramatic", out_dir=out / "portraits")
    print(f"[RenderPortrait] {len(pngs)} PNGs in {out / 'portraits'}")


def generate_crowd(c: AssetGenClient, out: Path, export: dict) -> None:
    rules = {"has_sex_ratio": True, "female_fraction": 0.5, "min_age_years": 25, "max_age_years": 60}
    for i, manifest in c.crowd(out / "crowd", seed=100, count=2, export=export, rules=rules, replace=True):
        ident = manifest["spec"]["identity"]
        print(f"[GenerateCrowd] head {i}: sex {ident['sex']}, age {ident['age']:.0f}")


def animate(c: AssetGenClient, out: Path, export: dict) -> None:
    header, _ = c.generate_files(seed=7, export=export)
    manifest = c.animate(out / "animated", spec_json=header.spec_json, preset="smile,blink", export=export,
                         replace=True)
    print(f"[Animate] {out / 'animated'}: head.glb with clip 'smile+blink', {manifest['files']['head.glb']['bytes']} "
          "bytes")
    keys = [(0.0, {"jawOpen": 0.0}), (0.5, {"jawOpen": 0.8, "mouthFunnel": 0.3}), (1.0, {"jawOpen": 0.0})]
    head, frames = c.animate_frames(keyframes=keys, fps=30)
    jaw = list(head.expression_names).index("jawOpen")
    peak = max(f.weights[jaw] for f in frames)
    print(f"[Animate] frames: {head.frames} at {head.fps:g} fps, jawOpen peaks at {peak:.2f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", default="127.0.0.1:50051")
    p.add_argument("--out", type=Path, default=Path("out/client_examples"))
    p.add_argument("--token-file", type=Path, default=None)
    p.add_argument("--tls-ca", type=Path, default=None)
    p.add_argument("--tiny", action="store_true", help="64-texel textures, one LOD, small portraits")
    args = p.parse_args(argv)
    token = args.token_file.read_text().strip() if args.token_file else None
    export = {"texture_size": 64, "lods": 1, "preview_size": 64} if args.tiny else {"texture_size": 1024}
    args.out.mkdir(parents=True, exist_ok=True)
    with AssetGenClient(args.target, token=token, tls_ca=args.tls_ca) as c:
        describe_models(c)
        generate_asset(c, args.out, export)
        render_portrait(c, args.out, 64 if args.tiny else 512)
        generate_crowd(c, args.out, export)
        animate(c, args.out, export)
    return 0


if __name__ == "__main__":
    sys.exit(main())
