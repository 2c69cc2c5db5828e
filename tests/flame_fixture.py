"""Stand-in FLAME files for tests: the real FLAME model cannot be downloaded here (MPI-IS licence).

:func:`write_flame_folder` writes a folder in the FLAME 2020 layout — ``generic_model.pkl`` with keys
``f, v_template, shapedirs, posedirs, J_regressor`` (scipy csc), ``weights, kintree_table, J, bs_style,
bs_type`` — plus optional ``flame_static_embedding.pkl`` (51 landmarks), ``flame_dynamic_embedding.npy``
(79 yaw rows × 17 contour points), ``FLAME_masks.pkl`` and ``head_template.obj``. The model pickle comes in
three variants: ``"chumpy"`` (arrays pickled as ``chumpy.ch.Ch`` objects, the way chumpy pickles them, through
a throwaway fake ``chumpy.ch`` module registered only while pickling; protocol 2), ``"plain"`` (numpy) and
``"python2"`` (plain data written the way a Python 2 pickler writes it: ``str`` opcodes, ``numpy.core`` and
``scipy.sparse.csc`` module names).

The geometry is a small head-like mesh in FLAME's frame (meters, +Y up, face toward +Z): an ellipsoidal
skull stretched into a neck, with a nose bump and two separate eyeball spheres; FLAME's five joints (global
at the neck base, neck, jaw hinge, left eye at +X, right eye at −X) are regressed from vertex rings; the
skinning weights blend global/neck over the neck and neck/jaw over the lower face, eyeballs follow their eye
joint; identity, expression and pose-corrective directions are seeded smooth random fields of millimetre
magnitude (eyeballs move rigidly with identity and are untouched by expression). Everything is deterministic
for a given ``seed``.

:func:`write_malicious_pickle` writes a pickle whose ``__reduce__`` would create a marker file if unpickled
with plain ``pickle`` — for the safety tests.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import struct
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
import trimesh

CHUMPY_KEYS = ("v_template", "shapedirs", "posedirs", "J", "weights")
EYE_RADIUS = 0.012
EYE_CENTRES = np.array([[0.032, 0.025, 0.071], [-0.032, 0.025, 0.071]])  # left (+X), right (−X)


@dataclass(frozen=True)
class FlameFixture:
    """What :func:`write_flame_folder` wrote.

    Attributes:
        folder, model: the folder and the model pickle.
        arrays: the model file's content as numpy (``J_regressor`` as a scipy csc matrix).
        static, dynamic, masks: the side-file contents (``None`` when not written).
        uv: ``(vt [T, 2], uv_faces [F, 3])`` of ``head_template.obj`` aligned with the model faces, or ``None``.
    """

    folder: Path
    model: Path
    arrays: dict
    static: dict | None
    dynamic: dict | None
    masks: dict | None
    uv: tuple[np.ndarray, np.ndarray] | None


# ----------------------------------------------------------------------------------------- geometry
def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _head_vertices(unit: np.ndarray) -> np.ndarray:
    x, y, z = unit.T
    out = np.stack([0.078 * x, 0.10 * y, 0.092 * z], 1)
    t = np.clip((-0.45 - y) / 0.55, 0.0, 1.0)  # 0 above the neck, 1 at the bottom pole
    radial = np.hypot(out[:, 0], out[:, 2])
    direction = np.stack([x, z], 1) / np.maximum(np.hypot(x, z), 1e-9)[:, None]
    neck_radius = 0.05 * np.minimum(1.0, (1.0 - t) * 6.0)
    s = _smoothstep(3.0 * t)
    new_radius = np.where(t > 0, (1 - s) * radial + s * neck_radius, radial)
    out[:, 0], out[:, 2] = direction[:, 0] * new_radius, direction[:, 1] * new_radius
    out[:, 1] = np.where(t > 0, -0.045 - 0.13 * t, out[:, 1])
    front = out[:, 2] > 0
    out[:, 2] += front * 0.022 * np.exp(-(out[:, 0] / 0.011) ** 2 - ((out[:, 1] + 0.005) / 0.022) ** 2)
    return out


def _smooth_fields(rng: np.random.Generator, points: np.ndarray, scales: np.ndarray, features: int = 6):
    """``[n, V, 3]`` smooth random displacement fields, field ``i`` of RMS about ``scales[i]`` meters."""
    n = len(scales)
    freq = rng.normal(size=(n, 3, features)) * 25.0  # rad/m: wavelengths of a few decimetres
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1, features))
    amp = rng.normal(size=(n, features, 3)) * (np.asarray(scales)[:, None, None] * np.sqrt(2.0 / features))
    return np.sin(points[None] @ freq + phase) @ amp


def make_flame_arrays(
    num_shape: int = 300, num_expression: int = 100, *, subdivisions: int = 3, seed: int = 0
) -> dict:
    """The content of a FLAME-2020-layout model file (see the module docstring).

    Args:
        num_shape, num_expression: identity and expression columns of ``shapedirs``.
        subdivisions: icosphere level of the skull (3 → 642 skull + 324 eye vertices).
        seed: random seed of the blend directions.
    """
    rng = np.random.default_rng(seed)
    skull = trimesh.creation.icosphere(subdivisions=subdivisions)
    eye = trimesh.creation.icosphere(subdivisions=max(subdivisions - 1, 1))
    head_v = _head_vertices(np.asarray(skull.vertices))
    eye_v = np.asarray(eye.vertices) * EYE_RADIUS
    verts = np.concatenate([head_v, eye_v + EYE_CENTRES[0], eye_v + EYE_CENTRES[1]])
    nh, ne = len(head_v), len(eye_v)
    faces = np.concatenate([skull.faces, eye.faces + nh, eye.faces + nh + ne]).astype(np.uint32)
    num_v = len(verts)
    owner = np.zeros(num_v, np.int64)  # 0 skull, 3 left eye, 4 right eye
    owner[nh:nh + ne], owner[nh + ne:] = 3, 4

    # Joint regressor: rings/clusters of skull vertices, eyeball vertices for the eyes (rows sum to one).
    reg = np.zeros((5, num_v))
    y = head_v[:, 1]
    for j, y_target in ((0, -0.15), (1, -0.085)):
        ring = np.argsort(np.abs(y - y_target), kind="stable")[:12]
        reg[j, ring] = 1.0 / len(ring)
    for side in (1.0, -1.0):
        near = np.argsort(np.linalg.norm(head_v - [side * 0.06, -0.03, 0.0], axis=1), kind="stable")[:4]
        reg[2, near] = 1.0 / 8
    reg[3, owner == 3] = 1.0 / ne
    reg[4, owner == 4] = 1.0 / ne
    joints = reg @ verts

    weights = np.zeros((num_v, 5))
    hx, hy, hz = head_v.T
    w_root = _smoothstep((-0.07 - hy) / 0.05)
    w_jaw = _smoothstep((-0.04 - hy) / 0.015) * _smoothstep(hz / 0.03) * (1.0 - w_root)
    weights[:nh, 0], weights[:nh, 2] = w_root, w_jaw
    weights[:nh, 1] = 1.0 - w_root - w_jaw
    weights[owner == 3, 3] = 1.0
    weights[owner == 4, 4] = 1.0

    # Identity: PCA-like decaying magnitudes; eyeballs move rigidly with their centre.
    shape_scales = 3e-3 / np.sqrt(1.0 + np.arange(num_shape) / 10.0)
    shape = _smooth_fields(rng, verts, shape_scales)
    for j in (3, 4):  # same generator state as above → the skull's fields evaluated at the eye centre
        shape[:, owner == j] = _smooth_fields(np.random.default_rng(seed), joints[j:j + 1], shape_scales)
    face_mask = (_smoothstep(hz / 0.04) * _smoothstep((0.08 - hy) / 0.04))[None, :, None]
    expr_scales = 2e-3 / np.sqrt(1.0 + np.arange(num_expression) / 10.0)
    expr = np.zeros((num_expression, num_v, 3))
    expr[:, :nh] = _smooth_fields(rng, head_v, expr_scales) * face_mask
    pose = np.zeros((36, num_v, 3))  # rows (joint-1)*9 + 3*r + c; the eyes (joints 3, 4) have no correctives
    pose[:18, :nh] = _smooth_fields(rng, head_v, np.full(18, 1e-3))
    shapedirs = np.concatenate([shape, expr], 0).transpose(1, 2, 0)  # [V, 3, K+E]
    posedirs = pose.transpose(1, 2, 0)  # [V, 3, 36]
    kintree = np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64)
    return {
        "f": faces,
        "v_template": verts,
        "shapedirs": np.ascontiguousarray(shapedirs),
        "posedirs": np.ascontiguousarray(posedirs),
        "J_regressor": scipy.sparse.csc_matrix(reg),
        "weights": weights,
        "kintree_table": kintree,
        "J": joints,
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


# ----------------------------------------------------------------------------------------- pickling
def _fake_chumpy_ch() -> type:
    def __init__(self, x):
        self.x = np.asarray(x, np.float64)

    def __getstate__(self):  # what chumpy's Ch.__getstate__ returns for a plain array (minus _parents/_cache)
        return {"_dirty_vars": set(), "_itr": None, "_make_dense": False, "_make_sparse": False,
                "_depends_on_deps": {}, "x": self.x}

    cls = type("Ch", (object,), {"__init__": __init__, "__getstate__": __getstate__, "__module__": "chumpy.ch"})
    cls.__qualname__ = "Ch"
    return cls


def dump_chumpy_style(obj: dict, path: Path, keys: tuple[str, ...] = CHUMPY_KEYS, protocol: int = 2) -> None:
    """Pickle ``obj`` with ``obj[k]`` for ``k in keys`` as ``chumpy.ch.Ch`` objects (protocol 2 by default).

    A fake ``chumpy``/``chumpy.ch`` module pair is put in ``sys.modules`` only while pickling.
    """
    names = ("chumpy", "chumpy.ch")
    saved = {name: sys.modules.get(name) for name in names}
    package, module = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    module.Ch = _fake_chumpy_ch()
    package.ch = module
    sys.modules.update({"chumpy": package, "chumpy.ch": module})
    try:
        wrapped = {k: module.Ch(v) if k in keys else v for k, v in obj.items()}
        Path(path).write_bytes(pickle.dumps(wrapped, protocol=protocol))
    finally:
        for name, old in saved.items():
            if old is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = old


def write_model_pickle(path: Path, arrays: dict, variant: str = "plain") -> None:
    """Write a FLAME model pickle: ``variant`` ``"plain"`` (numpy, protocol 2), ``"chumpy"`` or ``"python2"``."""
    if variant == "chumpy":
        dump_chumpy_style(arrays, path)
    elif variant == "python2":
        dump_python2_style(arrays, path)
    elif variant == "plain":
        Path(path).write_bytes(pickle.dumps(arrays, protocol=2))
    else:
        raise ValueError(f"variant: expected 'plain', 'chumpy' or 'python2', got {variant!r}")


def _py2_string(data: bytes) -> bytes:
    n = len(data)
    return (pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)) + data


class _Python2Pickler(pickle._Pickler):
    """Writes bytes and ASCII text as Python 2 ``str`` opcodes (``SHORT_BINSTRING``/``BINSTRING``)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_bytes(self, obj: bytes) -> None:
        self.write(_py2_string(obj))
        self.memoize(obj)

    def _save_str(self, obj: str) -> None:
        if not obj.isascii():
            return pickle._Pickler.save_str(self, obj)
        self.write(_py2_string(obj.encode("ascii")))
        self.memoize(obj)

    dispatch[bytes] = _save_bytes
    dispatch[str] = _save_str


def dump_python2_style(obj: dict, path: Path) -> None:
    """Pickle ``obj`` as a Python 2 program would (protocol 2, ``str`` opcodes for array bytes and keys,
    ``numpy.core.multiarray`` and ``scipy.sparse.csc`` module names), as in FLAME 2020's files."""
    buf = io.BytesIO()
    _Python2Pickler(buf, protocol=2).dump(obj)
    data = buf.getvalue()
    for new, old in ((b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"),
                     (b"scipy.sparse._csc\n", b"scipy.sparse.csc\n")):
        data = data.replace(b"c" + new, b"c" + old)
    Path(path).write_bytes(data)


class _Evil:
    def __init__(self, kind: str, marker: Path) -> None:
        self.kind, self.marker = kind, str(marker)

    def __reduce__(self):
        if self.kind == "os.system":
            return os.system, (f"touch {self.marker}",)
        if self.kind == "eval":
            return builtins.eval, (f"open({self.marker!r}, 'w').close()",)
        if self.kind == "popen":
            return subprocess.Popen, (["touch", self.marker],)
        raise ValueError(f"kind: unknown {self.kind!r}")


def write_malicious_pickle(path: Path, marker: Path, *, kind: str = "os.system", nested: bool = True) -> None:
    """A pickle that would create ``marker`` when loaded with plain ``pickle`` (``kind``: ``"os.system"``,
    ``"eval"`` or ``"popen"``); ``nested`` hides the payload as the ``weights`` of a FLAME-like dict."""
    evil = _Evil(kind, marker)
    obj = {"v_template": np.zeros((3, 3)), "weights": evil} if nested else evil
    Path(path).write_bytes(pickle.dumps(obj, protocol=2))


# ----------------------------------------------------------------------------------------- side files
def _nearest_faces(arrays: dict, points: np.ndarray, num_skull_faces: int) -> np.ndarray:
    centroids = arrays["v_template"][arrays["f"][:num_skull_faces].astype(np.int64)].mean(1)
    dist = np.linalg.norm(centroids[None] - points[:, None], axis=2)
    return dist.argmin(1)


def make_landmark_embeddings(arrays: dict, seed: int = 0) -> tuple[dict, dict]:
    """``(static, dynamic)`` embeddings: 51 iBUG points (brows, nose, eyes, lips) and a 79 × 17 contour table."""
    rng = np.random.default_rng(seed + 1)
    num_skull_faces = int((arrays["weights"][arrays["f"].astype(np.int64)][:, :, 3:].sum((1, 2)) == 0).sum())
    pts: list[list[float]] = []
    for side in (-1, 1):  # subject's right brow first (−X), then left
        pts += [[side * x, 0.048, 0.09] for x in np.linspace(0.055, 0.015, 5)[:: -side]]
    pts += [[0.0, yy, 0.1] for yy in (0.02, 0.005, -0.01, -0.025)]
    pts += [[xx, -0.032, 0.09] for xx in np.linspace(-0.012, 0.012, 5)]
    for side in (-1, 1):
        ang = np.linspace(np.pi, -np.pi, 6, endpoint=False)
        pts += [[side * 0.032 + 0.014 * np.cos(a), 0.025 + 0.006 * np.sin(a), 0.085] for a in ang]
    ang = np.linspace(np.pi, -np.pi, 12, endpoint=False)
    pts += [[0.025 * np.cos(a), -0.055 + 0.012 * np.sin(a), 0.085] for a in ang]
    ang = np.linspace(np.pi, -np.pi, 8, endpoint=False)
    pts += [[0.015 * np.cos(a), -0.055 + 0.004 * np.sin(a), 0.085] for a in ang]
    static_faces = _nearest_faces(arrays, np.asarray(pts), num_skull_faces)
    static = {"lmk_face_idx": static_faces.astype(np.uint32), "lmk_b_coords": rng.dirichlet([2, 2, 2], 51)}

    s = np.linspace(-1.0, 1.0, 17)
    heights = 0.01 - 0.1 * (1.0 - s**2) ** 0.7
    rows_faces, rows_bary = [], []
    for row in range(79):
        yaw = np.radians(row if row <= 39 else 39 - row)
        azimuth = np.radians(80.0) * s - yaw
        targets = np.stack([0.08 * np.sin(azimuth), heights, 0.08 * np.cos(azimuth)], 1)
        rows_faces.append(_nearest_faces(arrays, targets, num_skull_faces))
        rows_bary.append(rng.dirichlet([2, 2, 2], 17))
    dynamic = {"lmk_face_idx": np.asarray(rows_faces, np.int64), "lmk_b_coords": np.asarray(rows_bary)}
    return static, dynamic


def make_masks(arrays: dict) -> dict:
    """FLAME_masks-style vertex-index arrays (FLAME's key names) from simple geometric rules."""
    v, w = arrays["v_template"], arrays["weights"]
    x, y, z = v.T
    skull = w[:, 3:].sum(1) == 0
    face = skull & (z > 0.03) & (y > -0.1) & (y < 0.07)
    ears = skull & (np.abs(x) > 0.07) & (y > -0.04) & (y < 0.03) & (z < 0.0)
    rules = {
        "face": face,
        "forehead": face & (y > 0.04),
        "nose": face & (np.abs(x) < 0.015) & (y > -0.04) & (y < 0.02),
        "lips": face & (np.abs(x) < 0.03) & (y > -0.07) & (y < -0.04),
        "eye_region": skull & (np.abs(np.abs(x) - 0.032) < 0.02) & (np.abs(y - 0.025) < 0.015) & (z > 0.04),
        "left_eyeball": w[:, 3] > 0.5,
        "right_eyeball": w[:, 4] > 0.5,
        "left_ear": ears & (x > 0),
        "right_ear": ears & (x < 0),
        "neck": skull & (y < -0.09),
        "scalp": skull & ~face & ~ears & (y > -0.03),
        "boundary": skull & (y < -0.17),
    }
    return {k: np.flatnonzero(m).astype(np.int64) for k, m in rules.items()}


def make_uv_template(arrays: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-corner texture coordinates with a seam (so ``T > V``): ``(vt [T, 2], uv_faces [F, 3])``."""
    v = arrays["v_template"]
    faces = arrays["f"].astype(np.int64)
    rel = v - np.array([0.0, -0.02, 0.0])
    u = 0.5 + np.arctan2(rel[:, 0], rel[:, 2]) / (2 * np.pi)  # seam at the back of the head
    vv = 0.5 + np.arcsin(np.clip(rel[:, 1] / np.linalg.norm(rel, axis=1), -1, 1)) / np.pi
    vt = [tuple(p) for p in np.stack([u, vv], 1)]
    extra: dict[int, int] = {}
    uv_faces = faces.copy()
    for i, tri in enumerate(faces):
        if np.ptp(u[tri]) > 0.5:
            for c, vi in enumerate(tri):
                if u[vi] < 0.5:
                    if vi not in extra:
                        extra[vi] = len(vt)
                        vt.append((u[vi] + 1.0, vv[vi]))
                    uv_faces[i, c] = extra[vi]
    vt = np.asarray(vt)
    vt[:, 0] /= vt[:, 0].max()  # the seam copies run past u = 1: squeeze back into [0, 1] like real FLAME UVs
    return vt, uv_faces


def write_obj(path: Path, vertices: np.ndarray, vt: np.ndarray, faces: np.ndarray, uv_faces: np.ndarray,
              *, shuffle_seed: int | None = None) -> None:
    """Write ``v``/``vt``/``f v/vt`` lines; ``shuffle_seed`` permutes the faces and rotates their corners."""
    order = np.arange(len(faces))
    shift = np.zeros(len(faces), np.int64)
    if shuffle_seed is not None:
        rng = np.random.default_rng(shuffle_seed)
        order, shift = rng.permutation(len(faces)), rng.integers(0, 3, len(faces))
    lines = [f"v {a:.9g} {b:.9g} {c:.9g}" for a, b, c in vertices]
    lines += [f"vt {a:.9g} {b:.9g}" for a, b in vt]
    for i in order:
        corners = np.roll(np.arange(3), shift[i])
        lines.append("f " + " ".join(f"{faces[i, c] + 1}/{uv_faces[i, c] + 1}" for c in corners))
    Path(path).write_text("\n".join(lines) + "\n")


def write_deca_embedding(path: Path, static: dict, dynamic: dict) -> None:
    """DECA-style ``landmark_embedding.npy`` (``np.save`` of a dict; dynamic tables as torch tensors)."""
    import torch

    table = {
        "static_lmk_faces_idx": np.asarray(static["lmk_face_idx"], np.int64),
        "static_lmk_bary_coords": np.asarray(static["lmk_b_coords"]),
        "dynamic_lmk_faces_idx": torch.from_numpy(np.asarray(dynamic["lmk_face_idx"], np.int64)),
        "dynamic_lmk_bary_coords": torch.from_numpy(np.asarray(dynamic["lmk_b_coords"])),
    }
    np.save(path, table, allow_pickle=True)


def write_flame_folder(
    folder: str | Path,
    *,
    variant: str = "plain",
    num_shape: int = 300,
    num_expression: int = 100,
    subdivisions: int = 3,
    seed: int = 0,
    model_name: str = "generic_model.pkl",
    landmarks: bool = True,
    contour: bool = True,
    masks: bool = True,
    uv_template: bool = True,
    shuffle_uv_faces: bool = False,
) -> FlameFixture:
    """Write a FLAME-format folder (see the module docstring) and return what was written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = make_flame_arrays(num_shape, num_expression, subdivisions=subdivisions, seed=seed)
    model = folder / model_name
    write_model_pickle(model, arrays, variant)
    static = dynamic = mask_table = uv = None
    if landmarks:
        static, dyn = make_landmark_embeddings(arrays, seed)
        (folder / "flame_static_embedding.pkl").write_bytes(pickle.dumps(static, protocol=2))
        if contour:
            dynamic = dyn
            np.save(folder / "flame_dynamic_embedding.npy", dynamic, allow_pickle=True)
    if masks:
        mask_table = make_masks(arrays)
        (folder / "FLAME_masks.pkl").write_bytes(pickle.dumps(mask_table, protocol=2))
    if uv_template:
        uv = make_uv_template(arrays)
        write_obj(folder / "head_template.obj", arrays["v_template"], uv[0], arrays["f"].astype(np.int64), uv[1],
                  shuffle_seed=seed if shuffle_uv_faces else None)
    return FlameFixture(folder, model, arrays, static, dynamic, mask_table, uv)
