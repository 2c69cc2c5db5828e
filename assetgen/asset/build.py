"""Build a :class:`HeadAsset` from a head model, an identity and a texture set.

The asset is the neutral pose with the identity applied: rest positions ``model(shape=s)`` at zero pose,
joints from the same call, and one morph target per expression coefficient whose position deltas are
``model(shape=s, expression=e_k) − model(shape=s)`` (exact: expressions are linear blend shapes and the
pose is zero) and whose normal deltas are the normals of the morphed mesh minus the base normals, both on
the model topology (:func:`assetgen.geometry.vertex_normals`) and gathered to the seam-split vertices.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import torch

import assetgen
from assetgen.asset.lod import decimate_part
from assetgen.asset.skinning import limit_influences
from assetgen.asset.types import HeadAsset, LevelOfDetail, Material, MeshPart, Skeleton, TextureImage
from assetgen.geometry import split_uv_seams, vertex_normals, vertex_tangents
from assetgen.heads.base import HeadModel
from assetgen.textures.types import TextureSet

__all__ = ["build_head_asset", "MAX_LODS", "LOD_RATIO", "material_for_part"]

#: Most levels of detail :func:`build_head_asset` makes (LOD 3 has 1/8 of the triangles).
MAX_LODS = 4
#: Triangle ratio between consecutive levels.
LOD_RATIO = 0.5
#: Default thresholds below which a morph delta is stored as an exact zero (invisible; keeps files small).
MORPH_POSITION_EPSILON_M = 1e-6
MORPH_NORMAL_EPSILON = 1e-3

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: Flat looks (linear base colour, roughness) used when no texture set is given: previews and tests.
_FLAT = {
    "skin": ((0.75, 0.45, 0.35, 1.0), 0.55),
    "eye": ((0.85, 0.85, 0.85, 1.0), 0.05),
    "tongue": ((0.60, 0.16, 0.16, 1.0), 0.35),
    "teeth": ((0.85, 0.82, 0.72, 1.0), 0.25),
}


def material_for_part(part: str) -> str:
    """Material name of a model part: ``eye`` (eyeballs), ``teeth``, ``tongue``, else ``skin``."""
    lower = part.lower()
    if "eye" in lower:
        return "eye"
    if "teeth" in lower or "tooth" in lower:
        return "teeth"
    if "tongue" in lower:
        return "tongue"
    return "skin"


def build_head_asset(
    model: HeadModel,
    shape: torch.Tensor | None,
    textures: TextureSet | None,
    *,
    lods: int = 3,
    provenance: dict[str, Any],
    name: str = "head",
    expression: torch.Tensor | None = None,
    morph_position_epsilon_m: float = MORPH_POSITION_EPSILON_M,
    morph_normal_epsilon: float = MORPH_NORMAL_EPSILON,
) -> HeadAsset:
    """Build the game-ready asset of one head (neutral pose, identity applied).

    Args:
        model: a loaded head model (``assetgen.heads.load``).
        shape: ``[S]`` identity coefficients (``S = model.num_shape``; converted to the model's dtype and
            device), or ``None`` for the neutral head.
        textures: the head's PBR maps in the model's UV layout (square, all the same size), or ``None`` for
            flat material factors (previews, tests).
        lods: levels of detail, 1 to :data:`MAX_LODS`; level ``l`` has about ``0.5 ** l`` of the triangles.
        provenance: JSON-serialisable record from the caller (generator and weights versions, seed, resolved
            parameters, spec hash…); the head model, its licence, the project version and the texture
            provenance are added.
        name: asset name (letters, digits, ``_.-``; at most 64 characters); meshes are ``{name}_LOD{l}``.
        expression: ``[E]`` default morph weights (the spec's expression: ARKit weights, or FLAME
            coefficients in σ), written as the meshes' default weights; ``None``: neutral.
        morph_position_epsilon_m, morph_normal_epsilon: per-vertex delta lengths below which a morph delta
            is stored as exact zero.
    Returns:
        :class:`HeadAsset` with one part per ``model.parts`` entry (skin first), skinned to all model joints,
        with one morph target per ``model.expression_names`` entry.
    Raises:
        ValueError: naming the argument (``model``, ``shape``, ``textures``, ``lods``, ``provenance``,
            ``name``) or ``vertices``/``joints`` when the model yields NaN or inf.
    """
    if not isinstance(model, HeadModel):
        raise ValueError(f"model: expected an assetgen.heads.HeadModel, got {type(model).__name__}")
    if isinstance(lods, bool) or not isinstance(lods, int) or not 1 <= lods <= MAX_LODS:
        raise ValueError(f"lods: expected an integer in [1, {MAX_LODS}], got {lods!r}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name: expected 1-64 characters of letters, digits, '_', '.', '-' (starting with a "
                         f"letter or digit), got {name!r}")
    for eps_name, eps in (("morph_position_epsilon_m", morph_position_epsilon_m),
                          ("morph_normal_epsilon", morph_normal_epsilon)):
        if not (isinstance(eps, (int, float)) and 0.0 <= eps < 0.1):
            raise ValueError(f"{eps_name}: expected a number in [0, 0.1), got {eps!r}")
    _check_textures(textures)
    default_weights: tuple[float, ...] = ()
    if expression is not None:
        e = torch.as_tensor(expression).detach().to("cpu", torch.float64).reshape(-1)
        if e.numel() != model.num_expression or not bool(torch.isfinite(e).all()):
            raise ValueError(f"expression: expected {model.num_expression} finite weights, got "
                             f"{tuple(torch.as_tensor(expression).shape)}")
        if bool((e != 0).any()):
            default_weights = tuple(float(x) for x in e.to(torch.float32))
    prov = _provenance(provenance, model, textures)
    shape_b = _shape_batch(model, shape)

    with torch.no_grad():
        base = model(shape=shape_b)
        verts = base.vertices[0].double()
        joints = base.joints[0].double()
        if not bool(torch.isfinite(verts).all()):
            raise ValueError("vertices: the model produced NaN or inf for this shape (corrupt model data?)")
        if not bool(torch.isfinite(joints).all()):
            raise ValueError("joints: the model produced NaN or inf for this shape (corrupt model data?)")
        faces = model.faces
        normals = vertex_normals(verts, faces)
        morph_pos, morph_nrm = _morph_deltas(model, shape_b, verts, morph_position_epsilon_m,
                                             morph_normal_epsilon)
        skin_joints, skin_weights = limit_influences(model.skin_weights.double().cpu().numpy())

        materials = _materials(model, textures, name)
        lod0 = []
        for part_name, face_index in _ordered_parts(model):
            lod0.append(_lod0_part(model, part_name, face_index, verts, normals, morph_pos, morph_nrm,
                                   skin_joints, skin_weights))
    levels = [LevelOfDetail(0, tuple(lod0))]
    for level in range(1, lods):
        ratio = LOD_RATIO ** level
        levels.append(LevelOfDetail(level, tuple(
            decimate_part(p, max(1, int(round(p.num_triangles * ratio)))) for p in lod0)))
    return HeadAsset(
        name=name, lods=tuple(levels), skeleton=_skeleton(model, joints),
        morph_target_names=tuple(model.expression_names), materials=materials, animations=(), provenance=prov,
        default_weights=default_weights,
    )


# ----------------------------------------------------------------------------------------------- helpers
def _shape_batch(model: HeadModel, shape: torch.Tensor | None) -> torch.Tensor:
    if shape is None:
        return torch.zeros(1, model.num_shape, dtype=model.dtype, device=model.device)
    if not isinstance(shape, torch.Tensor):
        raise ValueError(f"shape: expected a torch.Tensor of shape [{model.num_shape}] or None, "
                         f"got {type(shape).__name__}")
    if shape.dim() != 1 or shape.shape[0] != model.num_shape or not shape.is_floating_point():
        raise ValueError(f"shape: expected a float tensor of shape [{model.num_shape}], got {shape.dtype} "
                         f"{list(shape.shape)}")
    return shape.detach().to(dtype=model.dtype, device=model.device)[None]


def _check_textures(textures: TextureSet | None) -> None:
    if textures is None:
        return
    if not isinstance(textures, TextureSet):
        raise ValueError(f"textures: expected an assetgen.textures.TextureSet or None, got {type(textures).__name__}")
    size = textures.albedo.shape[:2]
    if size[0] != size[1] or size[0] < 1:
        raise ValueError(f"textures.albedo: expected a square map [S, S, 3], got {list(textures.albedo.shape)}")
    for field_name in ("albedo", "normal", "orm"):
        a = getattr(textures, field_name)
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.shape != (size[0], size[1], 3):
            got = f"{a.dtype} {list(a.shape)}" if isinstance(a, np.ndarray) else type(a).__name__
            raise ValueError(f"textures.{field_name}: expected uint8 [{size[0]}, {size[1]}, 3] (the albedo's "
                             f"size), got {got}")


def _provenance(provenance: dict[str, Any], model: HeadModel, textures: TextureSet | None) -> dict[str, Any]:
    if not isinstance(provenance, dict):
        raise ValueError(f"provenance: expected a dict, got {type(provenance).__name__}")
    prov = dict(provenance)
    prov["head_model"] = {"id": model.model_id, "license": model.license, "source": model.source}
    prov.setdefault("assetgen_version", assetgen.__version__)
    if textures is not None:
        prov.setdefault("textures", dict(textures.provenance))
    try:
        json.dumps(prov, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"provenance: expected JSON-serialisable data (str keys, finite numbers), got {exc}"
                         ) from exc
    return prov


def _morph_deltas(model: HeadModel, shape_b: torch.Tensor, verts: torch.Tensor,
                  eps_pos: float, eps_nrm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``([E, V, 3], [E, V, 3])`` float64 position and normal deltas, thresholded to exact zeros."""
    e = model.num_expression
    if e == 0:
        empty = verts.new_zeros(0, verts.shape[0], 3)
        return empty, empty
    one_hot = torch.eye(e, dtype=model.dtype, device=model.device)
    morphed = model(shape=shape_b.expand(e, -1), expression=one_hot).vertices
    if not bool(torch.isfinite(morphed).all()):
        raise ValueError("vertices: the model produced NaN or inf for an expression target (corrupt model data?)")
    d_pos = morphed.double() - verts
    # Normal deltas in float32 (half the time of float64; their error, ~1e-7, is far below eps_nrm).
    d_nrm = (vertex_normals(morphed.to(torch.float32), model.faces)
             - vertex_normals(verts.to(torch.float32), model.faces)).double()
    d_pos = torch.where(d_pos.norm(dim=-1, keepdim=True) < eps_pos, torch.zeros_like(d_pos), d_pos)
    d_nrm = torch.where(d_nrm.norm(dim=-1, keepdim=True) < eps_nrm, torch.zeros_like(d_nrm), d_nrm)
    return d_pos, d_nrm


def _ordered_parts(model: HeadModel) -> list[tuple[str, torch.Tensor]]:
    parts = model.parts
    if not parts:
        return [("skin", torch.arange(model.faces.shape[0], device=model.device))]
    return sorted(parts.items(), key=lambda kv: kv[0] != "skin")  # skin first, model order otherwise


def _lod0_part(model: HeadModel, part_name: str, face_index: torch.Tensor, verts: torch.Tensor,
               normals: torch.Tensor, morph_pos: torch.Tensor, morph_nrm: torch.Tensor, skin_joints: np.ndarray,
               skin_weights: np.ndarray) -> MeshPart:
    split = split_uv_seams(model.faces[face_index], model.uv_faces[face_index])
    vi, ui = split.vertex_index, split.uv_index
    pos, nrm, uv = verts[vi], normals[vi], model.uvs[ui].double()
    tangents = vertex_tangents(pos, nrm, uv, split.faces)
    vi_np = vi.cpu().numpy()
    f32 = lambda t: np.ascontiguousarray(t.cpu().numpy(), dtype=np.float32)  # noqa: E731
    return MeshPart(
        name=part_name, material=material_for_part(part_name), positions=f32(pos), normals=f32(nrm),
        tangents=f32(tangents), uvs=f32(uv), faces=split.faces.cpu().numpy().astype(np.uint32),
        joints=skin_joints[vi_np], weights=skin_weights[vi_np],
        morph_positions=f32(morph_pos[:, vi]), morph_normals=f32(morph_nrm[:, vi]),
        model_vertex=vi_np.astype(np.int64), lod0_vertex=np.arange(vi_np.shape[0], dtype=np.int64),
    )


def _skeleton(model: HeadModel, joints: torch.Tensor) -> Skeleton:
    parents = model.joint_parents
    world = joints.cpu().numpy()
    local = world.copy()
    for j, p in enumerate(parents):
        if p >= 0:
            local[j] = world[j] - world[p]
    ibm = np.tile(np.eye(4), (len(parents), 1, 1))
    ibm[:, :3, 3] = -world
    return Skeleton(names=tuple(model.joint_names), parents=tuple(parents), rest_positions=world.astype(np.float32),
                    local_translations=local.astype(np.float32), inverse_bind_matrices=ibm.astype(np.float32))


def _materials(model: HeadModel, textures: TextureSet | None, name: str) -> tuple[Material, ...]:
    wanted = []
    for part_name, _ in _ordered_parts(model):
        m = material_for_part(part_name)
        if m not in wanted:
            wanted.append(m)
    if textures is None:
        return tuple(Material(name=m, base_color_factor=_FLAT[m][0], metallic_factor=0.0,
                              roughness_factor=_FLAT[m][1]) for m in wanted)
    # One texture set covers the whole UV layout (eyes and mouth parts have their own islands), so every
    # material samples the same three images; separate materials keep separate slots for engine shaders.
    albedo = TextureImage(f"{name}_albedo", textures.albedo, "srgb")
    normal = TextureImage(f"{name}_normal", textures.normal, "linear")
    orm = TextureImage(f"{name}_orm", textures.orm, "linear")
    return tuple(Material(name=m, base_color_factor=(1.0, 1.0, 1.0, 1.0), metallic_factor=1.0, roughness_factor=1.0,
                          base_color_texture=albedo, normal_texture=normal, orm_texture=orm) for m in wanted)
