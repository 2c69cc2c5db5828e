"""``python -m assetgen.render``: a textured, lit portrait of one head (and its maps, and a turntable).

Examples::

    python -m assetgen.render --seed 7 --out head.png                        # 512² RGBA portrait
    python -m assetgen.render --seed 7 --yaw 30 --size 1024 --out head.png --textures-out maps/
    python -m assetgen.render --seed 7 --turntable 8 --out turntable.png     # contact sheet of 8 views

The head comes from the latent door (``--seed``, ``--truncation``) through the same pipeline as every other
front door (:func:`assetgen.pipeline.head_surface`). Errors: one line on stderr, exit status 2, no file
written.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from assetgen import control
from assetgen.io import atomic_write_bytes, encode_png

__all__ = ["main"]

MAX_TURNTABLE = 64


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise ValueError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m assetgen.render", description="Render a textured, lit head portrait (PNG, alpha).")
    p.add_argument("--model", default="open", help="'open' (built-in head) or a FLAME .pkl / folder")
    p.add_argument("--seed", type=int, default=0, help="latent seed of the head (default 0)")
    p.add_argument("--truncation", type=float, default=1.0, metavar="PSI", help="latent truncation in [0, 1]")
    p.add_argument("--yaw", type=float, default=0.0, help="camera yaw in degrees (positive: the head's left)")
    p.add_argument("--pitch", type=float, default=0.0, help="camera pitch in degrees")
    p.add_argument("--size", type=int, default=512, help="portrait pixels a side (default 512)")
    p.add_argument("--lighting", default="studio", help="lighting preset: studio, soft, outdoor, dramatic")
    p.add_argument("--backend", default="auto", choices=("auto", "cpu", "cuda"), help="renderer backend")
    p.add_argument("--texture-size", type=int, default=1024, help="texels a side of the maps (default 1024)")
    p.add_argument("--textures-out", type=Path, help="also write albedo/normal/orm/displacement PNGs here")
    p.add_argument("--turntable", type=int, default=0, metavar="N",
                   help=f"write a contact sheet of N views around the head (2..{MAX_TURNTABLE}) instead")
    p.add_argument("--out", type=Path, required=True, help="output PNG file")
    return p


def run(args: argparse.Namespace) -> Path:
    from assetgen.pipeline import PipelineOptions, head_surface, load_model
    from assetgen.render import contact_sheet, render_portrait

    if args.out.suffix.lower() != ".png":
        raise ValueError(f"--out: expected a .png file name, got {str(args.out)!r}")
    if not args.out.parent.is_dir():
        raise ValueError(f"--out: folder {str(args.out.parent)!r} does not exist")
    if args.turntable and not 2 <= args.turntable <= MAX_TURNTABLE:
        raise ValueError(f"--turntable: expected 2..{MAX_TURNTABLE} views, got {args.turntable}")
    if not (0.0 <= args.truncation <= 1.0):
        raise ValueError(f"--truncation: expected psi in [0, 1], got {args.truncation}")
    try:
        PipelineOptions(texture_size=args.texture_size)
    except ValueError as exc:
        raise ValueError(f"--texture-size:{str(exc).partition(':')[2]}") from None
    if args.model != "open" and not Path(args.model).exists():
        raise ValueError(f"--model: {args.model!r} is neither 'open' nor an existing FLAME .pkl file or folder")
    model = load_model(args.model)
    spec = control.spec_from_seed(args.seed, model, psi=args.truncation)
    surface = head_surface(spec, model=model, texture_size=args.texture_size)
    views = args.turntable or 1
    yaws = [args.yaw + 360.0 * i / views for i in range(views)]
    vertices = surface.vertices[None].expand(views, -1, -1)
    res = render_portrait(model, vertices, surface.textures, yaw_deg=yaws, pitch_deg=args.pitch, size=args.size,
                          lighting=args.lighting, backend=args.backend, supersample=2, outputs=("image", "alpha"))
    image, alpha = res.image.cpu(), res.alpha.cpu()
    if args.turntable:
        columns = min(views, max(4, int(math.ceil(math.sqrt(views)))))
        pixels = contact_sheet(image, columns, alpha=alpha)
    else:
        rgba = torch.cat([image[0], alpha[0]], dim=-1).numpy().astype(np.float64)
        pixels = np.clip(np.round(rgba * 255.0), 0, 255).astype(np.uint8)
    if args.textures_out is not None:
        from assetgen.textures.files import texture_files

        args.textures_out.mkdir(parents=True, exist_ok=True)
        for name, data in texture_files(surface.textures).items():
            atomic_write_bytes(args.textures_out / name, data)
    return atomic_write_bytes(args.out, encode_png(pixels))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0, or 2 with one line on stderr)."""
    try:
        path = run(build_parser().parse_args(argv))
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}", file=sys.stderr)
    return 0
