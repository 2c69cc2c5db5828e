"""The data of one exported head: :class:`HeadAsset` and its parts.

Everything here is plain numpy data in the project frame (meters, +Y up, face toward +Z) and the model's
OBJ-style UVs (origin bottom-left, ``v`` up; see :mod:`assetgen.geometry`). Exporters (``exporters/``) only
read these objects; :func:`assetgen.asset.build_head_asset` makes them.

The constructors check shapes, dtypes and finiteness and raise ``ValueError`` naming the field, so an
exporter can trust what it is handed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Animation", "HeadAsset", "LevelOfDetail", "Material", "MeshPart", "Skeleton", "TextureImage",
           "MAX_INFLUENCES"]

#: Joint influences per vertex (glTF JOINTS_0/WEIGHTS_0, and what every engine takes without extra sets).
MAX_INFLUENCES = 4


def _check(owner: str, name: str, value: Any, dtype: type, shape: tuple[int | None, ...], finite: bool = False
           ) -> None:
    """Raise ``ValueError`` unless ``value`` is an ndarray of ``dtype`` whose shape matches ``shape``
    (``None`` = any size)."""
    expected = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
    if not isinstance(value, np.ndarray) or value.dtype != dtype:
        got = f"{value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"{owner}.{name}: expected a {np.dtype(dtype)} array of shape {expected}, got {got}")
    if value.ndim != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
        raise ValueError(f"{owner}.{name}: expected shape {expected}, got {list(value.shape)}")
    if finite and not np.isfinite(value).all():
        raise ValueError(f"{owner}.{name}: contains NaN or inf")


@dataclass(frozen=True, eq=False)
class TextureImage:
    """One texture image as it is written to a file (exporters encode it as PNG).

    Attributes:
        name: unique file-safe name within the asset (``"head_albedo"``); FBX export needs one per image.
        pixels: ``[H, W, C]`` uint8, row 0 at the top of the texture, ``C`` in 1–4.
        color_space: ``"srgb"`` (base colour) or ``"linear"`` (normal, ORM).
    """

    name: str
    pixels: np.ndarray
    color_space: str = "linear"

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("TextureImage.name: expected a non-empty string")
        _check(f"TextureImage({self.name})", "pixels", self.pixels, np.uint8, (None, None, None))
        if not 1 <= self.pixels.shape[2] <= 4 or min(self.pixels.shape[:2]) < 1:
            raise ValueError(f"TextureImage({self.name}).pixels: expected [H, W, 1..4], got {list(self.pixels.shape)}")
        if self.color_space not in ("srgb", "linear"):
            raise ValueError(f"TextureImage({self.name}).color_space: expected 'srgb' or 'linear', "
                             f"got {self.color_space!r}")


@dataclass(frozen=True, eq=False)
class Material:
    """A glTF-style metallic-roughness material.

    Texture values are multiplied by the factors (glTF semantics); with no textures the factors alone
    define the look (flat previews).

    Attributes:
        name: unique within the asset (``"skin"``, ``"eye"``, ``"tongue"``, ``"teeth"``).
        base_color_factor: linear RGBA in [0, 1].
        metallic_factor, roughness_factor: in [0, 1].
        base_color_texture: sRGB albedo, or ``None``.
        normal_texture: tangent-space normal map (OpenGL/glTF convention), or ``None``.
        orm_texture: R occlusion, G roughness, B metallic (linear), or ``None``; used for both glTF's
            ``occlusionTexture`` and ``metallicRoughnessTexture``.
        double_sided: render back faces too.
    """

    name: str
    base_color_factor: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    metallic_factor: float = 0.0
    roughness_factor: float = 0.5
    base_color_texture: TextureImage | None = None
    normal_texture: TextureImage | None = None
    orm_texture: TextureImage | None = None
    double_sided: bool = False

    def __post_init__(self) -> None:
        factors = [*self.base_color_factor, self.metallic_factor, self.roughness_factor]
        if len(self.base_color_factor) != 4 or not all(0.0 <= float(f) <= 1.0 for f in factors):
            raise ValueError(f"Material({self.name}): base_color_factor (4 values), metallic_factor and "
                             f"roughness_factor must lie in [0, 1], got {factors}")

    @property
    def textures(self) -> tuple[TextureImage, ...]:
        """The textures this material uses (base colour, normal, ORM; absent ones left out)."""
        return tuple(t for t in (self.base_color_texture, self.normal_texture, self.orm_texture) if t is not None)


@dataclass(frozen=True, eq=False)
class Skeleton:
    """Joint hierarchy with rest transforms (translation only: joints are not rotated at rest).

    Attributes:
        names: ``J`` joint names (the model's ``joint_names``).
        parents: ``J`` parent indices, ``-1`` for roots; ``parents[j] < j``.
        rest_positions: ``[J, 3]`` float32 world rest positions of the joints (m), identity applied.
        local_translations: ``[J, 3]`` float32 rest translation relative to the parent (m); the world
            position for roots.
        inverse_bind_matrices: ``[J, 4, 4]`` float32, row-major (``M @ [x, 1]``): the inverse of each joint's
            global rest transform, i.e. a translation by ``-rest_positions[j]``.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    rest_positions: np.ndarray
    local_translations: np.ndarray
    inverse_bind_matrices: np.ndarray

    def __post_init__(self) -> None:
        j = len(self.names)
        if j == 0 or len(self.parents) != j or len(set(self.names)) != j:
            raise ValueError(f"Skeleton: expected {j} unique names and {j} parents, got {len(self.parents)} parents")
        if any(not (-1 <= p < i) for i, p in enumerate(self.parents)):
            raise ValueError(f"Skeleton.parents: each parent must precede its joint (or be -1), got {self.parents}")
        _check("Skeleton", "rest_positions", self.rest_positions, np.float32, (j, 3), finite=True)
        _check("Skeleton", "local_translations", self.local_translations, np.float32, (j, 3), finite=True)
        _check("Skeleton", "inverse_bind_matrices", self.inverse_bind_matrices, np.float32, (j, 4, 4), finite=True)

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def roots(self) -> tuple[int, ...]:
        return tuple(i for i, p in enumerate(self.parents) if p < 0)


@dataclass(frozen=True, eq=False)
class MeshPart:
    """One part (skin, an eye, teeth, tongue) of one LOD, split at UV seams: one vertex per (position, UV).

    Attributes (``N`` vertices, ``F`` triangles, ``T`` morph targets, all float32 unless said otherwise):
        name: the model's part name (``"skin"``, ``"eye_left"``…).
        material: name of a :class:`Material` of the asset.
        positions: ``[N, 3]`` rest positions (identity applied, neutral expression), meters.
        normals: ``[N, 3]`` unit vertex normals (computed on the model topology, so seams are smooth).
        tangents: ``[N, 4]`` MikkTSpace-style tangents (``assetgen.geometry.vertex_tangents``), ``w = ±1``.
        uvs: ``[N, 2]`` OBJ-style texture coordinates (``v`` up).
        faces: ``[F, 3]`` uint32 triangle indices, counter-clockwise = front.
        joints: ``[N, 4]`` uint16 joint indices into the skeleton; a slot with weight 0 holds joint 0.
        weights: ``[N, 4]`` skin weights, sorted descending, rows summing to 1.
        morph_positions: ``[T, N, 3]`` position deltas per morph target (m); exact zeros where untouched.
        morph_normals: ``[T, N, 3]`` normal deltas per morph target; exact zeros where untouched.
        model_vertex: ``[N]`` int64, the model vertex each vertex comes from.
        lod0_vertex: ``[N]`` int64, the vertex of the same part in LOD 0 that this vertex carries (identity
            at LOD 0): every attribute above equals LOD 0's at that vertex, except tangents (recomputed).
    """

    name: str
    material: str
    positions: np.ndarray
    normals: np.ndarray
    tangents: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    morph_positions: np.ndarray
    morph_normals: np.ndarray
    model_vertex: np.ndarray
    lod0_vertex: np.ndarray

    def __post_init__(self) -> None:
        owner = f"MeshPart({self.name})"
        n = self.positions.shape[0] if isinstance(self.positions, np.ndarray) else None
        t = self.morph_positions.shape[0] if isinstance(self.morph_positions, np.ndarray) else None
        _check(owner, "positions", self.positions, np.float32, (None, 3), finite=True)
        _check(owner, "normals", self.normals, np.float32, (n, 3), finite=True)
        _check(owner, "tangents", self.tangents, np.float32, (n, 4), finite=True)
        _check(owner, "uvs", self.uvs, np.float32, (n, 2), finite=True)
        _check(owner, "faces", self.faces, np.uint32, (None, 3))
        _check(owner, "joints", self.joints, np.uint16, (n, MAX_INFLUENCES))
        _check(owner, "weights", self.weights, np.float32, (n, MAX_INFLUENCES), finite=True)
        _check(owner, "morph_positions", self.morph_positions, np.float32, (None, n, 3), finite=True)
        _check(owner, "morph_normals", self.morph_normals, np.float32, (t, n, 3), finite=True)
        _check(owner, "model_vertex", self.model_vertex, np.int64, (n,))
        _check(owner, "lod0_vertex", self.lod0_vertex, np.int64, (n,))
        if n == 0 or self.faces.shape[0] == 0:
            raise ValueError(f"{owner}: expected at least one vertex and one triangle")
        if int(self.faces.max()) >= n:
            raise ValueError(f"{owner}.faces: index {int(self.faces.max())} out of range for {n} vertices")

    @property
    def num_vertices(self) -> int:
        return int(self.positions.shape[0])

    @property
    def num_triangles(self) -> int:
        return int(self.faces.shape[0])


@dataclass(frozen=True, eq=False)
class LevelOfDetail:
    """The parts of one LOD. Level 0 is the full model; level ``l`` has about ``0.5 ** l`` of its triangles.

    Attributes:
        level: 0, 1, 2…
        parts: the mesh parts (same part names and order at every level).
    """

    level: int
    parts: tuple[MeshPart, ...]

    @property
    def num_triangles(self) -> int:
        return sum(p.num_triangles for p in self.parts)

    @property
    def num_vertices(self) -> int:
        return sum(p.num_vertices for p in self.parts)

    def part(self, name: str) -> MeshPart:
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True, eq=False)
class Animation:
    """A keyframed clip (linear interpolation). The expression-sequence generator fills these; a head
    asset built by :func:`~assetgen.asset.build_head_asset` has none.

    Attributes:
        name: clip name, unique within the asset.
        times: ``[K]`` float32 strictly increasing key times, seconds.
        morph_weights: ``[K, T]`` float32 morph-target weights per key (the asset's targets), or ``None``.
        joint_rotations: joint name → ``[K, 4]`` float32 unit quaternions ``(x, y, z, w)`` (local rotation
            relative to the rest orientation, which is the identity).
    """

    name: str
    times: np.ndarray
    morph_weights: np.ndarray | None = None
    joint_rotations: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = f"Animation({self.name})"
        _check(owner, "times", self.times, np.float32, (None,), finite=True)
        k = self.times.shape[0]
        if k == 0 or (k > 1 and not (np.diff(self.times) > 0).all()) or self.times[0] < 0:
            raise ValueError(f"{owner}.times: expected at least one non-negative, strictly increasing time")
        if self.morph_weights is not None:
            _check(owner, "morph_weights", self.morph_weights, np.float32, (k, None), finite=True)
        for joint, q in self.joint_rotations.items():
            _check(owner, f"joint_rotations[{joint!r}]", q, np.float32, (k, 4), finite=True)
            if not np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-4):
                raise ValueError(f"{owner}.joint_rotations[{joint!r}]: expected unit quaternions")
        if self.morph_weights is None and not self.joint_rotations:
            raise ValueError(f"{owner}: expected morph_weights or joint_rotations")


@dataclass(frozen=True, eq=False)
class HeadAsset:
    """Everything one exported head carries.

    Attributes:
        name: asset name; meshes are named ``{name}_LOD{l}``.
        lods: levels of detail, level 0 first; every level has the same parts, in the same order.
        skeleton: the joint hierarchy; every part is skinned to it.
        morph_target_names: ``T`` names (ARKit 52 for the open head, ``expr000``… for FLAME); every part of
            every LOD has ``T`` targets in this order.
        materials: the materials the parts name.
        animations: clips (empty until the expression-sequence generator provides them).
        default_weights: ``T`` morph weights the meshes show by default (glTF ``mesh.weights``: the spec's
            expression, e.g. a smile of 0.7); empty for the neutral face.
        provenance: JSON-serialisable record of what made the head (model and its licence, generator and
            weights versions, seed, resolved parameters, spec hash, project version).
    """

    name: str
    lods: tuple[LevelOfDetail, ...]
    skeleton: Skeleton
    morph_target_names: tuple[str, ...]
    materials: tuple[Material, ...]
    animations: tuple[Animation, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)
    default_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.lods:
            raise ValueError("HeadAsset.lods: expected at least one level of detail")
        names = [p.name for p in self.lods[0].parts]
        mats = {m.name for m in self.materials}
        if len(mats) != len(self.materials):
            raise ValueError("HeadAsset.materials: material names must be unique")
        t = len(self.morph_target_names)
        for i, lod in enumerate(self.lods):
            if lod.level != i or [p.name for p in lod.parts] != names:
                raise ValueError(f"HeadAsset.lods[{i}]: expected level {i} with parts {names}")
            for p in lod.parts:
                if p.material not in mats:
                    raise ValueError(f"HeadAsset.lods[{i}] part {p.name}: unknown material {p.material!r}")
                if p.morph_positions.shape[0] != t:
                    raise ValueError(f"HeadAsset.lods[{i}] part {p.name}: {p.morph_positions.shape[0]} morph "
                                     f"targets, expected {t} (morph_target_names)")
                if p.joints.size and int(p.joints.max()) >= self.skeleton.num_joints:
                    raise ValueError(f"HeadAsset.lods[{i}] part {p.name}: joint index out of range")
        if self.default_weights and (len(self.default_weights) != t
                                     or not all(np.isfinite(w) for w in self.default_weights)):
            raise ValueError(f"HeadAsset.default_weights: expected {t} finite weights (one per morph target) "
                             f"or none, got {len(self.default_weights)}")
        clips = [a.name for a in self.animations]
        if len(set(clips)) != len(clips):
            raise ValueError("HeadAsset.animations: clip names must be unique")
        for a in self.animations:
            if a.morph_weights is not None and a.morph_weights.shape[1] != t:
                raise ValueError(f"HeadAsset.animations[{a.name!r}].morph_weights: expected {t} columns")
            unknown = set(a.joint_rotations) - set(self.skeleton.names)
            if unknown:
                raise ValueError(f"HeadAsset.animations[{a.name!r}].joint_rotations: unknown joints {sorted(unknown)}")

    @property
    def num_lods(self) -> int:
        return len(self.lods)

    def material(self, name: str) -> Material:
        for m in self.materials:
            if m.name == name:
                return m
        raise KeyError(name)
