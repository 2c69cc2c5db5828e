"""ARKit → FLAME: a linear map from the 52 ARKit blendshape weights to a FLAME model's expression coefficients.

FLAME's expression space is a PCA basis without names, so ARKit-driven clips (presets, text, Live Link Face
captures) cannot play on a FLAME head directly. Following the 3D imitation idea of paper 2 (AniFaceGAN §3.2:
the expression deformation is learned to imitate the parametric face's deformation) and the per-vertex
expression transfer used to drive FLAME from other rigs, the map is fitted geometrically:

1. **Correspondence.** The open head's neutral surface is aligned to the FLAME neutral surface: a similarity
   transform (Umeyama) on the 68 shared iBUG landmarks, then a thin-plate-spline warp through the landmarks
   (scipy ``RBFInterpolator``); a model without landmarks is aligned by the bounding boxes of their face
   regions. Each FLAME face vertex takes the closest point of the warped open-head skin
   (``trimesh`` proximity), accepted within ``max_distance``.
2. **Targets.** For ARKit shape ``k`` the open head's displacement field ``D_k`` ([V_open, 3], meters, from the
   head model's forward with ``expression = e_k``) is interpolated at those points (barycentric) and brought
   into FLAME's frame by the similarity's rotation and scale: ``T_k`` [V_face, 3].
3. **Fit.** With FLAME's expression displacements ``E`` [V_face·3, N] (from its forward with unit
   coefficients), ``c_k = argmin ||E c − T_k||² + λ ||c||²`` (ridge, λ relative to ``mean(diag EᵀE)``).
   ``explained[k] = 1 − ||E c_k − T_k||² / ||T_k||²`` says how much of the ARKit motion FLAME reproduces.

Joint rotations are not part of the map: the clips already carry ``jaw``/``neck``/eye rotations, which FLAME
plays on its own joints. The fit is deterministic, takes a few seconds and is cached per model in
``$ASSETGEN_CACHE/arkit_flame/<model id>-e<coefficients>-v<FITTER_VERSION>.npz`` (numpy, no pickles).

    mapping = arkit_mapping(flame_model)            # ArkitMapping (fitted on first use, then cached)
    flame_seq = mapping.convert(preset("smile"))    # channels expr000…, rotations unchanged
"""

from __future__ import annotations

import json
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assetgen.animation.sequence import Sequence
from assetgen.control import ARKIT_52

__all__ = ["ArkitMapping", "BlendSource", "FITTER_VERSION", "arkit_mapping", "fit_mapping", "open_source",
           "load_mapping", "save_mapping", "clear_memory", "for_model"]

#: Bump when the correspondence or the fit change (cache keys carry it).
FITTER_VERSION = 1
_FACE_REGIONS = ("face", "forehead", "nose", "lips", "eye_region", "eyelids", "jaw", "cheeks", "chin", "mouth")
_LOCK = threading.Lock()
_MEMORY: dict[tuple[str, int, int], "ArkitMapping"] = {}


@dataclass(frozen=True)
class BlendSource:
    """A rig with named blendshapes to transfer from.

    Attributes:
        names: ``K`` shape names; neutral: ``[V, 3]`` meters; deltas: ``[K, V, 3]`` meters per unit weight;
        faces: ``[F, 3]`` skin triangles (no eyes, teeth, tongue); landmarks: ``[68, 3]`` iBUG points or
        ``None``; face_vertices: vertex indices of the face (the part that expressions move).
    """

    names: tuple[str, ...]
    neutral: np.ndarray
    deltas: np.ndarray
    faces: np.ndarray
    landmarks: np.ndarray | None
    face_vertices: np.ndarray


@dataclass(frozen=True)
class ArkitMapping:
    """``matrix [K, N]``: FLAME expression coefficients per unit weight of each source shape ``names[k]``;
    ``explained [K]``: fraction of each shape's displacement energy reproduced; ``model``: the FLAME model id;
    ``card``: how it was fitted (correspondence, points, ridge, version)."""

    names: tuple[str, ...]
    matrix: np.ndarray
    explained: np.ndarray
    model: str
    card: dict

    @property
    def num_expression(self) -> int:
        return int(self.matrix.shape[1])

    def coefficients(self, weights: dict[str, float]) -> np.ndarray:
        """``[N]`` FLAME coefficients for ARKit ``weights`` (name → weight); unknown names → ``ValueError``."""
        unknown = sorted(set(weights) - set(self.names))
        if unknown:
            raise ValueError(f"weights: unknown ARKit names {unknown}")
        w = np.array([float(weights.get(n, 0.0)) for n in self.names])
        return w @ self.matrix

    def convert(self, seq: Sequence) -> Sequence:
        """``seq`` with its ARKit channels replaced by FLAME coefficients ``expr000…`` (rotations unchanged);
        a sequence without channels is returned as it is, a FLAME one must match ``num_expression``."""
        if not isinstance(seq, Sequence):
            raise ValueError(f"seq: expected a Sequence, got {type(seq).__name__}")
        if seq.kind is None:
            return seq
        if seq.kind == "flame":
            return seq
        cols = [self.names.index(c) for c in seq.channels]
        coeffs = seq.weights @ self.matrix[cols]
        channels = tuple(f"expr{i:03d}" for i in range(self.num_expression))
        return seq.replace(channels=channels, weights=coeffs)


# ---------------------------------------------------------------------------------------------- sources
def _skin_faces(model) -> np.ndarray:
    faces = model.faces.cpu().numpy()
    skin = model.parts.get("skin")
    return faces if skin is None else faces[np.asarray(skin.cpu() if hasattr(skin, "cpu") else skin)]


def _region_vertices(model, names) -> np.ndarray:
    idx = [np.asarray(v.cpu() if hasattr(v, "cpu") else v) for k, v in model.regions.items() if k in names]
    return np.unique(np.concatenate(idx)) if idx else np.zeros(0, np.int64)


def _unit_responses(model, count: int):
    """Neutral ``[V, 3]``, ``[count, V, 3]`` deltas of unit expression inputs and ``[L, 3]`` landmarks."""
    import torch

    with torch.no_grad():
        neutral = model()
        eye = torch.eye(count, dtype=neutral.vertices.dtype, device=neutral.vertices.device)
        out = model(expression=eye)
    v0 = neutral.vertices[0].double().cpu().numpy()
    deltas = out.vertices.double().cpu().numpy() - v0[None]
    lm = None if neutral.landmarks is None else neutral.landmarks[0].double().cpu().numpy()
    return v0, deltas, lm


def open_source(model=None) -> BlendSource:
    """The open head's 52 ARKit shapes as a :class:`BlendSource` (``model``: the loaded open head, or load it)."""
    if model is None:
        from assetgen.heads import load

        model = load("open")
    names = tuple(model.expression_names)
    if names[:52] != tuple(ARKIT_52) and set(ARKIT_52) - set(names):
        raise ValueError("model: expected the open head (ARKit expression names)")
    v0, deltas, lm = _unit_responses(model, len(names))
    return BlendSource(names, v0, deltas, _skin_faces(model), lm, _region_vertices(model, _FACE_REGIONS))


def flame_source(model, names=None) -> BlendSource:
    """A FLAME model's own expression basis as a :class:`BlendSource` (shape ``k`` = unit coefficient ``k``):
    transferring it onto the same model must give the identity map — the fitter's self-check."""
    v0, deltas, lm = _unit_responses(model, int(model.num_expression))
    names = tuple(names or (f"expr{i:03d}" for i in range(deltas.shape[0])))
    return BlendSource(names, v0, deltas, _skin_faces(model), lm, _region_vertices(model, _FACE_REGIONS))


# ---------------------------------------------------------------------------------------------- fit
def _similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama: ``dst ≈ s R src + t`` for ``[N, 3]`` point sets."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    d[2] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / (a ** 2).sum(1).mean())
    return scale, rot, mu_d - scale * rot @ mu_s


def _align(src: BlendSource, dst_points: np.ndarray, dst_landmarks, dst_face: np.ndarray):
    """Warped source vertices ``[V, 3]`` in the target frame, and the similarity ``(s, R)`` for vectors."""
    from scipy.interpolate import RBFInterpolator

    if src.landmarks is not None and dst_landmarks is not None and len(src.landmarks) == len(dst_landmarks):
        s, rot, t = _similarity(src.landmarks, dst_landmarks)
        moved = src.neutral @ (s * rot).T + t
        lm = src.landmarks @ (s * rot).T + t
        offset = RBFInterpolator(lm, dst_landmarks - lm, kernel="thin_plate_spline", smoothing=1e-8)
        return moved + offset(moved), s, rot, "landmarks: similarity + thin-plate spline"
    a, b = src.neutral[src.face_vertices], dst_points[dst_face]
    lo_a, hi_a, lo_b, hi_b = a.min(0), a.max(0), b.min(0), b.max(0)
    s = float(np.mean((hi_b - lo_b) / np.maximum(hi_a - lo_a, 1e-9)))
    t = (lo_b + hi_b) / 2 - s * (lo_a + hi_a) / 2
    return src.neutral * s + t, s, np.eye(3), "face bounding boxes"


def _closest(vertices: np.ndarray, faces: np.ndarray, points: np.ndarray, k: int = 24):
    """For each of ``points [P, 3]``: distance to the mesh, triangle index and barycentrics ``[P, 3]`` of the
    closest point (exact among the ``k`` triangles with the nearest centroids)."""
    from scipy.spatial import cKDTree

    from assetgen.heads.surface_query import closest_point_on_triangles

    tris = vertices[faces]
    _, cand = cKDTree(tris.mean(1)).query(points, k=min(k, len(faces)))
    cand = np.atleast_2d(cand)
    dist, best, bary = np.empty(len(points)), np.empty(len(points), np.int64), np.empty((len(points), 3))
    for i, (p, ks) in enumerate(zip(points, cand)):
        q, b = closest_point_on_triangles(p, tris[ks])
        d = np.linalg.norm(q - p, axis=1)
        j = int(np.argmin(d))
        dist[i], best[i], bary[i] = d[j], ks[j], b[j]
    return dist, best, bary


def fit_mapping(source: BlendSource, target, *, ridge: float = 1e-3, max_distance: float = 0.01,
                model_id: str | None = None) -> ArkitMapping:
    """Fit the linear map from ``source``'s shapes to ``target``'s (a FLAME head model) expression coefficients
    (module docstring). ``ridge``: λ relative to the mean diagonal of ``EᵀE``; ``max_distance``: meters between a
    FLAME face vertex and the warped source surface for the vertex to count."""
    if not (np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge: expected a non-negative number, got {ridge}")
    n_expr = int(target.num_expression)
    if n_expr < 1:
        raise ValueError("target: the FLAME model has no expression components to map onto")
    t0, basis, t_lm = _unit_responses(target, n_expr)
    face = _region_vertices(target, _FACE_REGIONS)
    if face.size == 0:
        raise ValueError("target: the FLAME model has no face regions to fit on")
    warped, scale, rot, how = _align(source, t0, t_lm, face)
    dist, tri, bary = _closest(warped, source.faces, t0[face])
    ok = dist <= max_distance
    if ok.sum() < 10:
        raise ValueError(f"target: only {int(ok.sum())} FLAME face vertices lie within {max_distance} m of the "
                         f"aligned source surface; the two heads do not correspond")
    face, tri, bary = face[ok], tri[ok], bary[ok]
    corners = source.faces[tri]                                             # [P, 3]
    targets = np.einsum("pc,kpcd->kpd", bary, source.deltas[:, corners]) @ (scale * rot).T  # [K, P, 3]
    e = basis[:, face].reshape(n_expr, -1).T                                # [P*3, N]
    gram = e.T @ e
    lam = ridge * float(np.mean(np.diag(gram)))
    rhs = e.T @ targets.reshape(len(source.names), -1).T                    # [N, K]
    coeffs = np.linalg.solve(gram + lam * np.eye(n_expr), rhs).T            # [K, N]
    resid = (e @ coeffs.T).T - targets.reshape(len(source.names), -1)
    energy = (targets.reshape(len(source.names), -1) ** 2).sum(1)
    explained = np.where(energy > 0, 1 - (resid ** 2).sum(1) / np.maximum(energy, 1e-30), 1.0)
    card = {"fitter_version": FITTER_VERSION, "correspondence": how, "points": int(len(face)),
            "max_distance_m": max_distance, "ridge": ridge, "scale": scale,
            "mean_explained": float(np.mean(explained)), "source_shapes": len(source.names)}
    return ArkitMapping(tuple(source.names), coeffs, explained, model_id or _model_id(target), card)


def _model_id(model) -> str:
    from assetgen.control import controls as C

    return C.model_info(model).id


# ---------------------------------------------------------------------------------------------- storage
def save_mapping(m: ArkitMapping, path: str | Path) -> Path:
    """Write ``m`` to an ``.npz`` (atomically; no pickles)."""
    from assetgen.io import atomic_write_bytes
    import io

    buf = io.BytesIO()
    meta = {"names": list(m.names), "model": m.model, "card": m.card}
    np.savez(buf, matrix=m.matrix, explained=m.explained, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(Path(path), buf.getvalue())


def load_mapping(path: str | Path) -> ArkitMapping:
    with np.load(Path(path), allow_pickle=False) as data:
        meta = json.loads(bytes(data["__meta__"]).decode())
        return ArkitMapping(tuple(meta["names"]), data["matrix"].copy(), data["explained"].copy(), meta["model"],
                            meta["card"])


def arkit_mapping(model) -> ArkitMapping | None:
    """The ARKit→FLAME map of ``model`` (a loaded FLAME head model): memory → disk cache → fit (then cached).
    ``None`` for the open head (it has the ARKit shapes itself)."""
    from assetgen.animation.to_asset import target_kind
    from assetgen.control.directions import _file_key, cache_dir

    if target_kind(model) == "arkit":
        return None
    mid = _model_id(model)
    n_expr = int(model.num_expression)
    key = (mid, n_expr, FITTER_VERSION)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
        path = cache_dir() / "arkit_flame" / f"{_file_key(mid)}-e{n_expr}-v{FITTER_VERSION}.npz"
        if path.exists():
            try:
                m = load_mapping(path)
                if m.model == mid and m.card.get("fitter_version") == FITTER_VERSION \
                        and m.num_expression == n_expr:
                    _MEMORY[key] = m
                    return m
            except (OSError, ValueError, KeyError):
                pass
        m = fit_mapping(open_source(), model, model_id=mid)
        try:
            save_mapping(m, path)
        except OSError as exc:  # a read-only home must not stop the animation
            warnings.warn(f"could not cache the ARKit mapping: {exc}", RuntimeWarning, stacklevel=2)
        _MEMORY[key] = m
        return m


def for_model(seq: Sequence, model) -> Sequence:
    """``seq`` ready for ``model``: unchanged for the open head or when it has no ARKit channels; on a loaded
    FLAME model with expression components, its ARKit channels become FLAME coefficients through
    :func:`arkit_mapping`. ``ValueError`` when an ARKit sequence cannot be mapped (a bare ``"flame"``, a FLAME
    ``HeadAsset`` or a model without expression components)."""
    from assetgen.animation.to_asset import target_kind

    if seq.kind != "arkit" or target_kind(model) == "arkit":
        return seq
    if isinstance(model, str) or not callable(model) or int(getattr(model, "num_expression", 0)) < 1:
        raise ValueError(f"sequence {seq.name!r}: ARKit weights on a FLAME head need the loaded FLAME model with "
                         f"expression components (for its ARKit mapping)")
    return arkit_mapping(model).convert(seq)


def clear_memory() -> None:
    """Forget in-memory mappings (tests)."""
    with _LOCK:
        _MEMORY.clear()
