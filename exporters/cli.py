"""``python -m exporters.gltf``: offline packs of game-ready heads, one bundle folder per head.

Examples::

    python -m exporters.gltf --count 8 --seed 0 --out packs/demo                 # latent door: seeds 0..7
    python -m exporters.gltf --params head.yaml --out packs/one                  # parameters door
    python -m exporters.gltf --latent codes.npy --truncation 0.7 --out packs/z   # latent codes [N, 512]
    python -m exporters.gltf --edit "age += 20" --base packs/demo/head_0000/manifest.json --out packs/older
    python -m exporters.gltf --seed 3 --animation blink,smile,talk --loop 2 --out packs/anim   # animation clips
    python -m exporters.gltf --seed 3 --expression-csv take.csv --fps 30 --out packs/take      # Live Link Face
    python -m exporters.gltf --seed 3 --animation-text "smiles, then nods" --vertex-cache --out packs/t  # text, PC2

The pack folder holds ``head_0000/`` … (see :mod:`exporters.bundle`), ``index.json`` (every head's spec
hash, seed and file hashes) and ``contact_sheet.png``. It is assembled under a temporary name and renamed
when complete; an existing non-empty folder is refused unless ``--force``. Errors: one line on stderr and
exit status 2; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from assetgen import control
from assetgen.io import atomic_folder, atomic_write_bytes, encode_png, json_bytes
from assetgen.pipeline import MAX_TEXTURE_SIZE, PipelineOptions, generate_head, load_model
from exporters.bundle import FORMATS, BundleOptions, write_bundle

__all__ = ["MAX_COUNT", "main"]

MAX_COUNT = 10_000
"""Most heads one pack command writes (crowd jobs beyond that go through the crowd runner)."""


class CliError(Exception):
    """A bad argument or input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one readable line, not argparse's usage block
        raise CliError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m exporters.gltf", description="Write a pack of game-ready heads (glTF 2.0 / FBX).")
    src = p.add_argument_group("what heads (one door; default: latent codes from --seed)")
    src.add_argument("--seed", type=int, default=0, help="first seed; head i uses seed + i (default 0)")
    src.add_argument("--count", type=int, default=None, help=f"number of heads, 1..{MAX_COUNT} (default 1)")
    src.add_argument("--latent", type=Path, help="a .npy of latent codes, [512] or [N, 512]")
    src.add_argument("--params", type=Path, help="a JSON or YAML parameter document (one head)")
    src.add_argument("--text", help='a description, e.g. "an old fisherman with a hooked nose, frowning"')
    src.add_argument("--edit", help='an edit of --base: "age += 20; mouthSmileLeft += 0.3" or text ("make him older")')
    src.add_argument("--base", type=Path, help="the manifest.json of the head that --edit changes")
    src.add_argument("--truncation", type=float, default=1.0, metavar="PSI",
                     help="latent truncation psi in [0, 1]: smaller is more average (default 1)")
    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, required=True, help="pack folder to create")
    out.add_argument("--model", default="open", help="'open' (built-in head) or a FLAME .pkl / folder")
    out.add_argument("--lods", type=int, default=3, help="levels of detail 1..4 (default 3)")
    out.add_argument("--texture-size", type=int, default=1024,
                     help=f"texels a side, a power of two in 64..{MAX_TEXTURE_SIZE} (default 1024)")
    out.add_argument("--format", default="glb", choices=FORMATS, help="glb (default), fbx or both")
    out.add_argument("--fbx-preset", default="unity", choices=("unity", "unreal"), help="FBX axes and units")
    out.add_argument("--preview-size", type=int, default=512, help="preview portrait pixels (0: none)")
    out.add_argument("--force", action="store_true", help="replace an existing non-empty --out folder")
    from assetgen.animation import PRESETS

    anim = p.add_argument_group(
        "animation (clips added to every head's asset)",
        f"Presets: {', '.join(PRESETS)}. On FLAME heads ARKit weights (presets, text, captures) are turned into "
        f"FLAME expression coefficients by the model's ARKit mapping, fitted on first use and cached.")
    anim.add_argument("--animation", metavar="PRESETS", help="comma list of presets, e.g. blink,smile,talk")
    anim.add_argument("--animation-text", metavar="TEXT",
                      help="a clip from a description, e.g. 'smiles, then blinks twice and looks left'")
    anim.add_argument("--expression-csv", type=Path, metavar="TAKE.csv",
                      help="a Live Link Face capture CSV (52 ARKit columns, head and eye rotations)")
    anim.add_argument("--vertex-cache", action="store_true",
                      help="also bake every clip into a PC2 point cache per head (cache/*.pc2, LOD0, at --fps)")
    anim.add_argument("--fps", type=float, default=None, help="clip frame rate 1..240 (default 30)")
    anim.add_argument("--loop", type=int, default=None, metavar="N", help="play each clip N times (default 1)")
    return p


def resolve_animations(args: argparse.Namespace, model) -> list:
    """The clips the animation arguments ask for, as :class:`assetgen.animation.Sequence` items (validated by
    :func:`assetgen.animation.clips.build_clips`, the function the gRPC service's export options use too)."""
    from assetgen.animation.clips import ClipError, build_clips

    if args.animation is None and args.expression_csv is None and args.animation_text is None:
        for flag, value in (("--fps", args.fps), ("--loop", args.loop), ("--vertex-cache", args.vertex_cache or None)):
            if value is not None:
                raise CliError(f"{flag}: only used with --animation, --animation-text or --expression-csv")
        return []
    names: list[str] = []
    if args.animation is not None:
        names = [n.strip() for n in args.animation.split(",")]
        if not all(names):
            raise CliError(f"--animation: expected a comma list of presets, got {args.animation!r}")
    try:
        return build_clips(names, model, fps=args.fps, loop=args.loop, seed=args.seed, capture=args.expression_csv,
                           text=args.animation_text)
    except ClipError as exc:
        option, message = exc.violations[0]
        flag = {"fps": "--fps", "loop": "--loop", "capture": "--expression-csv",
                "text": "--animation-text"}.get(option, "--animation")
        raise CliError(f"{flag}: {message}") from None


def _model_arg(value: str):
    if value == "open":
        return load_model("open")
    path = Path(value)
    if not path.exists():
        raise CliError(f"--model: {value!r} is neither 'open' nor an existing FLAME .pkl file or folder")
    try:
        return load_model(str(path))
    except ValueError as exc:
        raise CliError(f"--model: {exc}") from None


def resolve_specs(args: argparse.Namespace, model) -> list[control.HeadSpec]:
    """The specs the arguments ask for (one front door), validated."""
    doors = [name for name in ("latent", "params", "text", "edit") if getattr(args, name) is not None]
    if len(doors) > 1:
        raise CliError(f"choose one of --latent, --params, --text, --edit (got --{' and --'.join(doors)})")
    if args.base is not None and doors != ["edit"]:
        raise CliError("--base: only used with --edit")
    count = 1 if args.count is None else args.count
    if not 1 <= count <= MAX_COUNT:
        raise CliError(f"--count: expected 1..{MAX_COUNT}, got {count}")
    if not (0.0 <= args.truncation <= 1.0) or not math.isfinite(args.truncation):
        raise CliError(f"--truncation: expected psi in [0, 1], got {args.truncation}")
    seeds = [args.seed + i for i in range(count)]
    door = doors[0] if doors else "seed"
    if door == "seed":
        return control.specs_from_latents(control.latents_from_seeds(seeds), model, psi=args.truncation,
                                          seeds=seeds)
    if door == "latent":
        try:
            z = np.load(args.latent, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise CliError(f"--latent: cannot read {args.latent}: {exc}") from None
        z = np.atleast_2d(z)
        if args.count is not None and args.count != z.shape[0]:
            raise CliError(f"--count: {args.count} does not match the {z.shape[0]} codes in --latent")
        return control.specs_from_latents(z, model, psi=args.truncation,
                                          seeds=[args.seed + i for i in range(z.shape[0])])
    if count != 1:
        raise CliError(f"--count: --{door} describes one head; use --count 1 (or leave it out)")
    if door == "params":
        try:
            return [control.spec_from_params(args.params, model)]
        except ValueError as exc:
            raise CliError(f"--params {args.params}: {exc}") from None
    if door == "text":
        return [_text_spec(args.text, model, args.seed)]
    if args.base is None:
        raise CliError("--edit: needs --base DIR/manifest.json (the head to change)")
    try:
        doc = json.loads(args.base.read_text(encoding="utf-8"))
        base = control.HeadSpec.from_dict(doc["spec"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(f"--base: {args.base} is not a bundle manifest.json ({exc})") from None
    if base.model != control.model_id(model):
        raise CliError(f"--base: the manifest is for model {base.model!r}, but --model is {control.model_id(model)!r}")
    try:
        return [control.apply_edit(base, args.edit)]
    except ValueError as syntax_error:
        if not hasattr(control, "edit_from_text"):
            raise
        try:
            return [control.edit_from_text(args.edit, base).spec]
        except ValueError:
            raise syntax_error from None


def _text_spec(prompt: str, model, seed: int) -> control.HeadSpec:
    if not hasattr(control, "spec_from_text"):
        raise CliError("--text: the text front door is not available in this version")
    result = control.spec_from_text(prompt, model, seed=seed)
    understood = ", ".join(f"{p.text!r}→{p.attribute}" for p in result.understood)
    print(f"[text] understood: {understood or '-'}; ignored: {', '.join(result.ignored) or '-'}", file=sys.stderr)
    return result.spec


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.force:
        raise CliError(f"--out: {out} exists and is not empty (use --force to replace it)")
    try:
        options = PipelineOptions(texture_size=args.texture_size, lods=args.lods, preview_size=args.preview_size)
        bundle_options = BundleOptions(format=args.format, fbx_preset=args.fbx_preset,
                                       vertex_cache=bool(args.vertex_cache),
                                       vertex_cache_fps=float(args.fps) if args.vertex_cache and args.fps else 30.0)
    except ValueError as exc:  # "texture_size: expected …" → "--texture-size: expected …"
        field, _, rest = str(exc).partition(":")
        field = {"vertex_cache_fps": "fps"}.get(field, field)
        raise CliError(f"--{field.replace('_', '-')}:{rest}") from None
    model = _model_arg(args.model)
    specs = resolve_specs(args, model)
    clips = resolve_animations(args, model)
    if args.format in ("fbx", "both"):
        from exporters.fbx import find_blender

        try:
            find_blender()
        except RuntimeError as exc:
            raise CliError(f"--format {args.format}: {exc}") from None

    progress = _progress(len(specs))
    index, previews = [], []
    started = time.perf_counter()
    with atomic_folder(out, replace=out.exists()) as tmp:
        for i, spec in enumerate(specs):
            t0 = time.perf_counter()
            head = generate_head(spec, model=model, options=options, animations=clips)
            name = f"head_{i:04d}"
            doc = write_bundle(head, tmp / name, bundle_options)
            index.append({"folder": name, "seed": spec.seed, "spec_hash": spec.hash,
                          "files": {k: v["sha256"] for k, v in doc["files"].items()}})
            if head.preview is not None:
                previews.append(np.asarray(head.preview))
            progress(i, f"{name} seed={spec.seed} {time.perf_counter() - t0:.2f} s")
        atomic_write_bytes(tmp / "index.json", json_bytes({
            "format": "assetgen.pack", "format_version": 1, "model": control.model_id(model),
            "count": len(index), "heads": index}))
        if previews:
            atomic_write_bytes(tmp / "contact_sheet.png", encode_png(_sheet(previews)))
    total = time.perf_counter() - started
    print(f"wrote {len(specs)} head(s) to {out} in {total:.1f} s ({60 * len(specs) / max(total, 1e-9):.0f} heads/min)",
          file=sys.stderr)
    return 0


def _sheet(previews: list[np.ndarray], max_columns: int = 8) -> np.ndarray:
    from assetgen.render import contact_sheet

    rgba = np.stack(previews)
    return contact_sheet(rgba[..., :3], min(max_columns, len(previews)), alpha=rgba[..., 3:])


def _progress(total: int):
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="head", file=sys.stderr)

        def step(i: int, message: str) -> None:
            bar.set_postfix_str(message)
            bar.update(1)
            if i + 1 == total:
                bar.close()
        return step

    def log(i: int, message: str) -> None:
        print(f"[{i + 1}/{total}] {message}", file=sys.stderr, flush=True)
    return log


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input or failure, with one line on stderr)."""
    try:
        args = build_parser().parse_args(argv)
        return run(args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (ValueError, FileExistsError, PermissionError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 2
