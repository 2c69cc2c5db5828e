"""Texture coordinates of a FLAME model: FLAME's ``head_template.obj`` or, without one, an xatlas atlas.

Both functions return ``(uvs [T, 2] float64, uv_faces [F, 3] int64)`` with ``uv_faces[i]`` holding the
texture-coordinate indices of the corners of model face ``faces[i]`` in the same corner order, origin at the
bottom-left (OBJ convention).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["read_uv_template", "generate_uvs"]


def _parse_obj(path: Path) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(vertex count, vt [T, 2], face vertex indices [F, 3], face vt indices [F, 3])`` (0-based)."""
    num_v = 0
    vts: list[tuple[float, float]] = []
    fv: list[list[int]] = []
    ft: list[list[int]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise ValueError(f"uv_template: cannot read {str(path)!r} ({err})") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        tag = parts[0]
        try:
            if tag == "v":
                num_v += 1
            elif tag == "vt":
                vts.append((float(parts[1]), float(parts[2])))
            elif tag == "f":
                corners = parts[1:]
                if len(corners) != 3:
                    raise ValueError(f"expected a triangle, got a face with {len(corners)} corners")
                vi, ti = [], []
                for corner in corners:
                    fields = corner.split("/")
                    if len(fields) < 2 or not fields[1]:
                        raise ValueError(f"face corner {corner!r} has no texture coordinate (expected v/vt)")
                    v, t = int(fields[0]), int(fields[1])
                    vi.append(v - 1 if v > 0 else num_v + v)
                    ti.append(t - 1 if t > 0 else len(vts) + t)
                fv.append(vi)
                ft.append(ti)
        except (ValueError, IndexError) as err:
            raise ValueError(f"uv_template: {path.name} line {lineno}: {err}") from None
    return num_v, np.asarray(vts, np.float64).reshape(-1, 2), np.asarray(fv, np.int64).reshape(-1, 3), \
        np.asarray(ft, np.int64).reshape(-1, 3)


def read_uv_template(path: str | Path, faces: np.ndarray, num_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Texture coordinates from an OBJ with the model's topology (FLAME's ``head_template.obj``).

    The OBJ's triangles are matched to the model's ``faces`` by their vertex indices, so a different
    face order or corner rotation in the OBJ is fine.

    Args:
        path: the OBJ file (``v``, ``vt`` and ``f v/vt`` lines; triangles only).
        faces: ``[F, 3]`` model faces (vertex indices).
        num_vertices: ``V`` of the model.
    Returns:
        ``uvs [T, 2]``, ``uv_faces [F, 3]`` aligned with ``faces``.
    Raises:
        ValueError: unreadable file, non-triangles, counts that differ from the model (vertices, faces), a
            model face missing from the OBJ, or out-of-range vt indices; the message names the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"uv_template: {str(path)!r} is not a file (expected an OBJ like FLAME's head_template.obj)")
    num_v, vt, fv, ft = _parse_obj(path)
    faces = np.asarray(faces, np.int64)
    if num_v != num_vertices:
        raise ValueError(f"uv_template: {path.name} has {num_v} vertices, the model has {num_vertices}")
    if len(fv) != len(faces):
        raise ValueError(f"uv_template: {path.name} has {len(fv)} triangles, the model has {len(faces)}")
    if len(vt) == 0:
        raise ValueError(f"uv_template: {path.name} has no 'vt' texture coordinates")
    if fv.min() < 0 or fv.max() >= num_v or ft.min() < 0 or ft.max() >= len(vt):
        raise ValueError(f"uv_template: {path.name} has face indices out of range")
    if np.array_equal(fv, faces):
        return vt, ft
    # Match each model face to the OBJ triangle with the same vertex set, then pick vt per corner.
    key_of = {tuple(sorted(tri)): i for i, tri in enumerate(fv.tolist())}
    uv_faces = np.empty_like(faces)
    for i, tri in enumerate(faces.tolist()):
        j = key_of.get(tuple(sorted(tri)))
        if j is None:
            raise ValueError(f"uv_template: model face {i} {tri} (vertex indices) is not a triangle of {path.name}")
        corner_vt = dict(zip(fv[j].tolist(), ft[j].tolist(), strict=True))
        uv_faces[i] = [corner_vt[v] for v in tri]
    return vt, uv_faces


def generate_uvs(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic xatlas UV atlas for a mesh without a UV template.

    Args:
        vertices: ``[V, 3]`` rest vertices (meters).
        faces: ``[F, 3]`` triangle vertex indices.
    Returns:
        ``uvs [T, 2]`` in ``[0, 1]`` and ``uv_faces [F, 3]`` aligned with ``faces``.
    """
    import xatlas

    faces = np.asarray(faces, np.int64)
    vmap, indices, uvs = xatlas.parametrize(np.asarray(vertices, np.float32), faces.astype(np.uint32))
    indices = np.asarray(indices, np.int64)
    if indices.shape != faces.shape or not np.array_equal(np.asarray(vmap, np.int64)[indices], faces):
        raise RuntimeError("xatlas returned faces that do not follow the input faces")  # xatlas keeps order
    return np.asarray(uvs, np.float64), indices
