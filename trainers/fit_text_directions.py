"""Fit the text door's measured attribute directions for the open head and ship them in the repository.

    .venv/bin/python -m trainers.fit_text_directions [--samples 2048] [--seed 0] [--out assetgen/control/data]

Writes ``text_directions_open.npz`` (per direction: σ, slope, accuracy, unit normal) and the model card
``text_directions_open.json`` (data, samples, method, held-out accuracy per direction), atomically. The recipe
is :func:`assetgen.control.directions.fit_directions` (InterFaceGAN-style linear SVMs, paper 004 §3.2.2) on
heads from the latent door measured by :mod:`assetgen.control.measure`. FLAME directions are not shipped:
they are fitted at first use for the studio's file and cached (a few seconds).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from assetgen.control.directions import DATA_DIR, fit_directions, save_directions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2048, help="heads sampled from the latent door")
    parser.add_argument("--seed", type=int, default=0, help="seed of the samples and the SVMs")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder")
    parser.add_argument("--dry-run", action="store_true", help="fit, print the card, write nothing")
    args = parser.parse_args(argv)
    from assetgen.heads import load

    start = time.perf_counter()
    directions = fit_directions(load("open"), n=args.samples, seed=args.seed)
    directions.card["fit_seconds"] = round(time.perf_counter() - start, 2)
    for key, row in sorted(directions.card["directions"].items()):
        print(f"{key:32s} accuracy {row['accuracy']:.3f}  slope {row['slope_mm']:7.2f} mm/unit  σ {row['sigma']:.3f}")
    if not args.dry_run:
        save_directions(directions, args.out / "text_directions_open.npz")
        print(f"wrote {args.out / 'text_directions_open.npz'} and its .json card")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
