"""Write seeded sample heads as OBJ/PLY meshes with UVs, plus a ``summary.json``.

The project's main job until the glTF exporter lands::

    python -m assetgen.heads.samples [--model open|PATH] [--count N] [--seed S] [--out DIR]
                                     [--format obj|ply|both] [--force]

Sample ``i`` depends only on ``(seed, i)``, never on ``count``: its identity and expression are drawn from
``numpy.random.default_rng([seed, i])``:

- identity (``shape``), for a model with :meth:`HeadModel.shape_bounds` (the open head): phenotype
  columns (named like anny's phenotypes, or with one-sided bounds ``low >= 0``) uniformly in the middle
  80 % of their range (``age`` in the upper half of that, so heads stay adult); every other column (local
  shape changes) from ``N(0, (0.2 · half-range)²)`` clipped to its bounds, a right-side change (``r-…``)
  within ``N(0, (0.05 · half-range)²)`` of its left partner (``l-…``). Without bounds (FLAME):
  ``N(0, 1)`` clipped to ±2.
- expression: FLAME (``model_id`` starting with ``"flame"``): ``N(0, 0.5²)`` on every coefficient;
  otherwise the coefficients are ARKit weights in ``[0, 1]``: 1–3 of them (with their Left/Right partner)
  set uniformly in ``[0.1, 0.7]``, the rest zero.

Files are written atomically (temp name, fsync, rename); ``summary.json`` holds the exact controls of
every head, so each one can be rebuilt with ``model(shape=..., expression=...)``.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

import assetgen
from assetgen.heads import load
from assetgen.io import atomic_write_bytes
from assetgen.heads.base import HeadModel

__all__ = ["SampleInfo", "sample_controls", "write_samples", "main", "MAX_COUNT", "FORMATS"]

MAX_COUNT = 1000
FORMATS = ("obj", "ply")
#: anny's phenotype labels: sampled uniformly in the middle of their range.
PHENOTYPE_NAMES = frozenset(
    {"gender", "age", "muscle", "weight", "height", "proportions", "cupsize", "firmness",
     "african", "asian", "caucasian"}
)
_BATCH = 32
_TABLE_ROWS = 20
_SAMPLE_FILE = re.compile(r"head_\d{4,}\.(obj|ply)")


@dataclass(frozen=True)
class SampleInfo:
    """One written sample head.

    Attributes:
        index: sample number ``i`` (its randomness depends on ``(seed, i)`` only).
        files: the mesh files written for it.
        num_vertices, num_faces: mesh size.
        size_m: bounding-box extent ``(x, y, z)`` in meters.
        shape: the ``[S]`` identity values passed to the model.
        expression: the ``[E]`` expression values passed to the model.
        main_controls: the few controls that deviate most from neutral, ``(name, value)``.
    """

    index: int
    files: tuple[Path, ...]
    num_vertices: int
    num_faces: int
    size_m: tuple[float, float, float]
    shape: tuple[float, ...]
    expression: tuple[float, ...]
    main_controls: tuple[tuple[str, float], ...]


# ---------------------------------------------------------------------------------------------- sampling
def _is_flame(model: HeadModel) -> bool:
    return model.model_id.lower().startswith("flame")


def _bounds(model: HeadModel) -> tuple[np.ndarray, np.ndarray] | None:
    bounds = model.shape_bounds()
    if bounds is None:
        return None
    low, high = (np.asarray(b.detach().cpu(), dtype=np.float64).reshape(-1) for b in bounds)
    return low, high


def _base_name(name: str) -> str:
    """``"phenotype/age"`` or ``"phenotype.age"`` → ``"age"``."""
    return re.split(r"[/.:]", name)[-1].lower()


def _mirror_pairs(names: Sequence[str]) -> list[tuple[int, int]]:
    """``(left, right)`` index pairs: ``l-…``/``r-…`` (MakeHuman) and ``…Left``/``…Right`` (ARKit)."""
    index = {n: i for i, n in enumerate(names)}
    pairs = []
    for i, name in enumerate(names):
        if name.startswith("l-"):
            other = "r-" + name[2:]
        elif name.endswith("Left"):
            other = name[: -len("Left")] + "Right"
        else:
            continue
        if other in index:
            pairs.append((i, index[other]))
    return pairs


def _phenotype_mask(names: Sequence[str], low: np.ndarray) -> np.ndarray:
    named = np.array([_base_name(n) in PHENOTYPE_NAMES for n in names], dtype=bool)
    return named | (low >= 0)


def _sample_shape(model: HeadModel, rng: np.random.Generator) -> np.ndarray:
    bounds = _bounds(model)
    num = model.num_shape
    if bounds is None:
        return np.clip(rng.normal(0.0, 1.0, num), -2.0, 2.0)
    low, high = bounds
    names = model.shape_names
    pheno = _phenotype_mask(names, low)
    mid, half = (low + high) / 2, (high - low) / 2
    # Phenotypes: uniform in the middle 80 %; "age" in its upper half (anny: 0.5 = 25 years, 1 = 90).
    lo_u = mid - 0.8 * half
    hi_u = mid + 0.8 * half
    is_age = np.array([_base_name(n) == "age" for n in names], dtype=bool)
    lo_u = np.where(is_age, mid, lo_u)
    uniform = lo_u + (hi_u - lo_u) * rng.random(num)
    # Local changes: a small Gaussian around zero (or the middle when zero is outside the range).
    centre = np.clip(0.0, low, high)
    gauss = centre + rng.normal(0.0, 1.0, num) * 0.2 * half
    # Left/right pairs ("l-ear-lobe", "r-ear-lobe") get nearly the same value: faces are near-symmetric.
    for i, j in _mirror_pairs(names):
        gauss[j] = gauss[i] + rng.normal(0.0, 0.05 * half[j])
    values = np.where(pheno, uniform, gauss)
    return np.clip(np.round(values, 6), low, high)


def _sample_expression(model: HeadModel, rng: np.random.Generator) -> np.ndarray:
    num = model.num_expression
    if _is_flame(model):
        return np.round(rng.normal(0.0, 0.5, num), 6)
    values = np.zeros(num)
    if num == 0:
        return values
    partner = {}
    for i, j in _mirror_pairs(model.expression_names):
        partner[i], partner[j] = j, i
    picks = rng.choice(num, size=min(num, int(rng.integers(1, 4))), replace=False)
    for i in picks:
        values[i] = round(float(rng.uniform(0.1, 0.7)), 6)
        if i in partner:
            values[partner[i]] = values[i]  # symmetric expression
    return values


def sample_controls(model: HeadModel, seed: int, indices: Iterable[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The identity and expression of samples ``indices`` (see the module docstring for the distributions).

    Returns:
        ``(shape [N, S], expression [N, E])`` in the model's dtype and device, ``N = len(indices)``.
    """
    shape, expression = _sample_arrays(model, seed, indices)
    kw = {"dtype": model.dtype, "device": model.device}
    return torch.as_tensor(shape, **kw), torch.as_tensor(expression, **kw)


def _sample_arrays(model: HeadModel, seed: int, indices: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """float64 ``(shape [N, S], expression [N, E])``, values rounded to 6 decimals (exact in summary.json)."""
    shapes, exprs = [], []
    for i in indices:
        rng = np.random.default_rng([seed, i])
        shapes.append(_sample_shape(model, rng))
        exprs.append(_sample_expression(model, rng))
    num_s, num_e = model.num_shape, model.num_expression
    return np.array(shapes).reshape(-1, num_s), np.array(exprs).reshape(-1, num_e)


def _main_controls(model: HeadModel, shape: np.ndarray, expression: np.ndarray, k: int = 3):
    """Up to ``k`` shape and ``k`` expression controls furthest from neutral, largest first."""
    bounds = _bounds(model)
    if bounds is None:
        dev = np.abs(shape)
    else:
        low, high = bounds
        half = np.maximum((high - low) / 2, 1e-12)
        neutral = np.where(_phenotype_mask(model.shape_names, low), (low + high) / 2, np.clip(0.0, low, high))
        dev = np.abs(shape - neutral) / half
    out = [(model.shape_names[i], float(shape[i])) for i in np.argsort(-dev, kind="stable")[:k] if dev[i] > 0]
    order = np.argsort(-np.abs(expression), kind="stable")[:k]
    out += [(model.expression_names[i], float(expression[i])) for i in order if expression[i] != 0]
    return tuple(out)


# ------------------------------------------------------------------------------------------------ writers
def obj_bytes(vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray,
              comment: str = "") -> bytes:
    """Wavefront OBJ text: ``v``, ``vt`` and ``f v/vt`` lines (1-based), one ``o head`` object.

    Args:
        vertices: ``[V, 3]`` float positions; faces: ``[F, 3]`` int vertex indices.
        uvs: ``[T, 2]`` texture coordinates (origin bottom-left); uv_faces: ``[F, 3]`` int uv indices.
    """
    buf = io.StringIO()
    for line in comment.splitlines():
        buf.write(f"# {line}\n")
    buf.write("o head\n")
    np.savetxt(buf, vertices, fmt="v %.6f %.6f %.6f")
    np.savetxt(buf, uvs, fmt="vt %.6f %.6f")
    corners = np.stack([faces, uv_faces], axis=-1).reshape(-1, 6) + 1
    np.savetxt(buf, corners, fmt="f %d/%d %d/%d %d/%d")
    return buf.getvalue().encode("utf-8")


def ply_bytes(vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, uv_faces: np.ndarray,
              comment: str = "") -> bytes:
    """Binary little-endian PLY: float ``x y z`` per vertex; per face ``vertex_indices`` and the six
    ``texcoord`` floats of its corners (MeshLab's convention, read by trimesh), so vertex indices stay
    the model's."""
    header = ["ply", "format binary_little_endian 1.0"]
    header += [f"comment {line}" for line in comment.splitlines()]
    header += [
        f"element vertex {len(vertices)}", "property float x", "property float y", "property float z",
        f"element face {len(faces)}", "property list uchar int vertex_indices",
        "property list uchar float texcoord", "end_header",
    ]
    record = np.dtype([("n", "u1"), ("v", "<i4", (3,)), ("nt", "u1"), ("t", "<f4", (6,))])
    face_data = np.empty(len(faces), dtype=record)
    face_data["n"] = 3
    face_data["v"] = faces
    face_data["nt"] = 6
    face_data["t"] = uvs[uv_faces].reshape(-1, 6)
    body = np.ascontiguousarray(vertices, dtype="<f4").tobytes() + face_data.tobytes()
    return ("\n".join(header) + "\n").encode("ascii", "replace") + body


_WRITERS = {"obj": obj_bytes, "ply": ply_bytes}


# ------------------------------------------------------------------------------------------------- driver
def _normalise_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    items = [formats] if isinstance(formats, str) else list(formats)
    out: list[str] = []
    for item in items:
        for fmt in FORMATS if item == "both" else [item]:
            if fmt not in FORMATS:
                raise ValueError(f"formats: unknown format {item!r}; expected obj, ply or both")
            if fmt not in out:
                out.append(fmt)
    if not out:
        raise ValueError("formats: no format given; expected obj, ply or both")
    return tuple(out)


def _prepare_out_dir(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"out_dir: {str(out_dir)!r} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise FileExistsError(f"out_dir: {str(out_dir)!r} is not empty (use --force to write into it)")
    out_dir.mkdir(parents=True, exist_ok=True)


def write_samples(
    model: HeadModel,
    out_dir: str | Path,
    count: int,
    seed: int = 0,
    formats: str | Iterable[str] = "obj",
    force: bool = False,
) -> list[SampleInfo]:
    """Write ``count`` seeded sample heads of ``model`` into ``out_dir``.

    Files: ``head_0000.obj`` / ``.ply`` … and ``summary.json`` (model, seed, control names and the exact
    ``shape``/``expression`` of every head). With ``force``, a non-empty ``out_dir`` is written into and
    earlier ``head_NNNN.obj|ply`` files not rewritten by this call are removed; other files are kept.

    Args:
        model: any :class:`HeadModel`.
        out_dir: target folder (created if missing).
        count: number of heads, 1 … :data:`MAX_COUNT`.
        seed: non-negative integer; sample ``i`` depends only on ``(seed, i)``.
        formats: ``"obj"``, ``"ply"``, ``"both"`` or a sequence of ``"obj"``/``"ply"``.
        force: allow a non-empty ``out_dir``.
    Raises:
        ValueError: bad ``count``, ``seed`` or ``formats``.
        FileExistsError: ``out_dir`` is not empty and ``force`` is false.
        NotADirectoryError: ``out_dir`` is a file.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count: expected an integer in 1..{MAX_COUNT}, got {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    fmts = _normalise_formats(formats)
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir, force)

    faces = model.faces.detach().cpu().numpy().astype(np.int64)
    uvs = model.uvs.detach().cpu().numpy().astype(np.float64)
    uv_faces = model.uv_faces.detach().cpu().numpy().astype(np.int64)
    def header(i: int) -> str:
        return (
            f"assetgen {assetgen.__version__} sample head {i} of model {model.model_id!r}, seed {seed}\n"
            f"model licence: {model.license or 'unknown'}\n"
            "units: meters, +Y up, face toward +Z"
        )

    infos: list[SampleInfo] = []
    written: set[str] = set()
    for start in range(0, count, _BATCH):
        indices = list(range(start, min(count, start + _BATCH)))
        shape_np, expr_np = _sample_arrays(model, seed, indices)
        kw = {"dtype": model.dtype, "device": model.device}
        with torch.inference_mode():
            out = model(shape=torch.as_tensor(shape_np, **kw), expression=torch.as_tensor(expr_np, **kw))
        vertices = out.vertices.detach().cpu().to(torch.float64).numpy()
        for row, i in enumerate(indices):
            verts = vertices[row]
            files = []
            for fmt in fmts:
                path = out_dir / f"head_{i:04d}.{fmt}"
                atomic_write_bytes(path, _WRITERS[fmt](verts, faces, uvs, uv_faces, header(i)))
                files.append(path)
                written.add(path.name)
            size = verts.max(0) - verts.min(0) if len(verts) else np.zeros(3)
            infos.append(
                SampleInfo(
                    index=i,
                    files=tuple(files),
                    num_vertices=len(verts),
                    num_faces=len(faces),
                    size_m=tuple(float(s) for s in size),
                    shape=tuple(float(v) for v in shape_np[row]),
                    expression=tuple(float(v) for v in expr_np[row]),
                    main_controls=_main_controls(model, shape_np[row], expr_np[row]),
                )
            )
    for stale in out_dir.iterdir():
        if _SAMPLE_FILE.fullmatch(stale.name) and stale.name not in written:
            stale.unlink()
    summary = {
        "assetgen_version": assetgen.__version__,
        "model": {"id": model.model_id, "license": model.license, "source": model.source},
        "seed": seed,
        "count": count,
        "formats": list(fmts),
        "units": "meters, +Y up, face toward +Z",
        "shape_names": model.shape_names,
        "expression_names": model.expression_names,
        "samples": [
            {
                "index": s.index,
                "files": [p.name for p in s.files],
                "vertices": s.num_vertices,
                "faces": s.num_faces,
                "size_m": [round(v, 6) for v in s.size_m],
                "main_controls": dict(s.main_controls),
                "shape": list(s.shape),
                "expression": list(s.expression),
            }
            for s in infos
        ],
    }
    atomic_write_bytes(out_dir / "summary.json", (_to_json(summary) + "\n").encode("utf-8"))
    return infos


def _to_json(value, indent: str = "") -> str:
    """JSON with nested objects indented and lists of scalars on one line (summary.json stays readable)."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(k))}: {_to_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + _to_json(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value)


# ---------------------------------------------------------------------------------------------------- CLI
def _format_table(infos: Sequence[SampleInfo], max_rows: int = _TABLE_ROWS) -> str:
    rows = [("file", "vertices", "faces", "size cm (x*y*z)", "main controls")]
    for s in infos[:max_rows]:
        stem = s.files[0].stem
        exts = [p.suffix[1:] for p in s.files]
        name = f"{stem}.{exts[0]}" if len(exts) == 1 else f"{stem}.{{{','.join(exts)}}}"
        size = "x".join(f"{100 * v:.1f}" for v in s.size_m)
        controls = " ".join(f"{n}={v:.2f}" for n, v in s.main_controls)
        rows.append((name, str(s.num_vertices), str(s.num_faces), size, controls))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    lines = [
        "  ".join([r[0].ljust(widths[0]), r[1].rjust(widths[1]), r[2].rjust(widths[2]), r[3].ljust(widths[3]), r[4]])
        .rstrip()
        for r in rows
    ]
    if len(infos) > max_rows:
        lines.append(f"... and {len(infos) - max_rows} more (see summary.json)")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    def count_arg(text: str) -> int:
        value = int(text)
        if not 1 <= value <= MAX_COUNT:
            raise argparse.ArgumentTypeError(f"must be in 1..{MAX_COUNT}, got {value}")
        return value

    def seed_arg(text: str) -> int:
        value = int(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
        return value

    p = argparse.ArgumentParser(
        prog="python -m assetgen.heads.samples",
        description="Write N seeded sample heads (random identity and expression) as meshes with UVs.",
    )
    p.add_argument("--model", default="open",
                   help='"open" (built-in head, default) or a FLAME .pkl file or a folder holding one')
    p.add_argument("--count", type=count_arg, default=4, help=f"number of heads, 1..{MAX_COUNT} (default 4)")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--out", default="out/samples", help="output folder (default out/samples)")
    p.add_argument("--format", choices=("obj", "ply", "both"), default="obj", help="mesh format (default obj)")
    p.add_argument("--force", action="store_true", help="write into a non-empty output folder")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (2 for bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    prog = parser.prog
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        print(f"{prog}: error: --out {args.out!r} exists and is not a folder", file=sys.stderr)
        return 2
    if out_dir.is_dir() and any(out_dir.iterdir()) and not args.force:
        print(f"{prog}: error: --out {args.out!r} is not empty (add --force to write into it)", file=sys.stderr)
        return 2
    try:
        model = load(args.model)
    except ValueError as exc:
        print(f"{prog}: error: --model: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{prog}: error: could not load model {args.model!r}: {exc}", file=sys.stderr)
        return 1
    try:
        infos = write_samples(model, out_dir, args.count, args.seed, args.format, args.force)
    except (ValueError, FileExistsError, NotADirectoryError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"model {model.model_id!r} ({model.license or 'licence unknown'}), seed {args.seed}, {len(infos)} heads:")
    print(_format_table(infos))
    n_files = sum(len(s.files) for s in infos)
    print(f"wrote {n_files} mesh files and summary.json to {out_dir.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
