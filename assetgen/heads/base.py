"""The head-model contract shared by the built-in open head and FLAME.

A :class:`HeadModel` is a stateless ``torch.nn.Module``: all model data are registered buffers (so
``.to(device, dtype)`` works and dtype/device follow them), the batch size comes from the inputs, and
``forward`` never mutates ``self``. Both models are *linear blend* models in the FLAME sense (paper 003,
§3): identity and expression blend shapes, optional pose-corrective blend shapes, joints that are linear
in the blend coefficients, and linear blend skinning. Subclasses only say how the user-facing ``shape``
vector maps to identity blend coefficients (identity for FLAME, a piecewise-linear phenotype basis for the
open head) and supply their metadata.

Coordinate frame of every model: meters, +Y up, faces look toward +Z (glTF).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from assetgen.heads import lbs

#: The five pose inputs of ``HeadModel.forward``, in the order of ``PoseMap.source``.
POSE_INPUTS = ("global_orient", "neck_pose", "jaw_pose", "eye_pose_left", "eye_pose_right")


@dataclass(frozen=True)
class HeadOutput:
    """Result of :meth:`HeadModel.forward`.

    Attributes:
        vertices: ``[B, V, 3]`` posed vertices, meters.
        joints: ``[B, J, 3]`` posed joint positions, meters.
        landmarks: ``[B, L, 3]`` posed facial landmarks (see ``HeadModel.landmark_names``), meters,
            or ``None`` when the model has no landmark definition.
        transforms: ``[B, J, 3, 4]`` skinning transforms: the rigid map from rest pose to posed pose of
            each joint (``vertices = Σ_j w_vj · transforms_j · [rest; 1]``).
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    landmarks: torch.Tensor | None
    transforms: torch.Tensor


@dataclass(frozen=True)
class PoseMap:
    """How the five pose inputs drive the skeleton.

    Entry ``i`` applies ``fraction[i] * input[source[i]]`` (axis-angle) to joint ``joint[i]``. A pose input
    spread over several joints with the same axis (the open head's neck) composes to the full rotation.

    Attributes:
        source: index into :data:`POSE_INPUTS` per entry.
        joint: joint index per entry (each joint at most once).
        fraction: scale of the axis-angle per entry.
    """

    source: tuple[int, ...]
    joint: tuple[int, ...]
    fraction: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.source) == len(self.joint) == len(self.fraction)):
            raise ValueError("PoseMap: source, joint and fraction must have the same length")
        if len(set(self.joint)) != len(self.joint):
            raise ValueError("PoseMap: a joint may be driven by one pose input only")


@dataclass(frozen=True)
class HeadModelData:
    """Arrays that define a linear-blend head model (all in the model frame: meters, Y up, +Z forward).

    Attributes:
        v_template: ``[V, 3]`` mean (or template) vertices.
        j_template: ``[J, 3]`` rest joints of the template.
        vertex_dirs: ``[K + E, V, 3]`` identity (K) then expression (E) blend directions.
        joint_dirs: ``[K + E, J, 3]`` the same blend directions applied to the joints.
        pose_dirs: ``[(J-1)*9, V, 3]`` pose-corrective directions (FLAME), or ``None``.
        weights: ``[V, J]`` skinning weights.
        parents: ``J`` parent indices (root first, ``-1``).
        faces: ``[F, 3]`` triangle vertex indices.
        uvs: ``[T, 2]`` texture coordinates (origin bottom-left, as OBJ/FLAME), and ``uv_faces [F, 3]``.
        landmark_faces / landmark_bary: ``[L, 3]`` landmark embedding, or ``None``.
    """

    v_template: torch.Tensor
    j_template: torch.Tensor
    vertex_dirs: torch.Tensor
    joint_dirs: torch.Tensor
    pose_dirs: torch.Tensor | None
    weights: torch.Tensor
    parents: list[int]
    faces: torch.Tensor
    uvs: torch.Tensor
    uv_faces: torch.Tensor
    landmark_faces: torch.Tensor | None = None
    landmark_bary: torch.Tensor | None = None


class HeadModel(torch.nn.Module):
    """Stateless linear-blend head model (see module docstring).

    Subclasses set the metadata attributes and may override :meth:`identity_coefficients`,
    :meth:`landmark_embedding` and :meth:`shape_bounds`.
    """

    #: Human-readable model id (``"open"``, ``"flame"``) and provenance strings.
    model_id: str = ""
    license: str = ""
    source: str = ""

    def __init__(
        self,
        data: HeadModelData,
        *,
        num_shape: int,
        num_identity_coefficients: int,
        shape_names: list[str],
        expression_names: list[str],
        joint_names: list[str],
        pose_map: PoseMap,
        parts: dict[str, torch.Tensor],
        regions: dict[str, torch.Tensor],
        landmark_names: list[str] | None = None,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        super().__init__()
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype: expected torch.float32 or torch.float64, got {dtype}")
        num_joints = data.j_template.shape[0]
        num_blend = data.vertex_dirs.shape[0]
        num_expr = num_blend - num_identity_coefficients
        if len(expression_names) != num_expr or len(shape_names) != num_shape:
            raise ValueError("HeadModel: names do not match the blend-shape counts")
        if len(joint_names) != num_joints or len(data.parents) != num_joints:
            raise ValueError("HeadModel: joint names/parents do not match the joint count")
        self._num_shape = num_shape
        self._num_identity = num_identity_coefficients
        self._shape_names = list(shape_names)
        self._expression_names = list(expression_names)
        self._joint_names = list(joint_names)
        self._parents = [int(p) for p in data.parents]
        self._landmark_names = list(landmark_names) if landmark_names is not None else None
        self.pose_map = pose_map

        def buf(name: str, value: torch.Tensor, floating: bool = True) -> None:
            value = value.detach().to(device=device, dtype=dtype if floating else torch.long).contiguous()
            self.register_buffer(name, value, persistent=False)

        # Blend matrices: rows = [identity, expression, pose-corrective, template], multiplied by the
        # coefficients [β, ψ, pose features, 1]; one product gives the shaped vertices (with pose correctives),
        # a small one the joints (without), as in FLAME where joints are regressed from the unposed shape
        # (paper 003 §3, J(β, ψ)). The template is the last row so that it is added last, after the small
        # terms (as accurate as adding it after the product, and without ``addmm``'s pass that first copies
        # it into the output). Vertices come out planar (all x, then all y, then all z) for :func:`lbs.skin`,
        # joints homogeneous, ``(x, y, z, 1)`` (exact: 1 · 1 plus zeros), for :func:`lbs.forward_kinematics`.
        vertex_rows = [data.vertex_dirs.transpose(1, 2).reshape(num_blend, -1)]
        joint_rows = [F.pad(data.joint_dirs, (0, 1)).reshape(num_blend, -1)]
        self._has_pose_dirs = data.pose_dirs is not None
        if self._has_pose_dirs:
            vertex_rows.append(data.pose_dirs.transpose(1, 2).reshape(data.pose_dirs.shape[0], -1))
            joint_rows.append(joint_rows[0].new_zeros(data.pose_dirs.shape[0], num_joints * 4))
        vertex_rows.append(data.v_template.t().reshape(1, -1))
        joint_rows.append(F.pad(data.j_template, (0, 1), value=1.0).reshape(1, -1))
        buf("blend_dirs", torch.cat(vertex_rows, 0))
        buf("joint_dirs", torch.cat(joint_rows, 0))
        buf("unit", torch.ones(1, 1))
        buf("skin_weights", data.weights)
        buf("skin_weights_t", data.weights.t())
        buf("faces", data.faces, floating=False)
        buf("uvs", data.uvs)
        buf("uv_faces", data.uv_faces, floating=False)
        # Constants of the small-op path (see the lbs module docstring): the hierarchy, the quaternion →
        # rotation map, and the map from the five pose inputs to the joints' half axis-angles (the
        # quaternion's; one nonzero ``fraction / 2`` per output, so the product is exact).
        self._tree = lbs.KinematicTree.from_parents(self._parents)
        homogeneous, features = lbs.rotation_basis(num_joints)
        buf("rotation_basis", homogeneous)
        if self._has_pose_dirs:
            buf("pose_feature_basis", features)
        scatter = torch.zeros(3 * len(POSE_INPUTS), 3 * num_joints, dtype=torch.float64)
        for s, j, f in zip(pose_map.source, pose_map.joint, pose_map.fraction):
            scatter[3 * s : 3 * s + 3, 3 * j : 3 * j + 3] = torch.eye(3, dtype=torch.float64) * (f / 2)
        buf("pose_scatter", scatter)
        if data.landmark_faces is not None:
            buf("landmark_faces", data.landmark_faces, floating=False)
            buf("landmark_bary", data.landmark_bary)
            index, weights = lbs.embedding_table(data.landmark_faces, data.landmark_bary)
            buf("landmark_index", index.unsqueeze(0), floating=False)  # [1, L*9]
            buf("landmark_weights", weights.unsqueeze(0))  # [1, L, 1, 3]
        else:
            self.landmark_faces = self.landmark_bary = self.landmark_index = self.landmark_weights = None
        self._parts = {k: v.detach().to(device=device, dtype=torch.long) for k, v in parts.items()}
        self._regions = {k: v.detach().to(device=device, dtype=torch.long) for k, v in regions.items()}

    # ------------------------------------------------------------------ metadata
    @property
    def dtype(self) -> torch.dtype:
        return self.blend_dirs.dtype

    @property
    def device(self) -> torch.device:
        return self.blend_dirs.device

    @property
    def blend_template(self) -> torch.Tensor:
        """``[3V]`` the template vertices, planar (the x of every vertex, then y, then z): a view of the last
        row of ``blend_dirs``, so editing it in place edits the model."""
        return self.blend_dirs[-1]

    @property
    def num_vertices(self) -> int:
        return self.skin_weights.shape[0]

    @property
    def num_joints(self) -> int:
        return self.skin_weights.shape[1]

    @property
    def num_shape(self) -> int:
        return self._num_shape

    @property
    def num_expression(self) -> int:
        return len(self._expression_names)

    @property
    def shape_names(self) -> list[str]:
        return list(self._shape_names)

    @property
    def expression_names(self) -> list[str]:
        return list(self._expression_names)

    @property
    def joint_names(self) -> list[str]:
        return list(self._joint_names)

    @property
    def joint_parents(self) -> list[int]:
        return list(self._parents)

    @property
    def landmark_names(self) -> list[str] | None:
        return None if self._landmark_names is None else list(self._landmark_names)

    @property
    def parts(self) -> dict[str, torch.Tensor]:
        """Part name → ``[n]`` long face indices (``skin``, ``eye_left``, ``eye_right``, ``teeth``, ``tongue``…)."""
        return {k: v.to(self.device) for k, v in self._parts.items()}

    @property
    def regions(self) -> dict[str, torch.Tensor]:
        """Region name → ``[n]`` long vertex indices (``face``, ``scalp``, ``ears``, ``neck``, ``lips``…)."""
        return {k: v.to(self.device) for k, v in self._regions.items()}

    def _apply(self, fn, recurse=True):  # keep part/region index tensors on the module's device
        out = super()._apply(fn, recurse)
        dev = self.blend_dirs.device
        self._parts = {k: v.to(dev) for k, v in self._parts.items()}
        self._regions = {k: v.to(dev) for k, v in self._regions.items()}
        return out

    def extra_repr(self) -> str:
        return (
            f"model_id={self.model_id!r}, vertices={self.num_vertices}, joints={self.num_joints}, "
            f"shape={self.num_shape}, expression={self.num_expression}"
        )

    # ------------------------------------------------------------------ hooks
    def identity_coefficients(self, shape: torch.Tensor) -> torch.Tensor:
        """Map the user-facing ``shape [B, S]`` to identity blend coefficients ``[B, K]``."""
        return shape

    def landmark_embedding(self, transforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Where the landmarks sit on the mesh for these poses: ``(index [B or 1, L*9], weights [B or 1, L, 1,
        3])`` for :func:`lbs.embedded_points`, or ``None`` when the model has no landmark definition.

        ``transforms [B, J, 3, 4]`` are the skinning transforms, whose ``[..., :3]`` are the world joint
        rotations, for pose-dependent landmarks such as FLAME's dynamic contour. Called before the blend
        product, so it must not need the vertices.
        """
        if self.landmark_index is None:
            return None
        return self.landmark_index, self.landmark_weights

    def shape_bounds(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Inclusive ``(low [S], high [S])`` bounds of ``shape``, or ``None`` when unbounded."""
        return None

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        shape: torch.Tensor | None = None,
        expression: torch.Tensor | None = None,
        global_orient: torch.Tensor | None = None,
        neck_pose: torch.Tensor | None = None,
        jaw_pose: torch.Tensor | None = None,
        eye_pose: torch.Tensor | None = None,
        translation: torch.Tensor | None = None,
    ) -> HeadOutput:
        """Pose and shape the head.

        Args:
            shape: ``[B, S]`` identity coefficients (``S = num_shape``); ``None`` → neutral (zeros).
            expression: ``[B, E]`` expression coefficients (``E = num_expression``); ``None`` → zeros.
            global_orient, neck_pose, jaw_pose: ``[B, 3]`` axis-angle rotations (radians) in the parent
                joint's rest frame (world axes: X right, Y up, Z forward).
            eye_pose: ``[B, 2, 3]`` axis-angle of the (left, right) eye.
            translation: ``[B, 3]`` meters, added to every output point.
        All given inputs must share the batch size ``B``, dtype and device of the model; all ``None`` gives
        ``B = 1``. Raises ``ValueError`` naming the argument on a wrong shape, dtype, device, non-finite
        value or out-of-range shape value.
        """
        named = {
            "shape": (shape, (self.num_shape,)),
            "expression": (expression, (self.num_expression,)),
            "global_orient": (global_orient, (3,)),
            "neck_pose": (neck_pose, (3,)),
            "jaw_pose": (jaw_pose, (3,)),
            "eye_pose": (eye_pose, (2, 3)),
            "translation": (translation, (3,)),
        }
        batch = self._validate(named)
        return self.forward_unchecked(batch, shape, expression, global_orient, neck_pose, jaw_pose, eye_pose,
                                      translation)

    def forward_unchecked(
        self,
        batch: int,
        shape: torch.Tensor | None,
        expression: torch.Tensor | None,
        global_orient: torch.Tensor | None,
        neck_pose: torch.Tensor | None,
        jaw_pose: torch.Tensor | None,
        eye_pose: torch.Tensor | None,
        translation: torch.Tensor | None,
    ) -> HeadOutput:
        """:meth:`forward` without input validation: no host synchronisation, so it can be captured in a CUDA
        graph (:class:`assetgen.heads.cuda_graph.CudaGraphForward`). Inputs must already be valid.

        Every step is a few whole-batch ops (at batch 1 the op count, not the arithmetic, sets the time
        besides the one large blend product): joint rotations and pose-corrective features as constant maps
        of the quaternion products, a small blend product for the joints, the kinematic chain one product
        per group of sibling joints, the landmarks' placement, then the large blend product (template
        included), skinning and the landmarks themselves.
        """
        num_j = self.num_joints
        if eye_pose is not None:
            eye_pose = eye_pose.reshape(batch, 6)
        pose = [global_orient, neck_pose, jaw_pose, eye_pose]
        if any(p is None for p in pose):
            zero = self.blend_dirs.new_zeros(batch, 6)
            pose = [zero[:, : 6 if i == 3 else 3] if p is None else p for i, p in enumerate(pose)]
        half_rotvec = torch.mm(torch.cat(pose, 1), self.pose_scatter).view(-1, 3, 1)  # [B*J, 3, 1] radians
        products = lbs.quaternion_products(half_rotvec)  # [B*J, 16]

        if shape is None:
            shape = self.blend_dirs.new_zeros(batch, self.num_shape)
        if expression is None:
            expression = self.blend_dirs.new_zeros(batch, self.num_expression)
        coeffs = [self.identity_coefficients(shape), expression]
        if self._has_pose_dirs:  # FLAME pose correctives B_P(θ): features R_j − I of the non-root joints
            coeffs.append(torch.mm(products.view(batch, -1)[:, 16:], self.pose_feature_basis))
        coeffs = torch.cat([*coeffs, self.unit.expand(batch, 1)], 1)  # the 1 that adds the template
        rest_joints = lbs.blend(coeffs, self.joint_dirs).view(batch, num_j, 4, 1)
        rotations = torch.mm(products, self.rotation_basis).view(batch, num_j, 4, 4)
        transforms, posed_joints = lbs.forward_kinematics(rotations, rest_joints, self._tree, translation)
        embedding = self.landmark_embedding(transforms)
        # The large product streams the blend matrix through the caches: little is left to do after it.
        rest_vertices = lbs.blend(coeffs, self.blend_dirs).view(batch, 3, -1)  # planar
        vertices = lbs.skin(rest_vertices, self.skin_weights_t, transforms, overwrite=not rest_vertices.requires_grad)
        landmarks = None if embedding is None else lbs.embedded_points(vertices, *embedding)
        return HeadOutput(vertices=vertices, joints=posed_joints, landmarks=landmarks, transforms=transforms)

    def _validate(self, named: dict[str, tuple[torch.Tensor | None, tuple[int, ...]]]) -> int:
        """Check the inputs of :meth:`forward` (name → ``(value, shape after B)``); return ``B``.

        One host synchronisation for all values: the sum of every given value is finite unless one is
        NaN or ±inf (or, harmlessly, unless the sum overflows: then each value is checked on its own).
        """
        dtype, device = self.dtype, self.device
        batch = None
        batch_from = ""
        checks, flat = [], []
        for name, (value, tail) in named.items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise ValueError(f"{name}: expected a torch.Tensor of shape [B, {', '.join(map(str, tail))}], "
                                 f"got {type(value).__name__}")
            size = value.shape
            if len(size) != 1 + len(tail) or size[1:] != tail:
                raise ValueError(f"{name}: expected shape [B, {', '.join(map(str, tail))}], got {list(size)}")
            if value.dtype != dtype:
                raise ValueError(f"{name}: expected dtype {dtype} (the model's), got {value.dtype}")
            if value.device != device:
                raise ValueError(f"{name}: expected device {device} (the model's), got {value.device}")
            if batch is None:
                batch, batch_from = size[0], name
            elif size[0] != batch:
                raise ValueError(f"{name}: batch size {size[0]} disagrees with {batch_from} ({batch})")
            checks.append((name, value))
            flat.append(value if len(tail) == 1 else value.reshape(batch, -1))
        if batch == 0:
            raise ValueError(f"{batch_from}: batch size must be at least 1, got 0")
        if not checks:
            return 1
        shape = named.get("shape", (None,))[0]
        bounds = self.shape_bounds() if shape is not None else None
        total = torch.cat(flat, 1).sum()
        if bounds is None:
            if math.isfinite(total.item()):
                return batch
        elif bool(torch.isfinite(total) & ((shape >= bounds[0]) & (shape <= bounds[1])).all()):
            return batch
        for name, value in checks:
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name}: contains NaN or inf")
        if bounds is None:
            return batch
        low, high = bounds
        bad = ((shape < low) | (shape > high)).any(0).nonzero().flatten().tolist()
        if not bad:
            return batch
        i = bad[0]
        raise ValueError(
            f"shape: value of '{self._shape_names[i]}' (column {i}) out of range "
            f"[{float(low[i]):g}, {float(high[i]):g}]" + (f" (and {len(bad) - 1} more columns)" if len(bad) > 1 else "")
        )
