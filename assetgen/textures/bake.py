"""UV-space baking (issue 3, part 2): per-texel surface frames, displacement → tangent-space normal map,
ambient occlusion from geometry, and the displaced high-detail mesh.

The model's :class:`~assetgen.render.uv_atlas.UVAtlas` gives every texel a triangle and barycentrics (padding
included), so each bake is a gather plus elementwise work. Padding texels here use the barycentrics of their
triangle *extrapolated* a few texels past the edge (the atlas clamps them), so a field evaluated at the
texel's 3D point continues smoothly into the padding and finite differences at island borders stay exact.

Displacement follows papers 3 (AlbedoGAN §4.2: a UV displacement map added along the vertex normals of the
coarse FLAME mesh) and 4 (StyleFaceUV: a generalized displacement UV map): meters along the interpolated
vertex normal. The normal map is the exact first-order normal of that displaced surface, ``n' ∝ n − ∇_s d``,
expressed in the per-texel frame of :func:`assetgen.geometry.vertex_tangents` on the seam-split mesh —
the tangents the exporter writes — with the glTF/OpenGL convention (+Y = increasing ``v``).
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from assetgen.geometry import SeamSplit, split_uv_seams, vertex_normals, vertex_tangents
from assetgen.render.raster_torch import rasterize_torch
from assetgen.render.uv_atlas import MAX_ATLAS_SIZE, UVAtlas, model_atlas

__all__ = ["BakeLayout", "SurfaceFrames", "bake_layout", "surface_frames", "bake_normal_map",
           "bake_ambient_occlusion", "vertex_ambient_occlusion", "displaced_mesh", "encode_normals",
           "decode_normals", "MAX_TEXTURE_SIZE"]

MAX_TEXTURE_SIZE = MAX_ATLAS_SIZE
_EXTRAPOLATE_TEXELS = 4.0  # padding texels within this distance continue their triangle's plane


@dataclass(frozen=True, eq=False)
class BakeLayout:
    """Everything that depends only on a model's UV layout and a texture size (cached per model and size).

    Attributes:
        atlas: the model's :class:`UVAtlas` (on the model's device).
        bary: ``[S, S, 3]`` barycentrics, extrapolated up to a few texels into the padding.
        corners: ``[S, S, 3]`` long, model vertex of each corner of each texel's triangle.
        split: the seam split of the model's faces.
        split_corners: ``[S, S, 3]`` long, split vertex of each corner.
        uv_grad: ``[F, 2, 2]`` inverse UV Jacobian rows per face: ``d(bary1, bary2)/d(u, v)``.
        step_ok: ``[4, S, S]`` bool, the (+u, −u, +v, −v) neighbour texel lies on the same smooth surface
            patch (same or UV-adjacent triangle), so a finite difference across it is valid.
    """

    atlas: UVAtlas
    bary: torch.Tensor
    corners: torch.Tensor
    split: SeamSplit
    split_corners: torch.Tensor
    uv_grad: torch.Tensor
    step_ok: torch.Tensor

    @property
    def size(self) -> int:
        return self.atlas.size

    def sample(self, attr: torch.Tensor, split: bool = False) -> torch.Tensor:
        """Per-vertex ``attr [V, C]`` / ``[B, V, C]`` (split vertices if ``split``) as ``[.., S, S, C]`` maps,
        with the extrapolated barycentrics."""
        corner = self.split_corners if split else self.corners
        w = self.bary.to(attr.dtype)
        if attr.ndim == 2:
            return (attr[corner] * w[..., None]).sum(-2)
        return torch.einsum("bsthc,sth->bstc", attr[:, corner], w)


class ModelCache:
    """Per-(model, size, device) cache of data built once (layouts); entries die with their model."""

    def __init__(self) -> None:
        self._store: "weakref.WeakKeyDictionary[torch.nn.Module, dict]" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, model, size: int, build):
        """The cached ``build(model, size)`` for ``model`` at ``size`` on the model's device."""
        size = check_size(size)
        key = (size, str(model.device))
        with self._lock:
            hit = self._store.get(model, {}).get(key)
        if hit is not None:
            return hit
        value = build(model, size)
        with self._lock:
            self._store.setdefault(model, {})[key] = value
        return value


_LAYOUTS = ModelCache()


def check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= int(size) <= MAX_TEXTURE_SIZE:
        raise ValueError(f"size: expected an integer number of texels in [1, {MAX_TEXTURE_SIZE}], got {size!r}")
    return int(size)


def bake_layout(model, size: int) -> BakeLayout:
    """The (cached) :class:`BakeLayout` of ``model``'s UVs at ``size`` texels, on the model's device."""
    return _LAYOUTS.get(model, size, _build_layout)


def _build_layout(model, size: int) -> BakeLayout:
    atlas = model_atlas(model, size)
    device = model.device
    uv = model.uvs.detach().to(device, torch.float64)
    uv_faces = model.uv_faces.to(device)
    tri = uv[uv_faces]  # [F, 3, 2]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
    safe = torch.where(det.abs() > 1e-14, det, torch.ones_like(det))
    # (b1, b2) = A^-1 (uv - uv0), A = [e1 e2]
    inv = torch.stack([torch.stack([e2[:, 1], -e2[:, 0]], -1), torch.stack([-e1[:, 1], e1[:, 0]], -1)], 1)
    inv = inv / safe[:, None, None]
    inv = torch.where((det.abs() > 1e-14)[:, None, None], inv, torch.zeros_like(inv))
    r = torch.arange(size, device=device, dtype=torch.float64)
    tv = (1.0 - (r + 0.5) / size)[:, None].expand(size, size)
    tu = ((r + 0.5) / size)[None, :].expand(size, size)
    face = atlas.face
    rel = torch.stack([tu, tv], -1) - tri[face][..., 0, :]
    b12 = torch.einsum("stij,stj->sti", inv[face], rel)
    raw = torch.cat([1.0 - b12.sum(-1, keepdim=True), b12], -1)
    near = (atlas.distance <= _EXTRAPOLATE_TEXELS)[..., None] & torch.isfinite(raw).all(-1, keepdim=True)
    bary = torch.where(near & ~atlas.covered[..., None], raw, atlas.bary.to(torch.float64))
    bary = torch.where(atlas.covered[..., None], atlas.bary.to(torch.float64), bary).to(torch.float32)
    split = split_uv_seams(model.faces, model.uv_faces)
    corners = model.faces[face]
    split_corners = split.faces.to(device)[face]

    # Valid finite-difference neighbours: the neighbour's triangle shares a UV vertex with ours.
    uvf = uv_faces[face]  # [S, S, 3] UV indices of each texel's triangle
    ok = []
    for dr, dc in ((0, 1), (0, -1), (-1, 0), (1, 0)):  # +u, -u, +v (row up), -v
        nb = torch.roll(uvf, shifts=(-dr, -dc), dims=(0, 1))
        share = (uvf[..., :, None] == nb[..., None, :]).any(-1).any(-1)
        edge = torch.zeros(size, size, dtype=torch.bool, device=device)
        if dc == 1:
            edge[:, -1] = True
        elif dc == -1:
            edge[:, 0] = True
        elif dr == -1:
            edge[0, :] = True
        else:
            edge[-1, :] = True
        near_nb = torch.roll(atlas.distance <= _EXTRAPOLATE_TEXELS, shifts=(-dr, -dc), dims=(0, 1))
        ok.append(share & ~edge & near_nb)
    return BakeLayout(atlas=atlas, bary=bary.contiguous(), corners=corners.contiguous(), split=split,
                      split_corners=split_corners.contiguous(), uv_grad=inv.to(torch.float32),
                      step_ok=torch.stack(ok).contiguous())


@dataclass(frozen=True, eq=False)
class SurfaceFrames:
    """Per-texel surface frames of one or more heads (``[B, S, S, ...]``).

    Attributes:
        position: ``[B, S, S, 3]`` surface point (m).
        normal: ``[B, S, S, 3]`` unit interpolated vertex normal (N).
        tangent: ``[B, S, S, 3]`` unit tangent (T), Gram-Schmidt against N.
        bitangent: ``[B, S, S, 3]`` ``w · N × T`` (points along increasing ``v``).
        grad_to_tb: ``[B, S, S, 2, 2]`` maps the texture-space differences ``(Δ_u d, Δ_v d)`` per texel
            to the surface gradient's (T, B) components: ``(∇_s d · T, ∇_s d · B)``.
    """

    position: torch.Tensor
    normal: torch.Tensor
    tangent: torch.Tensor
    bitangent: torch.Tensor
    grad_to_tb: torch.Tensor


def split_vertex_frames(model, vertices: torch.Tensor, split: SeamSplit) -> tuple[torch.Tensor, torch.Tensor]:
    """``(normals [B, N, 3], tangents [B, N, 4])`` of the seam-split mesh, as the exporter computes them."""
    normals = vertex_normals(vertices, model.faces)[:, split.vertex_index]
    positions = vertices[:, split.vertex_index]
    uvs = model.uvs.to(vertices)[split.uv_index]
    return normals, vertex_tangents(positions, normals, uvs, split.faces.to(vertices.device))


def surface_frames(model, vertices: torch.Tensor, layout: BakeLayout) -> SurfaceFrames:
    """Per-texel frames of heads ``vertices [B, V, 3]`` (meters) in ``layout`` (see :class:`SurfaceFrames`)."""
    split = layout.split
    normals, tangents = split_vertex_frames(model, vertices, split)
    attr = torch.cat([vertices[:, split.vertex_index], normals, tangents], -1)  # [B, N, 10]
    m = layout.sample(attr, split=True)
    pos, n, t, w = m[..., 0:3], m[..., 3:6], m[..., 6:9], m[..., 9:10]
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    t = t - n * (n * t).sum(-1, keepdim=True)
    t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    b = torch.where(w < 0, -1.0, 1.0) * torch.linalg.cross(n, t, dim=-1)
    # Surface Jacobian of each face's UV map: dp/du, dp/dv = [e1 e2] A^-1 (per face, cheap), then gathered.
    faces = model.faces
    p0 = vertices[:, faces[:, 0]]
    e1 = vertices[:, faces[:, 1]] - p0
    e2 = vertices[:, faces[:, 2]] - p0
    g = layout.uv_grad  # [F, 2(b1,b2), 2(u,v)]
    pu = e1 * g[None, :, 0, 0, None] + e2 * g[None, :, 1, 0, None]  # [B, F, 3]
    pv = e1 * g[None, :, 0, 1, None] + e2 * g[None, :, 1, 1, None]
    guu, guv, gvv = (pu * pu).sum(-1), (pu * pv).sum(-1), (pv * pv).sum(-1)
    det = (guu * gvv - guv * guv)
    ok = det > 1e-30
    det = torch.where(ok, det, torch.ones_like(det))
    # ∇_s d = [pu pv] G^-1 (d_u, d_v);  per face store pu', pv' = [pu pv] G^-1 columns
    qu = (pu * gvv[..., None] - pv * guv[..., None]) / det[..., None]
    qv = (pv * guu[..., None] - pu * guv[..., None]) / det[..., None]
    qu = torch.where(ok[..., None], qu, torch.zeros_like(qu))
    qv = torch.where(ok[..., None], qv, torch.zeros_like(qv))
    face = layout.atlas.face
    qu_t, qv_t = qu[:, face], qv[:, face]  # [B, S, S, 3]
    s = float(layout.size)  # one texel step is 1/S in u and v
    m2 = torch.stack([torch.stack([(qu_t * t).sum(-1), (qv_t * t).sum(-1)], -1),
                      torch.stack([(qu_t * b).sum(-1), (qv_t * b).sum(-1)], -1)], -2) * s
    return SurfaceFrames(position=pos, normal=n, tangent=t, bitangent=b, grad_to_tb=m2)


def _texel_gradient(d: torch.Tensor, step_ok: torch.Tensor) -> torch.Tensor:
    """``[B, S, S, 2]`` per-texel differences (per texel step, +u and +v) of ``d [B, S, S]``, central where
    both neighbours are on the same surface patch, one-sided where only one is, 0 where none is."""
    out = []
    for axis, (fwd, bwd) in enumerate(((0, 1), (2, 3))):
        if axis == 0:
            dp = torch.roll(d, -1, dims=-1) - d
            dm = d - torch.roll(d, 1, dims=-1)
        else:  # +v is one row up
            dp = torch.roll(d, 1, dims=-2) - d
            dm = d - torch.roll(d, -1, dims=-2)
        wp, wm = step_ok[fwd].to(d.dtype), step_ok[bwd].to(d.dtype)
        out.append((dp * wp + dm * wm) / (wp + wm).clamp_min(1.0))
    return torch.stack(out, -1)


def encode_normals(n: torch.Tensor) -> torch.Tensor:
    """Unit tangent-space normals ``[..., 3]`` → uint8 ``(n + 1) / 2 · 255`` (rounded)."""
    return ((n.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)


def decode_normals(code: torch.Tensor) -> torch.Tensor:
    """uint8 normal-map codes ``[..., 3]`` → unit tangent-space normals (float32)."""
    n = code.to(torch.float32) / 127.5 - 1.0
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def tangent_normals(displacement: torch.Tensor, frames: SurfaceFrames, layout: BakeLayout) -> torch.Tensor:
    """Float tangent-space normals ``[B, S, S, 3]`` of ``displacement [B, S, S]`` (meters) on ``frames``."""
    grad = _texel_gradient(displacement, layout.step_ok)  # [B, S, S, 2]
    # explicit 2×2 products: an einsum here becomes S² tiny batched GEMVs on CUDA (31% of the batch time)
    m, gu, gv = frames.grad_to_tb, grad[..., 0], grad[..., 1]
    n = torch.stack([-(m[..., 0, 0] * gu + m[..., 0, 1] * gv), -(m[..., 1, 0] * gu + m[..., 1, 1] * gv),
                     torch.ones_like(gu)], -1)
    return n / n.norm(dim=-1, keepdim=True)


def bake_normal_map(model, displacement: torch.Tensor, vertices: torch.Tensor | None = None) -> torch.Tensor:
    """Bake a displacement UV map into a tangent-space normal map.

    Args:
        model: the head model whose UV layout the map uses.
        displacement: ``[S, S]`` or ``[B, S, S]`` float meters along the vertex normal (row 0 = top).
        vertices: ``[V, 3]`` or ``[B, V, 3]`` head vertices the map is for (meters); ``None``: neutral head.
    Returns ``[.., S, S, 3]`` uint8 tangent-space normals (glTF convention, MikkTSpace-style tangents of
    :func:`assetgen.geometry.vertex_tangents`). Raises ``ValueError`` on bad shapes or non-finite input.
    """
    if not isinstance(displacement, torch.Tensor) or displacement.ndim not in (2, 3) \
            or displacement.shape[-1] != displacement.shape[-2]:
        raise ValueError("displacement: expected a square [S, S] or [B, S, S] tensor of meters")
    single = displacement.ndim == 2
    d = displacement[None] if single else displacement
    if not bool(torch.isfinite(d).all()):
        raise ValueError("displacement: contains NaN or inf")
    layout = bake_layout(model, int(d.shape[-1]))
    verts = _check_vertices(model, vertices, d.shape[0])
    frames = surface_frames(model, verts, layout)
    out = encode_normals(tangent_normals(d.to(verts), frames, layout))
    return out[0] if single else out


def _check_vertices(model, vertices: torch.Tensor | None, batch: int = 1) -> torch.Tensor:
    if vertices is None:
        return model().vertices.detach().expand(batch, -1, -1)
    if not isinstance(vertices, torch.Tensor) or vertices.shape[-2:] != (model.num_vertices, 3) \
            or vertices.ndim not in (2, 3):
        raise ValueError(f"vertices: expected [V, 3] or [B, V, 3] with V = {model.num_vertices}, got "
                         f"{tuple(getattr(vertices, 'shape', ()))}")
    v = vertices[None] if vertices.ndim == 2 else vertices
    if not bool(torch.isfinite(v).all()):
        raise ValueError("vertices: contain NaN or inf")
    return v.to(model.device, model.dtype)


def _sphere_directions(k: int) -> torch.Tensor:
    i = torch.arange(k, dtype=torch.float64) + 0.5
    z = 1.0 - 2.0 * i / k
    phi = i * math.pi * (3.0 - math.sqrt(5.0))
    r = torch.sqrt(1.0 - z * z)
    return torch.stack([r * torch.cos(phi), r * torch.sin(phi), z], -1).float()


def vertex_ambient_occlusion(model, vertices: torch.Tensor, *, directions: int = 32,
                             resolution: int = 128) -> torch.Tensor:
    """Per-vertex ambient occlusion ``[B, V]`` in [0, 1] (1 = fully open) of heads ``vertices [B, V, 3]``.

    Orthographic depth maps of the head from ``directions`` directions spread over the sphere are rendered
    in one batched :func:`~assetgen.render.raster_torch.rasterize_torch` call; a vertex is lit from a
    direction when nothing lies in front of it in that map. Visibility is cosine-weighted over the
    hemisphere of the vertex normal.
    """
    b, v, _ = vertices.shape
    dirs = _sphere_directions(directions).to(vertices)  # [K, 3] towards the light
    normals = vertex_normals(vertices, model.faces)
    center = (vertices.amax(1) + vertices.amin(1)) / 2  # [B, 3]
    radius = (vertices - center[:, None]).norm(dim=-1).amax(1)  # [B]
    # camera basis per direction: looking along -dir
    up = torch.tensor([0.0, 1.0, 0.0], device=vertices.device).expand_as(dirs)
    up = torch.where((dirs[:, 1:2].abs() > 0.95), torch.tensor([1.0, 0.0, 0.0], device=vertices.device), up)
    ex = torch.linalg.cross(up, dirs, dim=-1)
    ex = ex / ex.norm(dim=-1, keepdim=True)
    ey = torch.linalg.cross(dirs, ex, dim=-1)
    rel = (vertices - center[:, None])[:, None] / radius[:, None, None, None]  # [B, 1, V, 3]
    x = (rel * ex[None, :, None]).sum(-1)
    y = (rel * ey[None, :, None]).sum(-1)
    z = (rel * dirs[None, :, None]).sum(-1)  # larger = closer to the light
    clip = torch.stack([x, y, -z * 0.5, torch.ones_like(x)], -1).reshape(b * directions, v, 4)
    rast = rasterize_torch(clip, model.faces, (resolution, resolution))  # nearest z/w wins = largest z
    depth = torch.where(rast[..., 3] > 0, rast[..., 2], torch.full_like(rast[..., 2], 1e9))
    depth = depth.view(b, directions, resolution, resolution)
    # sample the occluder depth at each vertex (nearest pixel; min over a 2x2 footprint for stability)
    px = ((x * 0.5 + 0.5) * resolution - 0.5)
    py = ((y * 0.5 + 0.5) * resolution - 0.5)
    ix0 = px.floor().long().clamp(0, resolution - 1)
    iy0 = py.floor().long().clamp(0, resolution - 1)
    flat = depth.view(b, directions, -1)
    best = None
    for dx in (0, 1):
        for dy in (0, 1):
            idx = (iy0 + dy).clamp(0, resolution - 1) * resolution + (ix0 + dx).clamp(0, resolution - 1)
            val = torch.gather(flat, 2, idx)
            best = val if best is None else torch.maximum(best, val)  # farthest of the 4 (least occluding)
    own = -z * 0.5
    bias = 3.0 / resolution  # ~1.5 pixels in depth units
    visible = (own <= best + bias).to(vertices.dtype)  # [B, K, V]
    cos = (normals[:, None] * dirs[None, :, None]).sum(-1).clamp_min(0.0)  # [B, K, V]
    return ((visible * cos).sum(1) / cos.sum(1).clamp_min(1e-6)).clamp(0.0, 1.0)


def bake_ambient_occlusion(model, vertices: torch.Tensor | None = None, size: int = 1024, *,
                           displacement: torch.Tensor | None = None, cavity_m: float = 2.5e-4) -> torch.Tensor:
    """Ambient occlusion UV map ``[.., S, S]`` float32 in [0, 1]: per-vertex geometric AO
    (:func:`vertex_ambient_occlusion`) through the atlas, times a cavity term from the (optional)
    ``displacement [.., S, S]`` meters (texels pushed in by ``cavity_m`` lose a third of their light)."""
    size = check_size(size)
    single = vertices is None or vertices.ndim == 2
    verts = _check_vertices(model, vertices)
    layout = bake_layout(model, size)
    ao = layout.sample(vertex_ambient_occlusion(model, verts)[..., None])[..., 0].clamp(0.0, 1.0)
    if displacement is not None:
        d = displacement if displacement.ndim == 3 else displacement[None]
        ao = ao * (1.0 + (d.to(ao) / cavity_m).clamp(-1.0, 0.0) / 3.0)
    return ao[0] if single else ao


def _loop_free_subdivide(vertices: torch.Tensor, faces: torch.Tensor, uvs: torch.Tensor,
                         uv_faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One 1→4 midpoint subdivision of positions and UVs (shared edge midpoints are shared vertices)."""
    def midpoints(f: torch.Tensor, count: int):
        e = torch.cat([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], 0)
        key = e.sort(1).values
        uniq, inv = torch.unique(key, dim=0, return_inverse=True)
        nf = f.shape[0]
        m = inv.view(3, nf).T + count  # [F, 3] midpoint ids of edges (01, 12, 20)
        new_f = torch.cat([
            torch.stack([f[:, 0], m[:, 0], m[:, 2]], 1), torch.stack([m[:, 0], f[:, 1], m[:, 1]], 1),
            torch.stack([m[:, 2], m[:, 1], f[:, 2]], 1), torch.stack([m[:, 0], m[:, 1], m[:, 2]], 1)], 0)
        return uniq, new_f

    e_v, new_faces = midpoints(faces, vertices.shape[-2])
    new_vertices = torch.cat([vertices, (vertices[..., e_v[:, 0], :] + vertices[..., e_v[:, 1], :]) / 2], -2)
    e_t, new_uv_faces = midpoints(uv_faces, uvs.shape[0])
    new_uvs = torch.cat([uvs, (uvs[e_t[:, 0]] + uvs[e_t[:, 1]]) / 2], 0)
    return new_vertices, new_faces, new_uvs, new_uv_faces


def displaced_mesh(model, vertices: torch.Tensor, textures, subdivisions: int = 1):
    """A high-detail mesh: ``subdivisions`` rounds of 1→4 midpoint subdivision, every vertex moved along its
    (smooth, pre-displacement) normal by the bilinearly sampled displacement map of ``textures``
    (a :class:`~assetgen.textures.types.TextureSet`).

    Args:
        vertices: ``[V, 3]`` head vertices (meters) of ``model``.
        subdivisions: 0..3.
    Returns ``(vertices [V', 3], faces [F', 3], uvs [T', 2], uv_faces [F', 3])`` torch tensors.
    """
    if isinstance(subdivisions, bool) or not isinstance(subdivisions, int) or not 0 <= subdivisions <= 3:
        raise ValueError(f"subdivisions: expected an integer in [0, 3], got {subdivisions!r}")
    v = _check_vertices(model, vertices)[0]
    faces, uvs, uv_faces = model.faces, model.uvs.to(v), model.uv_faces
    # per-vertex normal on the coarse mesh, carried through subdivision by interpolation
    n = vertex_normals(v, faces)
    both = torch.cat([v, n], -1)
    for _ in range(subdivisions):
        both, faces, uvs, uv_faces = _loop_free_subdivide(both, faces, uvs, uv_faces)
    v, n = both[:, :3], both[:, 3:]
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    # displacement at each vertex: average over the UV corners that use it (seams: both sides agree)
    disp = torch.as_tensor(textures.displacement_meters(), device=v.device, dtype=v.dtype)
    s = disp.shape[0]
    uv_d = _bilinear(disp, uvs)  # [T']
    acc = torch.zeros(v.shape[0], device=v.device, dtype=v.dtype)
    cnt = torch.zeros_like(acc)
    acc.index_add_(0, faces.reshape(-1), uv_d[uv_faces.reshape(-1)])
    cnt.index_add_(0, faces.reshape(-1), torch.ones_like(uv_d[uv_faces.reshape(-1)]))
    d = acc / cnt.clamp_min(1.0)
    del s
    return v + n * d[:, None], faces, uvs, uv_faces


def _bilinear(img: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of ``img [S, S, ...]`` (row 0 = top) at OBJ-style ``uv [P, 2]`` (texel centres)."""
    s = img.shape[0]
    x = uv[:, 0] * s - 0.5
    y = (1.0 - uv[:, 1]) * s - 0.5
    x0 = x.floor().clamp(0, s - 1)
    y0 = y.floor().clamp(0, s - 1)
    fx = (x - x0).clamp(0, 1)
    fy = (y - y0).clamp(0, 1)
    x0, y0 = x0.long(), y0.long()
    x1, y1 = (x0 + 1).clamp(max=s - 1), (y0 + 1).clamp(max=s - 1)
    if img.ndim == 3:
        fx, fy = fx[:, None], fy[:, None]
    return ((img[y0, x0] * (1 - fx) + img[y0, x1] * fx) * (1 - fy)
            + (img[y1, x0] * (1 - fx) + img[y1, x1] * fx) * fy)
