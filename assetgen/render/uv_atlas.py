"""Texel → surface lookup of a model's UV layout: the basis of every UV-space bake and texture.

A model's UV layout is fixed, so the rasterization in UV space is done once per (layout, size): every texel
gets a triangle and three barycentric weights. Any per-vertex quantity (positions of one head, normals,
tangents, region weights) then becomes a UV map by one gather and a weighted sum (:meth:`UVAtlas.sample`),
batched and on any device — no rasterizer in the per-head loop.

Padding (dilation) is built in: a texel whose centre lies outside every UV triangle takes the triangle of
the nearest covered texel (Euclidean distance transform) with its barycentrics clamped onto that triangle,
so it holds a plausible continuation of the surface instead of background. Mip-mapping and bilinear
filtering across island borders therefore never bleed background colour into the head.

Image convention: row 0 is the top of the texture (``v = 1``); texel ``(r, c)`` has its centre at
``u = (c + 0.5) / S``, ``v = 1 - (r + 0.5) / S`` (see :mod:`assetgen.geometry`).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from assetgen.render.raster_torch import rasterize_torch

__all__ = ["MAX_ATLAS_SIZE", "UVAtlas", "model_atlas", "uv_atlas"]

MAX_ATLAS_SIZE = 4096
"""Largest texture size (texels a side) a UV atlas is built for."""


@dataclass(frozen=True, eq=False)
class UVAtlas:
    """Per-texel triangle and barycentrics of a UV layout at ``size × size`` texels.

    Attributes:
        size: texels a side.
        face: ``[S, S]`` long, the triangle of each texel (every texel has one; see ``covered``).
        bary: ``[S, S, 3]`` float32, weights of the triangle's three corners (non-negative, sum 1).
        covered: ``[S, S]`` bool, the texel centre lies inside a UV triangle (False: padding texel).
        distance: ``[S, S]`` float32, texels from the nearest covered texel (0 where covered).
    """

    size: int
    face: torch.Tensor
    bary: torch.Tensor
    covered: torch.Tensor
    distance: torch.Tensor

    @property
    def device(self) -> torch.device:
        return self.face.device

    def to(self, device: torch.device | str) -> "UVAtlas":
        """The same atlas with its tensors on ``device``."""
        device = torch.device(device)
        if device == self.device:
            return self
        return UVAtlas(self.size, self.face.to(device), self.bary.to(device), self.covered.to(device),
                       self.distance.to(device))

    def sample(self, attr: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """Per-vertex attributes as UV maps.

        Args:
            attr: ``[V, C]`` or ``[B, V, C]`` per-vertex values (any float dtype).
            faces: ``[F, 3]`` the index buffer ``attr`` is indexed by, triangle for triangle the same as the
                ``uv_faces`` the atlas was built from (model ``faces`` for per-vertex values, a
                :class:`~assetgen.geometry.SeamSplit`'s faces for split-vertex values).

        Returns ``[S, S, C]`` or ``[B, S, S, C]`` in ``attr``'s dtype, on ``attr``'s device. Linear in ``attr``
        (differentiable); unit vectors come back slightly shorter between vertices, so renormalise them.
        """
        atlas = self.to(attr.device)
        corner = faces.to(attr.device, torch.long)[atlas.face]  # [S, S, 3]
        weights = atlas.bary.to(attr.dtype)
        if attr.ndim == 2:
            return (attr[corner] * weights[..., None]).sum(-2)
        if attr.ndim != 3:
            raise ValueError(f"attr: expected [V, C] or [B, V, C], got {tuple(attr.shape)}")
        return torch.einsum("bsthc,sth->bstc", attr[:, corner], weights)


_CACHE: dict[tuple[str, int], UVAtlas] = {}
_LOCK = threading.Lock()


def uv_atlas(uvs: torch.Tensor, uv_faces: torch.Tensor, size: int) -> UVAtlas:
    """Build (or fetch from the in-process cache) the atlas of ``uvs [T, 2]`` / ``uv_faces [F, 3]``.

    ``size`` is the texture size in texels, 1..:data:`MAX_ATLAS_SIZE`. Raises ``ValueError`` for a size out
    of range, UVs that are not finite or outside [0, 1], or a layout whose triangles all have zero UV area.
    The atlas lives on the CPU; :meth:`UVAtlas.to` moves it.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= int(size) <= MAX_ATLAS_SIZE:
        raise ValueError(f"size: expected an integer number of texels in [1, {MAX_ATLAS_SIZE}], got {size!r}")
    size = int(size)
    uv = uvs.detach().to("cpu", torch.float64)
    faces = uv_faces.detach().to("cpu", torch.long)
    if uv.ndim != 2 or uv.shape[1] != 2:
        raise ValueError(f"uvs: expected [T, 2], got {tuple(uv.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.numel() == 0:
        raise ValueError(f"uv_faces: expected a non-empty [F, 3] index tensor, got {tuple(faces.shape)}")
    if not torch.isfinite(uv).all():
        raise ValueError("uvs: expected finite texture coordinates, found NaN or inf")
    if int(faces.min()) < 0 or int(faces.max()) >= uv.shape[0]:
        raise ValueError(f"uv_faces: indices must lie in [0, {uv.shape[0] - 1}]")
    if float(uv.min()) < -1e-6 or float(uv.max()) > 1 + 1e-6:
        raise ValueError(f"uvs: expected coordinates in [0, 1], found [{float(uv.min()):.4g}, {float(uv.max()):.4g}]")
    key = hashlib.sha256(uv.numpy().tobytes() + faces.numpy().tobytes()).hexdigest()
    with _LOCK:
        hit = _CACHE.get((key, size))
    if hit is not None:
        return hit
    atlas = _build(uv, faces, size)
    with _LOCK:
        _CACHE[(key, size)] = atlas
    return atlas


def model_atlas(model, size: int) -> UVAtlas:
    """The atlas of a :class:`~assetgen.heads.base.HeadModel`'s UV layout (cached), on the model's device."""
    return uv_atlas(model.uvs, model.uv_faces, size).to(model.device)


def _build(uv: torch.Tensor, faces: torch.Tensor, size: int) -> UVAtlas:
    tri_uv = uv[faces]  # [F, 3, 2]
    area = ((tri_uv[:, 1, 0] - tri_uv[:, 0, 0]) * (tri_uv[:, 2, 1] - tri_uv[:, 0, 1])
            - (tri_uv[:, 2, 0] - tri_uv[:, 0, 0]) * (tri_uv[:, 1, 1] - tri_uv[:, 0, 1]))
    if not (area.abs() > 1e-14).any():
        raise ValueError("uvs: every triangle has zero UV area (degenerate UV layout)")
    clip = torch.cat([uv * 2.0 - 1.0, torch.zeros_like(uv[:, :1]), torch.ones_like(uv[:, :1])], dim=-1)
    rast = rasterize_torch(clip.to(torch.float32), faces, (size, size))[0].flip(0)  # row 0 = top (v = 1)
    tri = rast[..., 3].long() - 1
    covered = tri >= 0
    # nearest covered texel of every texel (identity where covered)
    dist, (rows, cols) = ndimage.distance_transform_edt(~covered.numpy(), return_indices=True)
    face = tri[torch.from_numpy(rows), torch.from_numpy(cols)]
    # barycentrics of every texel centre w.r.t. its triangle, in float64, clamped onto the triangle
    r = torch.arange(size, dtype=torch.float64)
    tv = 1.0 - (r[:, None] + 0.5) / size
    tu = (r[None, :] + 0.5) / size
    t = tri_uv[face]  # [S, S, 3, 2]
    a = area[face]
    l0 = ((t[..., 1, 0] - tu) * (t[..., 2, 1] - tv) - (t[..., 2, 0] - tu) * (t[..., 1, 1] - tv)) / a
    l1 = ((t[..., 2, 0] - tu) * (t[..., 0, 1] - tv) - (t[..., 0, 0] - tu) * (t[..., 2, 1] - tv)) / a
    bary = torch.stack([l0, l1, 1.0 - l0 - l1], dim=-1)
    bary = torch.where(torch.isfinite(bary), bary, torch.full_like(bary, 1.0 / 3.0)).clamp_min(0.0)
    bary = bary / bary.sum(-1, keepdim=True).clamp_min(1e-12)
    return UVAtlas(size=size, face=face.contiguous(), bary=bary.to(torch.float32).contiguous(),
                   covered=covered.contiguous(), distance=torch.from_numpy(dist.astype(np.float32)))
