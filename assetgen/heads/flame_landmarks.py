"""FLAME's facial landmark embeddings: 51 static points plus 17 yaw-dependent contour points (iBUG 68).

FLAME defines landmarks as points fixed on mesh triangles (a triangle index and barycentric coordinates,
``flame_static_embedding.pkl``). The 17 jaw-line (contour) points of the iBUG-68 layout slide over the
surface with the head's yaw, so ``flame_dynamic_embedding.npy`` holds one embedding per integer yaw degree
(a look-up table, rows ``0..M`` for yaw ``0..M`` degrees and ``M+1..2M`` for ``-1..-M``; FLAME: ``M = 39``).
Paper 003 (AlbedoGAN, §4.1) fits with a loss on 68 landmarks in this iBUG layout.

DECA-style ``landmark_embedding.npy`` (``static_lmk_faces_idx``, ``static_lmk_bary_coords``,
``dynamic_lmk_faces_idx``, ``dynamic_lmk_bary_coords``) is read too. Every file is read through the
restricted unpickler of :mod:`assetgen.heads.flame_pickle`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from assetgen.heads.flame_pickle import load_npy, load_pickle

__all__ = ["IBUG68_NAMES", "LandmarkEmbedding", "read_landmark_embedding", "contour_lookup"]

log = logging.getLogger(__name__)

#: iBUG-68 landmark names in iBUG order; "right"/"left" are the subject's (image left/right).
IBUG68_NAMES: tuple[str, ...] = (
    tuple(f"jaw_{i:02d}" for i in range(17))
    + tuple(f"brow_right_{i}" for i in range(5))
    + tuple(f"brow_left_{i}" for i in range(5))
    + tuple(f"nose_bridge_{i}" for i in range(4))
    + tuple(f"nose_base_{i}" for i in range(5))
    + tuple(f"eye_right_{i}" for i in range(6))
    + tuple(f"eye_left_{i}" for i in range(6))
    + tuple(f"lip_outer_{i:02d}" for i in range(12))
    + tuple(f"lip_inner_{i}" for i in range(8))
)

STATIC_FILE = "flame_static_embedding.pkl"
DYNAMIC_FILE = "flame_dynamic_embedding.npy"
DECA_FILE = "landmark_embedding.npy"


@dataclass(frozen=True)
class LandmarkEmbedding:
    """Landmarks embedded in the FLAME mesh.

    Attributes:
        static_faces: ``[L]`` face indices of the static landmarks; ``static_bary [L, 3]``.
        contour_faces: ``[R, C]`` face indices of the contour per yaw row (``R = 2M + 1``), or ``None``;
            ``contour_bary [R, C, 3]``.
        names: ``C + L`` names, contour first (iBUG order when ``C = 17`` and ``L = 51``).
        files: the files read (for provenance).
    """

    static_faces: np.ndarray
    static_bary: np.ndarray
    contour_faces: np.ndarray | None
    contour_bary: np.ndarray | None
    names: list[str]
    files: tuple[str, ...]


def _array(table: object, key: str, file: str, dims: int, integer: bool) -> np.ndarray:
    if not isinstance(table, dict):
        raise ValueError(f"{file}: expected a dict of arrays, got {type(table).__name__}")
    if key not in table:
        raise ValueError(f"{file}: missing key '{key}' (found: {sorted(map(str, table))})")
    try:
        arr = np.asarray(table[key], dtype=np.int64 if integer else np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{file}: key '{key}' is not a numeric array ({err})") from None
    if arr.ndim != dims:
        raise ValueError(f"{file}: key '{key}': expected a {dims}-d array, got shape {list(arr.shape)}")
    return arr


def _check(faces: np.ndarray, bary: np.ndarray, num_faces: int, file: str, fkey: str, bkey: str) -> None:
    if bary.shape != faces.shape + (3,):
        raise ValueError(f"{file}: key '{bkey}': expected shape {list(faces.shape) + [3]} (matching '{fkey}'), "
                         f"got {list(bary.shape)}")
    if faces.size and (faces.min() < 0 or faces.max() >= num_faces):
        raise ValueError(f"{file}: key '{fkey}': face indices must lie in [0, {num_faces}), got "
                         f"[{faces.min()}, {faces.max()}]")
    if not np.isfinite(bary).all():
        raise ValueError(f"{file}: key '{bkey}' contains NaN or inf")


def read_landmark_embedding(
    folder: Path,
    num_faces: int,
    *,
    landmark_embedding: str | Path | None = None,
    contour_embedding: str | Path | None = None,
) -> LandmarkEmbedding | None:
    """Find and read the landmark embedding of a FLAME model.

    Args:
        folder: the model's folder, searched for ``flame_static_embedding.pkl`` (+ ``flame_dynamic_embedding
            .npy``) and then for ``landmark_embedding.npy`` (DECA).
        num_faces: ``F`` of the model (indices are checked against it).
        landmark_embedding: explicit static ``.pkl`` or DECA ``.npy`` (overrides the search).
        contour_embedding: explicit ``flame_dynamic_embedding.npy`` (overrides the search).
    Returns:
        The embedding, or ``None`` when no embedding file is found.
    """
    files: list[str] = []
    static_path = Path(landmark_embedding) if landmark_embedding is not None else None
    if static_path is None:
        for name in (STATIC_FILE, DECA_FILE):
            if (folder / name).is_file():
                static_path = folder / name
                break
    elif not static_path.is_file():
        raise ValueError(f"landmark_embedding: {str(static_path)!r} is not a file")
    if static_path is None:
        if contour_embedding is not None:
            raise ValueError("contour_embedding: needs the static landmark embedding too (landmark_embedding=)")
        return None
    files.append(static_path.name)
    contour_faces = contour_bary = None
    if static_path.suffix == ".npy":  # DECA: static and dynamic in one dict
        table = load_npy(static_path)
        fk, bk = "static_lmk_faces_idx", "static_lmk_bary_coords"
        static_faces = _array(table, fk, static_path.name, 1, True)
        static_bary = _array(table, bk, static_path.name, 2, False)
        _check(static_faces, static_bary, num_faces, static_path.name, fk, bk)
        if contour_embedding is None and "dynamic_lmk_faces_idx" in table:
            fk, bk = "dynamic_lmk_faces_idx", "dynamic_lmk_bary_coords"
            contour_faces = _array(table, fk, static_path.name, 2, True)
            contour_bary = _array(table, bk, static_path.name, 3, False)
            _check(contour_faces, contour_bary, num_faces, static_path.name, fk, bk)
    else:
        table = load_pickle(static_path)
        static_faces = _array(table, "lmk_face_idx", static_path.name, 1, True)
        static_bary = _array(table, "lmk_b_coords", static_path.name, 2, False)
        _check(static_faces, static_bary, num_faces, static_path.name, "lmk_face_idx", "lmk_b_coords")
    dynamic_path = Path(contour_embedding) if contour_embedding is not None else None
    if dynamic_path is None and static_path.name == STATIC_FILE and (static_path.parent / DYNAMIC_FILE).is_file():
        dynamic_path = static_path.parent / DYNAMIC_FILE
    if dynamic_path is not None:
        if not dynamic_path.is_file():
            raise ValueError(f"contour_embedding: {str(dynamic_path)!r} is not a file")
        files.append(dynamic_path.name)
        table = load_npy(dynamic_path)
        contour_faces = _array(table, "lmk_face_idx", dynamic_path.name, 2, True)
        contour_bary = _array(table, "lmk_b_coords", dynamic_path.name, 3, False)
        _check(contour_faces, contour_bary, num_faces, dynamic_path.name, "lmk_face_idx", "lmk_b_coords")
    if contour_faces is not None and contour_faces.shape[0] % 2 != 1:
        raise ValueError(f"{files[-1]}: contour look-up table must have an odd number of yaw rows (2M+1), got "
                         f"{contour_faces.shape[0]}")
    num_static = len(static_faces)
    num_contour = 0 if contour_faces is None else contour_faces.shape[1]
    if num_static == 51 and num_contour in (0, 17):
        names = list(IBUG68_NAMES[17 - num_contour:])
    else:
        names = [f"contour_{i:02d}" for i in range(num_contour)] + [f"static_{i:03d}" for i in range(num_static)]
    log.debug("FLAME landmarks: %d static + %d contour from %s", num_static, num_contour, files)
    return LandmarkEmbedding(static_faces, static_bary, contour_faces, contour_bary, names, tuple(files))


def contour_lookup(num_rows: int) -> tuple[np.ndarray, torch.Tensor]:
    """The contour look-up table sorted by yaw, and the bounds that pick its row for a head rotation.

    smplx (``find_dynamic_lmk_idx_and_bcoords``) takes the yaw ``atan2(R[2, 0], √(R[0, 0]² + R[1, 0]²))`` of
    the head's world rotation ``R``, rounds it to whole degrees, clamps it to ``±M`` and reads file row
    ``d`` for ``d ≥ 0`` and ``M − d`` for ``d < 0``. For a rotation the denominator is ``cos(yaw)``, so the
    yaw is ``asin(R[2, 0])`` and, ``sin`` being increasing, ``torch.bucketize(R[2, 0], bounds)`` gives
    ``d + M`` directly (ties at exact half degrees aside).

    Args:
        num_rows: ``2M + 1`` rows of the file's table.
    Returns:
        ``(rows [2M + 1], bounds [2M])``: the file row for yaw ``−M..M`` degrees, and ``sin((d + ½)°)`` for
        ``d = −M..M − 1`` (float64).
    """
    limit = (num_rows - 1) // 2
    degrees = np.arange(-limit, limit + 1)
    rows = np.where(degrees >= 0, degrees, limit - degrees)
    bounds = torch.from_numpy(np.sin(np.radians(np.arange(-limit, limit) + 0.5)))
    return rows, bounds
