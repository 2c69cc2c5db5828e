"""Resolve a :class:`~assetgen.control.HeadSpec` into the inputs of a loaded head model.

This is the only place where spec units become model units: years → anny's age slider, named controls →
``shape`` columns, ARKit names → ``expression`` columns, degrees → radians.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from assetgen.control import controls as C
from assetgen.control.spec import HeadSpec

__all__ = ["ModelInputs", "resolve", "resolve_batch"]


@dataclass(frozen=True)
class ModelInputs:
    """Inputs of :meth:`assetgen.heads.HeadModel.forward` for one spec (or a batch of specs).

    Tensors have the model's dtype and device; :func:`resolve` gives them without a batch dimension,
    :func:`resolve_batch` with a leading ``B``.

    Attributes:
        shape: ``[S]`` / ``[B, S]`` identity input (open: centred slider units; FLAME: σ units).
        expression: ``[E]`` / ``[B, E]`` (open: ARKit weights 0..1; FLAME: σ units).
        global_orient, neck_pose, jaw_pose: ``[3]`` / ``[B, 3]`` axis-angle, radians.
        eye_pose: ``[2, 3]`` / ``[B, 2, 3]`` axis-angle of the (left, right) eye, radians.
        texture: texture control name → value (``float``; ``[B]`` float64 numpy arrays for a batch).
        texture_seed: the spec's texture seed (a tuple of ints for a batch).
    """

    shape: torch.Tensor
    expression: torch.Tensor
    global_orient: torch.Tensor
    neck_pose: torch.Tensor
    jaw_pose: torch.Tensor
    eye_pose: torch.Tensor
    texture: Mapping[str, float | np.ndarray]
    texture_seed: int | tuple[int, ...]

    def forward_kwargs(self) -> dict[str, torch.Tensor]:
        """Keyword arguments for ``model(**kwargs)``, batched (a batch of one for an unbatched input)."""
        batched = self.shape.dim() == 2
        names = ("shape", "expression", "global_orient", "neck_pose", "jaw_pose", "eye_pose")
        return {n: getattr(self, n) if batched else getattr(self, n).unsqueeze(0) for n in names}


def _check_model(spec: HeadSpec, info: C.ModelInfo, field: str) -> None:
    if spec.model != info.id:
        raise ValueError(f"{field}: spec is for model {spec.model!r} but the model given is {info.id!r}")


def _arrays(specs: Sequence[HeadSpec], model) -> dict[str, np.ndarray]:
    info = C.model_info(model)
    n = len(specs)
    for i, spec in enumerate(specs):
        if not isinstance(spec, HeadSpec):
            raise ValueError(f"specs[{i}]: expected a HeadSpec, got {type(spec).__name__}")
        _check_model(spec, info, "model" if n == 1 else f"specs[{i}].model")
    num_s, num_e = int(model.num_shape), int(model.num_expression)
    shape = np.zeros((n, num_s))
    expression = np.zeros((n, num_e))
    if info.kind == "open":
        names = list(model.shape_names)
        try:
            columns = [names.index(c) for c in C.OPEN_SHAPE_COLUMNS]
            expr_cols = {name: model.expression_names.index(name) for name in C.ARKIT_52}
        except ValueError as exc:
            raise ValueError(f"model: the open head's controls differ from this assetgen's tables ({exc})") from None
        local_index = {name: i for i, name in enumerate(C.OPEN_LOCAL_CHANGES)}
        pheno = np.array([[s.identity[p] for p in C.OPEN_PHENOTYPES] for s in specs]).reshape(n, 6)
        local = np.zeros((n, len(C.OPEN_LOCAL_CHANGES)))
        for i, s in enumerate(specs):
            for name, value in s.identity.items():
                j = local_index.get(name)
                if j is not None:
                    local[i, j] = value
            for name, value in s.expression.items():
                expression[i, expr_cols[name]] = value
        shape[:, columns] = C.open_shape_from_values(pheno, local)
    else:
        for i, s in enumerate(specs):
            prefix = "" if n == 1 else f"specs[{i}]."
            if len(s.shape) > num_s:
                raise ValueError(f"{prefix}identity.shape: {len(s.shape)} coefficients but the model has "
                                 f"{num_s} (num_shape)")
            if len(s.expression_coefficients) > num_e:
                raise ValueError(f"{prefix}expression.coefficients: {len(s.expression_coefficients)} "
                                 f"coefficients but the model has {num_e} (num_expression)")
            shape[i, :len(s.shape)] = s.shape
            expression[i, :len(s.expression_coefficients)] = s.expression_coefficients
    poses = np.zeros((n, len(C.POSE_JOINTS), 3))
    for i, s in enumerate(specs):
        for joint, vec in s.pose.items():
            poses[i, C.POSE_JOINTS.index(joint)] = vec
    return {"shape": shape, "expression": expression, "poses": np.deg2rad(poses)}


def resolve_batch(specs: Sequence[HeadSpec], model) -> ModelInputs:
    """Model inputs ``[B, …]`` for specs of one model (see :class:`ModelInputs`).

    Raises:
        ValueError: a spec for another model (names the spec), more FLAME coefficients than the model has.
    """
    if len(specs) == 0:
        raise ValueError("specs: expected at least one HeadSpec")
    arr = _arrays(specs, model)
    t = lambda a: torch.as_tensor(a, dtype=model.dtype).to(model.device)  # noqa: E731
    poses = arr["poses"]
    texture = {name: np.array([s.texture[name] for s in specs]) for name in specs[0].texture}
    return ModelInputs(shape=t(arr["shape"]), expression=t(arr["expression"]), global_orient=t(poses[:, 0]),
                       neck_pose=t(poses[:, 1]), jaw_pose=t(poses[:, 2]), eye_pose=t(poses[:, 3:5]),
                       texture=texture, texture_seed=tuple(s.texture_seed for s in specs))


def resolve(spec: HeadSpec, model) -> ModelInputs:
    """Model inputs (unbatched: ``shape [S]``, ``expression [E]``, poses ``[3]``/``[2, 3]`` radians) for one
    spec; ``model`` is the loaded :class:`~assetgen.heads.HeadModel` the spec names (``spec.model`` must equal
    :func:`~assetgen.control.controls.model_id` of it, else ``ValueError`` naming ``model``)."""
    batch = resolve_batch([spec], model)
    return ModelInputs(shape=batch.shape[0], expression=batch.expression[0], global_orient=batch.global_orient[0],
                       neck_pose=batch.neck_pose[0], jaw_pose=batch.jaw_pose[0], eye_pose=batch.eye_pose[0],
                       texture=dict(spec.texture), texture_seed=spec.texture_seed)
