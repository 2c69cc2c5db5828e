"""FLAME (Li et al. 2017, "Learning a model of facial shape and expression from 4D scans") as a HeadModel.

FLAME is the face model of paper 003 (AlbedoGAN, §4.2, Eq. 2: ``M_c(s, ψ) = T + B_S s + B_ψ ψ``, 300
shape and 50 of FLAME's 100 expression components on the 5023-vertex mesh). The full forward implemented
by :class:`assetgen.heads.base.HeadModel` adds FLAME's pose correctives and skinning:

    T_P(β, ψ, θ) = T̄ + B_S(β) + B_E(ψ) + B_P(θ),   B_P(θ) = Σ_j (R_j(θ) − I) P_j   (joints 1..4)
    J(β, ψ) = 𝒥 (T̄ + B_S(β) + B_E(ψ))
    M = W(T_P, J, θ, 𝒲)   (linear blend skinning over global, neck, jaw, left eye, right eye)

This module reads a FLAME pickle (FLAME 2020 ``generic_model.pkl``, FLAME 2023 ``flame2023.pkl``, FLAME
2023 Open) with the restricted unpickler of :mod:`assetgen.heads.flame_pickle` and builds the model's
:class:`~assetgen.heads.base.HeadModelData`. Nothing about the file's sizes is assumed: any number of
vertices and of shape/expression components works. FLAME's frame is already the model frame (meters,
+Y up, face toward +Z).

The pose-corrective directions keep smplx's ordering: the file's ``posedirs [V, 3, P]`` becomes
``pose_dirs [P, V, 3]`` and is weighted by ``(R[1:] − I).reshape(B, -1)`` (``P = (J − 1) · 9``).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import scipy.sparse
import torch

from assetgen.heads import lbs
from assetgen.heads.base import HeadModel, HeadModelData, PoseMap
from assetgen.heads.flame_landmarks import STATIC_FILE, LandmarkEmbedding, contour_lookup, read_landmark_embedding
from assetgen.heads.flame_pickle import load_pickle, load_pickle_bytes
from assetgen.heads.flame_regions import parts_from_regions, regions_from_geometry, regions_from_masks
from assetgen.heads.flame_uv import generate_uvs, read_uv_template

__all__ = ["FlameHead", "load_flame", "resolve_model_file", "read_flame_arrays", "FLAME_LICENSE",
           "FLAME_OPEN_LICENSE"]

log = logging.getLogger(__name__)

FLAME_LICENSE = ("FLAME model licence (MPI-IS): non-commercial scientific research only, no redistribution; "
                 "https://flame.is.tue.mpg.de/modellicense.html")
FLAME_OPEN_LICENSE = "CC-BY-4.0 (FLAME 2023 Open, MPI-IS; attribution required)"

#: FLAME's convention: the first 300 ``shapedirs`` columns are identity, the rest expression.
DEFAULT_SHAPE_SPACE_DIM = 300
#: Model file names preferred when a folder holds several pickles (FLAME 2020 ships female/male too).
PREFERRED_FILES = ("generic_model.pkl", "flame2023.pkl", "flame2023_open.pkl", "flame_neutral.pkl")
#: Pickles in a FLAME folder that are not model files.
AUXILIARY_FILES = (STATIC_FILE.lower(), "flame_masks.pkl")
MASKS_FILE = "FLAME_masks.pkl"
UV_TEMPLATE_FILE = "head_template.obj"
ACCEPTED_FILES = ("a FLAME .pkl (FLAME 2020 generic_model.pkl, FLAME 2023 flame2023.pkl, FLAME 2023 Open) or a "
                  "folder holding exactly one model .pkl (preferred names: " + ", ".join(PREFERRED_FILES) + ")")
REQUIRED_KEYS = ("f", "v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table")

JOINT_NAMES = ["global", "neck", "jaw", "eye_left", "eye_right"]
#: smplx's FLAME pose order: full_pose = [global, neck, jaw, left eye, right eye] → joints 0..4.
POSE_MAP = PoseMap(source=(0, 1, 2, 3, 4), joint=(0, 1, 2, 3, 4), fraction=(1.0, 1.0, 1.0, 1.0, 1.0))
#: Joints whose rotations give the head yaw for the contour landmarks (joint first, then its ancestors up
#: to the root, so their product is the first joint's world rotation).
CONTOUR_CHAINS = {"neck": [1, 0], "global": [0]}


def resolve_model_file(path: str | Path) -> Path:
    """The FLAME model pickle named by ``path`` (a ``.pkl`` file or a folder holding one).

    In a folder, ``flame_static_embedding.pkl`` and ``FLAME_masks.pkl`` are skipped; one remaining ``.pkl``
    is taken; with several, the single one among :data:`PREFERRED_FILES` is taken.

    Raises:
        ValueError: missing path, not a ``.pkl``, or a folder with no or several candidate model files
            (the message lists what was found and what is accepted).
    """
    path = Path(path)
    if path.is_file():
        if path.suffix.lower() != ".pkl":
            raise ValueError(f"path: {str(path)!r} is not a .pkl file; accepted: {ACCEPTED_FILES}")
        return path
    if not path.is_dir():
        raise ValueError(f"path: {str(path)!r} does not exist; accepted: {ACCEPTED_FILES}")
    found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".pkl")
    candidates = [p for p in found if p.name.lower() not in AUXILIARY_FILES]
    if len(candidates) == 1:
        return candidates[0]
    preferred = [p for p in candidates if p.name.lower() in PREFERRED_FILES]
    if len(preferred) == 1:
        return preferred[0]
    what = "no model .pkl" if not candidates else "several model .pkl files, none preferred uniquely"
    raise ValueError(f"path: folder {str(path)!r} holds {what} (found: {[p.name for p in found]}); "
                     f"accepted: {ACCEPTED_FILES}; or pass the file itself")


def _array(table: dict, key: str, file: str, ndim: int, integer: bool = False) -> np.ndarray:
    value = table[key]
    if scipy.sparse.issparse(value):
        value = value.toarray()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{file}: key '{key}': expected a numeric array, got {type(value).__name__} ({err})") \
            from None
    if arr.ndim != ndim:
        raise ValueError(f"{file}: key '{key}': expected a {ndim}-d array, got shape {list(arr.shape)}")
    if integer:
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"{file}: key '{key}': expected integer indices")
        return arr.astype(np.int64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{file}: key '{key}' contains NaN or inf")
    return arr


def _expect(cond: bool, file: str, key: str, expected: str, got: np.ndarray) -> None:
    if not cond:
        raise ValueError(f"{file}: key '{key}': expected shape {expected}, got {list(got.shape)}")


def read_flame_arrays(table: object, file: str) -> dict[str, np.ndarray | list[int]]:
    """Validate a loaded FLAME dict and return float64/int64 arrays.

    Returns:
        ``v_template [V, 3]``, ``faces [F, 3]``, ``shapedirs [V, 3, N]``, ``posedirs [V, 3, (J-1)·9]``,
        ``j_regressor [J, V]`` (dense), ``weights [V, J]``, ``parents`` (list, ``-1`` first).
    Raises:
        ValueError: not a dict, a missing key, or a shape/index inconsistency (names the key).
    """
    if not isinstance(table, dict):
        raise ValueError(f"{file}: expected a dict of FLAME arrays, got {type(table).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in table]
    if missing:
        raise ValueError(f"{file}: missing key(s) {missing}; a FLAME model needs {list(REQUIRED_KEYS)} "
                         f"(found: {sorted(map(str, table))})")
    v_template = _array(table, "v_template", file, 2)
    num_v = v_template.shape[0]
    _expect(v_template.shape[1] == 3 and num_v > 0, file, "v_template", "[V, 3]", v_template)
    faces = _array(table, "f", file, 2, integer=True)
    _expect(faces.shape[1] == 3 and len(faces) > 0, file, "f", "[F, 3]", faces)
    if faces.min() < 0 or faces.max() >= num_v:
        raise ValueError(f"{file}: key 'f': vertex indices must lie in [0, {num_v}), got [{faces.min()}, "
                         f"{faces.max()}]")
    kintree = _array(table, "kintree_table", file, 2)
    _expect(kintree.shape[0] == 2, file, "kintree_table", "[2, J]", kintree)
    num_j = kintree.shape[1]
    if num_j != len(JOINT_NAMES):
        raise ValueError(f"{file}: key 'kintree_table': expected FLAME's {len(JOINT_NAMES)} joints "
                         f"({', '.join(JOINT_NAMES)}), got {num_j}")
    parents = [-1] + [int(p) for p in kintree[0, 1:]]
    for j, p in enumerate(parents[1:], 1):
        if not 0 <= p < j:
            raise ValueError(f"{file}: key 'kintree_table': parent of joint {j} must be in [0, {j}), got {p}")
    shapedirs = _array(table, "shapedirs", file, 3)
    _expect(shapedirs.shape[:2] == (num_v, 3), file, "shapedirs", f"[{num_v}, 3, N] (V from v_template)", shapedirs)
    num_pose = (num_j - 1) * 9
    posedirs = _array(table, "posedirs", file, 3)
    _expect(posedirs.shape == (num_v, 3, num_pose), file, "posedirs", f"[{num_v}, 3, {num_pose}] = [V, 3, (J-1)*9]",
            posedirs)
    j_regressor = _array(table, "J_regressor", file, 2)
    _expect(j_regressor.shape == (num_j, num_v), file, "J_regressor", f"[{num_j}, {num_v}] = [J, V]", j_regressor)
    weights = _array(table, "weights", file, 2)
    _expect(weights.shape == (num_v, num_j), file, "weights", f"[{num_v}, {num_j}] = [V, J]", weights)
    return dict(v_template=v_template, faces=faces, shapedirs=shapedirs, posedirs=posedirs,
                j_regressor=j_regressor, weights=weights, parents=parents)


def _count(name: str, value: int | None, available: int, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= available:
        raise ValueError(f"{name}: expected an int in [0, {available}], got {value!r}")
    return int(value)


class FlameHead(HeadModel):
    """FLAME as a stateless :class:`HeadModel` (build it with :func:`load_flame`).

    Inputs follow :meth:`HeadModel.forward`: ``shape [B, num_shape]`` (FLAME β, PCA units),
    ``expression [B, num_expression]`` (ψ), ``global_orient``/``neck_pose``/``jaw_pose [B, 3]`` and
    ``eye_pose [B, 2, 3]`` (left, right) axis-angle in radians, ``translation [B, 3]`` meters.
    ``HeadOutput.landmarks`` is ``[B, L, 3]``: the contour points (when a dynamic embedding is loaded)
    followed by the static points — iBUG-68 order for FLAME's 17 + 51 — or ``None`` without an embedding.
    """

    model_id = "flame"

    def __init__(
        self,
        data: HeadModelData,
        *,
        num_shape: int,
        num_expression: int,
        parts: dict[str, torch.Tensor],
        regions: dict[str, torch.Tensor],
        landmarks: LandmarkEmbedding | None,
        contour_chain: str,
        license: str,
        source: str,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__(
            data,
            num_shape=num_shape,
            num_identity_coefficients=num_shape,
            shape_names=[f"shape{i:03d}" for i in range(num_shape)],
            expression_names=[f"expr{i:03d}" for i in range(num_expression)],
            joint_names=JOINT_NAMES,
            pose_map=POSE_MAP,
            parts=parts,
            regions=regions,
            landmark_names=None if landmarks is None else landmarks.names,
            dtype=dtype,
            device=device,
        )
        self.license = license
        self.source = source
        # The yaw of the contour comes from the world rotation of the chain's first joint (the product of the
        # local rotations up to the root), which is the rotation block of its skinning transform.
        self._contour_joint = CONTOUR_CHAINS[contour_chain][0]
        if landmarks is not None and landmarks.contour_faces is not None:
            # One table row per whole yaw degree −M..M: that row's contour points, then the static points.
            faces = data.faces.cpu().numpy()
            rows, bounds = contour_lookup(landmarks.contour_faces.shape[0])
            num_rows, num_static = len(rows), len(landmarks.static_faces)
            tri = np.concatenate([faces[landmarks.contour_faces[rows]],
                                  np.broadcast_to(faces[landmarks.static_faces], (num_rows, num_static, 3))], 1)
            bary = np.concatenate([landmarks.contour_bary[rows],
                                   np.broadcast_to(landmarks.static_bary, (num_rows, num_static, 3))], 1)
            index, weights = lbs.embedding_table(torch.from_numpy(tri), torch.from_numpy(bary))
            self.register_buffer("landmark_table_index", index.to(device=device), persistent=False)
            self.register_buffer("landmark_table_weights", weights.to(device=device, dtype=dtype), persistent=False)
            self.register_buffer("contour_bounds", bounds.to(device=device, dtype=dtype), persistent=False)
        else:
            self.landmark_table_index = self.landmark_table_weights = self.contour_bounds = None

    def landmark_embedding(self, transforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The contour points for each item's head yaw (smplx's dynamic embedding), then the static points.

        Args:
            transforms: ``[B, J, 3, 4]`` skinning transforms.
        Returns:
            ``(index [B, (C + L)*9], weights [B, C + L, 1, 3])`` for :func:`lbs.embedded_points` (which gives
            ``[B, C + L, 3]`` meters), or ``None`` without a landmark embedding.
        """
        if self.contour_bounds is None:
            return super().landmark_embedding(transforms)
        # sin(yaw) is the world rotation's R[2, 0]; its bucket among sin(±0.5°, ±1.5°, …) is the table row.
        rows = torch.bucketize(transforms[:, self._contour_joint, 2, 0].contiguous(), self.contour_bounds)
        return self.landmark_table_index.index_select(0, rows), self.landmark_table_weights.index_select(0, rows)


def _optional_file(option: str, value: str | Path | bool | None, default: Path) -> Path | None:
    if value is False:
        return None
    if value is None or value is True:
        return default if default.is_file() else None
    path = Path(value)
    if not path.is_file():
        raise ValueError(f"{option}: {str(path)!r} is not a file")
    return path


def load_flame(
    path: str | Path,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    num_shape: int | None = None,
    num_expression: int | None = None,
    shape_space_dim: int | None = None,
    uv_template: str | Path | bool | None = None,
    masks: str | Path | bool | None = None,
    landmarks: bool = True,
    landmark_embedding: str | Path | None = None,
    contour_embedding: str | Path | None = None,
    contour_chain: str = "neck",
    license: str | None = None,
    **unknown: object,
) -> FlameHead:
    """Load a FLAME model file (or a folder holding one) safely.

    Args:
        path: a FLAME ``.pkl`` or a folder (see :func:`resolve_model_file`). Side files are looked up next
            to the model file.
        device, dtype: where the buffers live (``torch.float32`` or ``torch.float64``).
        num_shape: identity components to use (default: all identity columns).
        num_expression: expression components to use (default: all expression columns).
        shape_space_dim: how many leading ``shapedirs`` columns are identity; default FLAME's 300 (or all
            columns when the file has fewer). State it for files that differ (e.g. 7 for a 7 + 3 model).
        uv_template: OBJ with the model's texture coordinates (default: ``head_template.obj`` next to the
            model when present; ``False``: skip it); without one a deterministic xatlas atlas is made.
        masks: ``FLAME_masks.pkl`` (default: next to the model when present; ``False``: skip it); without it
            regions are derived geometrically (see :mod:`assetgen.heads.flame_regions`).
        landmarks: load landmark embeddings (``flame_static_embedding.pkl`` + ``flame_dynamic_embedding.npy``,
            or DECA's ``landmark_embedding.npy``) when present; without them ``landmarks`` is ``None``.
        landmark_embedding, contour_embedding: explicit embedding files instead of the search.
        contour_chain: which rotations give the yaw of the contour landmarks: ``"neck"`` (global ∘ neck, as
            the FLAME authors' FLAME_PyTorch/DECA code) or ``"global"`` (global only, as smplx 0.1.28).
        license: override the licence string (default from the file name: FLAME 2023 Open → CC-BY-4.0,
            otherwise FLAME's non-commercial licence).
    Returns:
        A :class:`FlameHead` with ``source = "<file name> sha256:<hex>"``.
    Raises:
        ValueError: unknown option, bad option value, unsafe/corrupt pickle, wrong layout (names the key),
            or unusable side files. Nothing is cached, so a failed load leaves no state behind.
    """
    if unknown:
        raise ValueError(f"unknown FLAME option(s) {sorted(unknown)}; accepted: num_shape, num_expression, "
                         "shape_space_dim, uv_template, masks, landmarks, landmark_embedding, contour_embedding, "
                         "contour_chain, license")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
    if contour_chain not in CONTOUR_CHAINS:
        raise ValueError(f"contour_chain: expected one of {sorted(CONTOUR_CHAINS)}, got {contour_chain!r}")
    file = resolve_model_file(path)
    folder = file.parent
    raw = file.read_bytes()
    arrays = read_flame_arrays(load_pickle_bytes(raw, name=file.name), file.name)
    v_template, faces, weights = arrays["v_template"], arrays["faces"], arrays["weights"]
    shapedirs, j_regressor = arrays["shapedirs"], arrays["j_regressor"]
    num_v, num_cols = v_template.shape[0], shapedirs.shape[2]

    identity = _count("shape_space_dim", shape_space_dim, num_cols, min(DEFAULT_SHAPE_SPACE_DIM, num_cols))
    num_shape = _count("num_shape", num_shape, identity, identity)
    num_expression = _count("num_expression", num_expression, num_cols - identity, num_cols - identity)
    columns = np.r_[0:num_shape, identity:identity + num_expression]
    vertex_dirs = np.ascontiguousarray(shapedirs[:, :, columns].transpose(2, 0, 1))  # [K+E, V, 3]

    uv_path = _optional_file("uv_template", uv_template, folder / UV_TEMPLATE_FILE)
    if uv_path is not None:
        uvs, uv_faces = read_uv_template(uv_path, faces, num_v)
    else:
        uvs, uv_faces = generate_uvs(v_template, faces)

    j_template = j_regressor @ v_template
    masks_path = _optional_file("masks", masks, folder / MASKS_FILE)
    if masks_path is not None:
        regions = regions_from_masks(load_pickle(masks_path), num_v, v_template, weights, j_template,
                                     masks_path.name)
    else:
        regions = regions_from_geometry(v_template, weights, j_template)
    parts = parts_from_regions(faces, regions, num_v)

    embedding = None
    if landmarks:
        embedding = read_landmark_embedding(folder, len(faces), landmark_embedding=landmark_embedding,
                                            contour_embedding=contour_embedding)
    elif landmark_embedding is not None or contour_embedding is not None:
        raise ValueError("landmarks: is False but landmark_embedding/contour_embedding were given")

    t = torch.from_numpy
    data = HeadModelData(
        v_template=t(v_template),
        j_template=t(j_template),
        vertex_dirs=t(vertex_dirs),
        joint_dirs=t(np.einsum("jv,nvc->njc", j_regressor, vertex_dirs)),
        pose_dirs=t(np.ascontiguousarray(arrays["posedirs"].transpose(2, 0, 1))),  # [P, V, 3]
        weights=t(weights),
        parents=arrays["parents"],
        faces=t(faces),
        uvs=t(uvs),
        uv_faces=t(uv_faces),
        landmark_faces=None if embedding is None else t(faces[embedding.static_faces]),
        landmark_bary=None if embedding is None else t(embedding.static_bary),
    )
    if license is None:
        license = FLAME_OPEN_LICENSE if "open" in file.name.lower() else FLAME_LICENSE
    elif not isinstance(license, str) or not license.strip():
        raise ValueError(f"license: expected a non-empty string, got {license!r}")
    source = f"{file.name} sha256:{hashlib.sha256(raw).hexdigest()}"
    model = FlameHead(
        data,
        num_shape=num_shape,
        num_expression=num_expression,
        parts={k: t(v) for k, v in parts.items()},
        regions={k: t(v) for k, v in regions.items()},
        landmarks=embedding,
        contour_chain=contour_chain,
        license=license,
        source=source,
        dtype=dtype,
        device=device,
    )
    log.info("loaded FLAME %s: %d vertices, %d shape + %d expression components, uvs from %s, landmarks %s",
             file.name, num_v, num_shape, num_expression, uv_path.name if uv_path else "xatlas",
             "none" if embedding is None else "+".join(embedding.files))
    return model

