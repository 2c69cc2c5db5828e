"""Mesh geometry shared by the renderer, the UV baker and the exporters: normals, UV-seam splitting, tangents.

Conventions (the whole project uses them):

* Positions in meters, +Y up, face toward +Z (glTF).
* Model UVs (``HeadModel.uvs``) are OBJ-style: origin at the bottom-left of the texture, ``v`` up. An image
  array row ``r`` of an ``H``-row texture holds ``v = 1 - (r + 0.5) / H`` (row 0 is the top). The glTF writer
  stores ``(u, 1 - v)``.
* Tangents are MikkTSpace-style: per corner, the UV-gradient tangent of the triangle is projected onto the
  plane of the vertex normal and accumulated with the corner angle as weight; ``w = ±1`` is the handedness so
  that ``bitangent = w * cross(normal, tangent)`` points along increasing ``v`` (image up). That is the
  OpenGL / glTF normal-map convention (green = +Y = up), so a normal map baked with these tangents reads the
  same in the exporter's glTF, in three.js, Blender, Unity and Unreal. The baker and the exporter both call
  :func:`vertex_tangents`; nothing else computes tangents.

All functions are pure torch, batched over leading dimensions, and work on CPU and CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["SeamSplit", "face_normals", "split_uv_seams", "vertex_normals", "vertex_tangents"]

_EPS = 1e-12


def face_normals(vertices: torch.Tensor, faces: torch.Tensor, *, normalize: bool = True) -> torch.Tensor:
    """Triangle normals ``[..., F, 3]`` of ``vertices [..., V, 3]`` and ``faces [F, 3]`` (counter-clockwise =
    front). Unnormalised, their length is twice the triangle area (m²)."""
    v0 = vertices[..., faces[:, 0], :]
    n = torch.linalg.cross(vertices[..., faces[:, 1], :] - v0, vertices[..., faces[:, 2], :] - v0, dim=-1)
    if normalize:
        n = n / n.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    return n


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals ``[..., V, 3]`` for ``vertices [..., V, 3]``, ``faces [F, 3]``.

    Compute them on the model's own topology (before :func:`split_uv_seams`) and gather them to split
    vertices, so UV seams never show as shading seams. A vertex used by no face gets ``(0, 0, 1)``.
    """
    fn = face_normals(vertices, faces, normalize=False)  # [..., F, 3], area-weighted
    out = torch.zeros_like(vertices)
    index = faces.reshape(-1)
    out.index_add_(-2, index, fn.repeat_interleave(3, dim=-2))
    length = out.norm(dim=-1, keepdim=True)
    fallback = torch.zeros_like(out)
    fallback[..., 2] = 1.0
    return torch.where(length > _EPS, out / length.clamp_min(_EPS), fallback)


@dataclass(frozen=True)
class SeamSplit:
    """A mesh with one vertex per distinct (position, UV) corner pair, as GPUs and glTF need it.

    Attributes:
        vertex_index: ``[N]`` long, the model vertex of each split vertex.
        uv_index: ``[N]`` long, the model UV of each split vertex.
        faces: ``[F, 3]`` long, the same triangles (same order) over the ``N`` split vertices.
    """

    vertex_index: torch.Tensor
    uv_index: torch.Tensor
    faces: torch.Tensor

    @property
    def num_vertices(self) -> int:
        return int(self.vertex_index.shape[0])


def split_uv_seams(faces: torch.Tensor, uv_faces: torch.Tensor) -> SeamSplit:
    """Split vertices along UV seams: ``faces [F, 3]`` (into positions) and ``uv_faces [F, 3]`` (into UVs).

    Split vertices are ordered by (model vertex, UV index), so the result is deterministic and a mesh
    without seams keeps its vertex order.
    """
    if faces.shape != uv_faces.shape or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces and uv_faces: expected two [F, 3] index tensors, got {tuple(faces.shape)} "
                         f"and {tuple(uv_faces.shape)}")
    num_uv = int(uv_faces.max()) + 1 if uv_faces.numel() else 1
    key = faces.reshape(-1).long() * num_uv + uv_faces.reshape(-1).long()
    unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
    return SeamSplit(
        vertex_index=unique // num_uv,
        uv_index=unique % num_uv,
        faces=inverse.reshape(faces.shape),
    )


def vertex_tangents(
    positions: torch.Tensor, normals: torch.Tensor, uvs: torch.Tensor, faces: torch.Tensor
) -> torch.Tensor:
    """MikkTSpace-style tangents ``[..., N, 4]`` (xyz unit, w = ±1 handedness) of a seam-split mesh.

    Args:
        positions: ``[..., N, 3]`` split-vertex positions (m).
        normals: ``[..., N, 3]`` unit normals at those vertices.
        uvs: ``[N, 2]`` or ``[..., N, 2]`` OBJ-style UVs (``v`` up).
        faces: ``[F, 3]`` long, over the ``N`` split vertices.

    Triangles with a degenerate UV mapping contribute nothing; a vertex with no usable triangle gets a
    tangent perpendicular to its normal (deterministic) and ``w = 1``.
    """
    if uvs.ndim == 2:
        uvs = uvs.expand(*positions.shape[:-1], 2)
    p = [positions[..., faces[:, k], :] for k in range(3)]  # each [..., F, 3]
    t = [uvs[..., faces[:, k], :] for k in range(3)]  # each [..., F, 2]
    e1, e2 = p[1] - p[0], p[2] - p[0]
    d1, d2 = t[1] - t[0], t[2] - t[0]
    det = d1[..., 0] * d2[..., 1] - d2[..., 0] * d1[..., 1]  # [..., F]
    valid = det.abs() > 1e-20
    sign = torch.where(det < 0, -1.0, 1.0).to(positions.dtype)[..., None]
    # Scale-free face tangent/bitangent (MikkTSpace keeps only the orientation; magnitudes would bias
    # the average toward triangles with small UV area).
    face_t = (e1 * d2[..., 1:2] - e2 * d1[..., 1:2]) * sign
    face_b = (e2 * d1[..., 0:1] - e1 * d2[..., 0:1]) * sign
    face_t = torch.where(valid[..., None], face_t, torch.zeros_like(face_t))
    face_b = torch.where(valid[..., None], face_b, torch.zeros_like(face_b))

    acc_t = torch.zeros_like(positions)
    acc_b = torch.zeros_like(positions)
    for k in range(3):
        a, b, c = p[k], p[(k + 1) % 3], p[(k + 2) % 3]
        u1 = b - a
        u2 = c - a
        cos = (u1 * u2).sum(-1) / (u1.norm(dim=-1) * u2.norm(dim=-1)).clamp_min(_EPS)
        angle = torch.arccos(cos.clamp(-1.0, 1.0))[..., None]  # corner weight
        n = normals[..., faces[:, k], :]
        tk = face_t - n * (n * face_t).sum(-1, keepdim=True)
        bk = face_b - n * (n * face_b).sum(-1, keepdim=True)
        tk = tk / tk.norm(dim=-1, keepdim=True).clamp_min(_EPS)
        bk = bk / bk.norm(dim=-1, keepdim=True).clamp_min(_EPS)
        acc_t.index_add_(-2, faces[:, k], tk * angle)
        acc_b.index_add_(-2, faces[:, k], bk * angle)

    # Orthonormalise against the vertex normal (Gram-Schmidt), fall back where nothing accumulated.
    tangent = acc_t - normals * (normals * acc_t).sum(-1, keepdim=True)
    length = tangent.norm(dim=-1, keepdim=True)
    helper = torch.zeros_like(normals)
    helper[..., 0] = 1.0
    helper = torch.where(normals[..., 0:1].abs() > 0.9, torch.roll(helper, 1, dims=-1), helper)
    fallback = helper - normals * (normals * helper).sum(-1, keepdim=True)
    fallback = fallback / fallback.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    tangent = torch.where(length > 1e-8, tangent / length.clamp_min(_EPS), fallback)
    handed = (torch.linalg.cross(normals, tangent, dim=-1) * acc_b).sum(-1, keepdim=True)
    w = torch.where(handed < 0, -1.0, 1.0).to(positions.dtype)
    return torch.cat([tangent, w], dim=-1)
