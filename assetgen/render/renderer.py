"""The renderer: one API over both backends (nvdiffrast on CUDA, the torch rasterizer on CPU).

``render(vertices, mesh, camera, ...)`` rasterizes a batch of heads, interpolates their attributes, shades the
covered pixels (SH Lambertian + a GGX key-light PBR preview, :mod:`assetgen.render.shading`) and returns a
frozen :class:`RenderResult`. All public images are **top row first** (the rasterizers' bottom-first rows are
flipped once, in :func:`_rasterize`).

Supersampling (``supersample = s``) renders ``s×`` larger and box-filters the image and alpha (antialiased
edges, identical on both backends); the geometric buffers (depth, normals, triangle ids, masks) are point
samples: the sub-sample ``(s // 2, s // 2)`` of each pixel (the pixel centre for ``s = 1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from assetgen.geometry import SeamSplit, split_uv_seams, vertex_normals, vertex_tangents
from assetgen.render.backends import Backend, get_backend
from assetgen.render.camera import Camera
from assetgen.render.lighting import dominant_light, sh_from_spec
from assetgen.render.shading import (CLAY_ALBEDO_SRGB, CLAY_ROUGHNESS, MaterialMaps, apply_normal_map,
                                     linear_to_srgb, shade, srgb_to_linear)

__all__ = ["MAX_RASTER_SIZE", "OUTPUTS", "RenderMesh", "RenderResult", "render", "save_png"]

OUTPUTS = ("image", "alpha", "depth", "normals", "triangle_id", "mask")
SUPERSAMPLE = (1, 2, 4)
MAX_RASTER_SIZE = 8192
"""Largest rasterized width or height (image size × supersample), pixels."""


@dataclass(frozen=True, eq=False)
class RenderMesh:
    """A mesh prepared for rendering (build once per topology with :meth:`from_model` or :meth:`build`).

    Attributes:
        faces: ``[F, 3]`` long, triangles over the model's ``V`` vertices (counter-clockwise = front).
        split: the UV-seam split (:func:`~assetgen.geometry.split_uv_seams`) or ``None`` without UVs.
        uvs: ``[N, 2]`` float32 OBJ-style UVs per split vertex (``v`` up), or ``None``.
        labels: mask names in output order; ``label_faces [L, F]`` bool says which triangles each covers.
            Part names (face groups) come first, then region names (vertex groups: a triangle belongs to a
            region when at least two of its corners do); a region named like a part gets a ``region:`` prefix.
        clay_albedo: ``[F, 3]`` float32 linear base colour per triangle for the untextured look.
    """

    faces: torch.Tensor
    split: SeamSplit | None
    uvs: torch.Tensor | None
    labels: tuple[str, ...]
    label_faces: torch.Tensor
    clay_albedo: torch.Tensor

    @classmethod
    def build(cls, faces: torch.Tensor, uvs: torch.Tensor | None = None, uv_faces: torch.Tensor | None = None,
              parts: dict[str, torch.Tensor] | None = None,
              regions: dict[str, torch.Tensor] | None = None) -> "RenderMesh":
        """Prepare ``faces [F, 3]`` with optional ``uvs [T, 2]`` / ``uv_faces [F, 3]``, ``parts`` (name → face
        indices) and ``regions`` (name → vertex indices)."""
        faces = torch.as_tensor(faces).long()
        if faces.ndim != 2 or faces.shape[1] != 3 or faces.numel() == 0:
            raise ValueError(f"faces: expected a non-empty [F, 3] index tensor, got {tuple(faces.shape)}")
        if int(faces.min()) < 0:
            raise ValueError("faces: negative vertex index")
        device = faces.device
        split = uv = None
        if (uvs is None) != (uv_faces is None):
            raise ValueError("uvs and uv_faces: give both or neither")
        if uvs is not None:
            uv_faces = torch.as_tensor(uv_faces, device=device).long()
            split = split_uv_seams(faces, uv_faces)
            uv = torch.as_tensor(uvs, device=device).to(torch.float32)[split.uv_index]
        num_faces, num_vertices = faces.shape[0], int(faces.max()) + 1
        labels, tables = [], []
        clay = torch.tensor(CLAY_ALBEDO_SRGB["skin"], device=device).expand(num_faces, 3).clone()
        for name, idx in (parts or {}).items():
            row = torch.zeros(num_faces, dtype=torch.bool, device=device)
            row[torch.as_tensor(idx, device=device).long()] = True
            labels.append(name)
            tables.append(row)
            if name in CLAY_ALBEDO_SRGB:
                clay[row] = torch.tensor(CLAY_ALBEDO_SRGB[name], device=device)
        for name, idx in (regions or {}).items():
            inside = torch.zeros(num_vertices, dtype=torch.bool, device=device)
            idx = torch.as_tensor(idx, device=device).long()
            inside[idx[idx < num_vertices]] = True
            labels.append(f"region:{name}" if name in labels else name)
            tables.append(inside[faces].sum(-1) >= 2)
        table = torch.stack(tables) if tables else torch.zeros(0, num_faces, dtype=torch.bool, device=device)
        return cls(faces, split, uv, tuple(labels), table, srgb_to_linear(clay))

    @classmethod
    def from_model(cls, model) -> "RenderMesh":
        """From a :class:`~assetgen.heads.HeadModel` (faces, UVs, parts, regions)."""
        return cls.build(model.faces, model.uvs, model.uv_faces, model.parts, model.regions)

    @property
    def render_faces(self) -> torch.Tensor:
        """``[F, 3]`` triangles as rasterized (over split vertices when UVs exist; same order as ``faces``)."""
        return self.split.faces if self.split is not None else self.faces

    def to(self, device: torch.device | str) -> "RenderMesh":
        split = None if self.split is None else SeamSplit(*(getattr(self.split, k).to(device) for k in
                                                             ("vertex_index", "uv_index", "faces")))
        return RenderMesh(self.faces.to(device), split, None if self.uvs is None else self.uvs.to(device),
                          self.labels, self.label_faces.to(device), self.clay_albedo.to(device))


@dataclass(frozen=True, eq=False)
class RenderResult:
    """Outputs of :func:`render` (a field is ``None`` when not requested), all top row first, on the backend's device.

    Attributes:
        image: ``[B, H, W, 3]`` float32 sRGB in [0, 1]; composited over ``background``, or with
            ``background=None`` straight (un-premultiplied) colour, black where ``alpha == 0``.
        alpha: ``[B, H, W, 1]`` float32 coverage in [0, 1] (fraction of covered sub-samples).
        depth: ``[B, H, W]`` float32 distance along the camera's view axis, meters; ``+inf`` on background.
        normals: ``[B, H, W, 3]`` float32 world-space unit normals (interpolated vertex normals, no normal map);
            0 on background.
        triangle_id: ``[B, H, W]`` long, index into the mesh's faces; −1 on background.
        masks: name → ``[B, H, W]`` bool, one per part and region (see :attr:`RenderMesh.labels`).
        backend: name of the backend that rendered (``"cpu"`` or ``"cuda"``).
    """

    image: torch.Tensor | None = None
    alpha: torch.Tensor | None = None
    depth: torch.Tensor | None = None
    normals: torch.Tensor | None = None
    triangle_id: torch.Tensor | None = None
    masks: dict[str, torch.Tensor] | None = field(default=None)
    backend: str = ""


def _check_inputs(vertices: torch.Tensor, mesh: RenderMesh, camera: Camera, supersample: int, outputs) -> None:
    if not isinstance(vertices, torch.Tensor) or vertices.ndim != 3 or vertices.shape[-1] != 3:
        raise ValueError(f"vertices: expected a [B, V, 3] tensor (meters), got "
                         f"{tuple(vertices.shape) if isinstance(vertices, torch.Tensor) else type(vertices).__name__}")
    if not vertices.is_floating_point():
        raise ValueError(f"vertices: expected a floating-point tensor, got {vertices.dtype}")
    if not torch.isfinite(vertices).all():
        raise ValueError("vertices: contain NaN or inf")
    if int(mesh.faces.max()) >= vertices.shape[1]:
        raise ValueError(f"faces: index {int(mesh.faces.max())} out of range for {vertices.shape[1]} vertices")
    if not isinstance(camera, Camera):
        raise ValueError(f"camera: expected an assetgen.render.Camera, got {type(camera).__name__}")
    if supersample not in SUPERSAMPLE:
        raise ValueError(f"supersample: expected one of {SUPERSAMPLE}, got {supersample!r}")
    if max(camera.width, camera.height) * supersample > MAX_RASTER_SIZE:
        raise ValueError(f"camera: {camera.width}×{camera.height} at supersample {supersample} exceeds the "
                         f"{MAX_RASTER_SIZE}-pixel raster cap")
    unknown = set(outputs) - set(OUTPUTS)
    if unknown:
        raise ValueError(f"outputs: unknown {sorted(unknown)}; expected a subset of {OUTPUTS}")


def _textures(textures, device) -> MaterialMaps | None:
    if textures is None or isinstance(textures, MaterialMaps):
        return None if textures is None else textures.to(device)
    if isinstance(textures, torch.Tensor):
        return MaterialMaps.from_tensors(textures.to(device))
    if hasattr(textures, "albedo") and hasattr(textures, "orm"):
        return MaterialMaps.from_texture_set(textures, device)
    raise ValueError(f"textures: expected a TextureSet, MaterialMaps, an albedo tensor or None, got "
                     f"{type(textures).__name__}")


def _rasterize(backend: Backend, camera: Camera, positions: torch.Tensor, faces: torch.Tensor,
               attr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Triangle ids ``[B, H, W]`` long (−1 on background) and interpolated ``attr`` ``[B, H, W, C]``, both flipped
    to top row first: the one place where the rasterizers' bottom-first rows are flipped."""
    clip = camera.to_clip(positions)
    rast = backend.rasterize(clip, faces, (camera.height, camera.width))
    interp = backend.interpolate(attr, rast, faces)
    return rast[..., 3].flip(1).long() - 1, interp.flip(1)


def render(vertices: torch.Tensor, mesh, camera: Camera, *, textures=None, lighting="studio",
           backend: str | Backend = "auto", supersample: int = 1, outputs=OUTPUTS,
           background=None) -> RenderResult:
    """Render a batch of heads.

    Args:
        vertices: ``[B, V, 3]`` (or ``[V, 3]``) positions in meters, world frame (+Y up, face toward +Z).
        mesh: a :class:`~assetgen.heads.HeadModel` or a prepared :class:`RenderMesh` (faster when reused).
        camera: :class:`Camera` with ``B`` or 1 views; vertices and cameras broadcast against each other.
        textures: a :class:`~assetgen.textures.TextureSet`, :class:`MaterialMaps`, an sRGB albedo tensor
            ``[Ht, Wt, 3]`` / ``[B, Ht, Wt, 3]`` in [0, 1] (row 0 = top), or ``None`` for the clay look.
        lighting: preset name (``studio``, ``soft``, ``outdoor``, ``dramatic``) or SH coefficients
            (``[27]``, ``[9, 3]``, ``[B, 9, 3]``; world frame), see :func:`~assetgen.render.lighting.sh_from_spec`.
        backend: ``"auto"``, ``"cuda"``, ``"cpu"`` or a :class:`Backend`.
        supersample: 1, 2 or 4 sub-samples a side (antialiasing).
        outputs: which of :data:`OUTPUTS` to compute (``"mask"`` fills ``RenderResult.masks``).
        background: ``None`` (straight colour + alpha) or an sRGB triple in [0, 1] to composite over.

    Raises ``ValueError`` for bad shapes, NaN/inf vertices, unknown outputs/backends/presets or sizes over the
    cap, and ``RuntimeError`` when ``backend="cuda"`` cannot run.
    """
    if isinstance(vertices, torch.Tensor) and vertices.ndim == 2:
        vertices = vertices[None]
    mesh = mesh if isinstance(mesh, RenderMesh) else RenderMesh.from_model(mesh)
    _check_inputs(vertices, mesh, camera, supersample, outputs)
    be = get_backend(backend)
    device = be.device
    batch = max(vertices.shape[0], camera.batch_size)
    if vertices.shape[0] not in (1, batch):
        raise ValueError(f"vertices: batch {vertices.shape[0]} does not broadcast with the camera batch "
                         f"{camera.batch_size}")
    mesh = mesh.to(device)
    vertices = vertices.to(device, torch.float32).expand(batch, -1, -1)
    cam = camera.to(device).expand(batch)
    sh = sh_from_spec(lighting, device=device)
    if sh.shape[0] not in (1, batch):
        raise ValueError(f"lighting: batch {sh.shape[0]} does not match the render batch {batch}")
    sh = sh.expand(batch, 9, 3)
    maps = _textures(textures, device)
    if maps is not None and mesh.uvs is None:
        raise ValueError("textures: the mesh has no UVs (give uvs and uv_faces)")
    if maps is not None and maps.batch_size not in (1, batch):
        raise ValueError(f"textures: batch {maps.batch_size} does not match the render batch {batch}")
    outputs = tuple(outputs)
    want_image = "image" in outputs or "alpha" in outputs
    s = supersample
    cam_s = cam.scaled(s)

    normals = vertex_normals(vertices, mesh.faces)
    faces = mesh.render_faces
    if mesh.split is not None:
        positions = vertices[:, mesh.split.vertex_index]
        normals = normals[:, mesh.split.vertex_index]
    else:
        positions = vertices
    view_depth = -cam_s.to_camera(positions)[..., 2:3]
    channels = [positions, normals, view_depth]
    if mesh.uvs is not None and maps is not None:
        channels.append(mesh.uvs.expand(batch, -1, -1))
        if maps.has_normal:
            channels.append(vertex_tangents(positions, normals, mesh.uvs, faces))
    attr = torch.cat(channels, -1)
    tri, interp = _rasterize(be, cam_s, positions, faces, attr)  # [B, Hs, Ws], [B, Hs, Ws, C]
    covered = tri >= 0

    result: dict = {"backend": be.name}
    if want_image:
        lin = _shade_pixels(interp, tri, covered, mesh, cam_s, sh, maps, be)
        cov = covered[..., None].to(lin.dtype)
        h, w = cam.height, cam.width
        if s > 1:
            pool = lambda x: x.reshape(batch, h, s, w, s, x.shape[-1]).mean((2, 4))  # noqa: E731
            lin, cov = pool(lin * cov), pool(cov)
        else:
            lin = lin * cov
        if background is None:
            lin = torch.where(cov > 0, lin / cov.clamp_min(1e-12), torch.zeros_like(lin))
        else:
            bg = srgb_to_linear(torch.as_tensor(background, dtype=lin.dtype, device=device).reshape(3))
            lin = lin + (1.0 - cov) * bg
        if "image" in outputs:
            result["image"] = linear_to_srgb(lin)
        if "alpha" in outputs:
            result["alpha"] = cov
    if s > 1:
        rast_pt = (tri[:, s // 2::s, s // 2::s], interp[:, s // 2::s, s // 2::s])
    else:
        rast_pt = (tri, interp)
    tri_pt, interp_pt = rast_pt
    cov_pt = tri_pt >= 0
    if "depth" in outputs:
        result["depth"] = torch.where(cov_pt, interp_pt[..., 6], torch.full_like(interp_pt[..., 6], float("inf")))
    if "normals" in outputs:
        n = interp_pt[..., 3:6]
        result["normals"] = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12) * cov_pt[..., None]
    if "triangle_id" in outputs:
        result["triangle_id"] = tri_pt
    if "mask" in outputs:
        table = mesh.label_faces[:, tri_pt.clamp_min(0)] & cov_pt  # [L, B, H, W]
        result["masks"] = {name: table[i] for i, name in enumerate(mesh.labels)}
    return RenderResult(**result)


def _shade_pixels(interp: torch.Tensor, tri: torch.Tensor, covered: torch.Tensor, mesh: RenderMesh, cam: Camera,
                  sh: torch.Tensor, maps: MaterialMaps | None, be: Backend) -> torch.Tensor:
    """Linear colour ``[B, H, W, 3]`` (0 on background), shading only the covered pixels."""
    batch, h, w, c = interp.shape
    flat = covered.reshape(-1).nonzero().squeeze(1)  # covered pixel indices
    out = interp.new_zeros(batch * h * w, 3)
    if flat.numel() == 0:
        return out.reshape(batch, h, w, 3)
    px = interp.reshape(-1, c)[flat]
    bidx = flat // (h * w)
    pos, nrm = px[:, 0:3], px[:, 3:6]
    n = nrm / nrm.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    view = cam.position.to(pos.dtype)[bidx] - pos
    view = view / view.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    ao = metallic = None
    roughness = CLAY_ROUGHNESS
    if maps is None:
        albedo = mesh.clay_albedo[tri.reshape(-1)[flat]]
    else:
        uv = px[:, 7:9]
        uv_mem = torch.stack([uv[:, 0], 1.0 - uv[:, 1]], -1)  # texture-memory order: row 0 = top (v = 1)
        if maps.batch_size == 1:  # one lookup for all covered pixels, laid out as [1, K / 1024, 1024, 2]
            k = uv_mem.shape[0]
            padded = torch.cat([uv_mem, uv_mem.new_zeros((-k) % 1024, 2)]).reshape(1, -1, 1024, 2)
            sample = be.texture(maps.maps, padded).reshape(-1, maps.maps.shape[-1])[:k]
        else:  # per-head textures: sample full frames, then pick the covered pixels
            full = interp.new_zeros(batch * h * w, 2)
            full[flat] = uv_mem
            sample = be.texture(maps.maps, full.reshape(batch, h, w, 2)).reshape(-1, maps.maps.shape[-1])[flat]
        albedo = srgb_to_linear(sample[:, 0:3])
        k = 3
        if maps.has_normal:
            n = apply_normal_map(n, px[:, 9:13], sample[:, k:k + 3])
            k += 3
        if maps.has_orm:
            ao, roughness, metallic = sample[:, k:k + 1], sample[:, k + 1:k + 2], sample[:, k + 2:k + 3]
    # two-sided lighting: back faces seen through openings are lit as if facing the viewer
    n = torch.where((n * view).sum(-1, keepdim=True) < 0, -n, n)
    key_dir, key_rgb = dominant_light(sh)
    lin = shade(albedo, n, view, sh[bidx], ao=ao, roughness=roughness,
                metallic=0.0 if metallic is None else metallic, key_dir=key_dir[bidx], key_rgb=key_rgb[bidx])
    out[flat] = lin.to(out.dtype)
    return out.reshape(batch, h, w, 3)


def save_png(image: torch.Tensor | np.ndarray, alpha: torch.Tensor | np.ndarray | None, path: str | Path) -> Path:
    """Write one ``[H, W, 3]`` sRGB image in [0, 1] (and ``[H, W, 1]``/``[H, W]`` alpha) as an 8-bit PNG (RGBA when
    ``alpha`` is given), atomically: a temporary file in the target folder, fsync, then rename. Returns the path."""
    img = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if img.ndim == 4 and img.shape[0] == 1:
        img = img[0]
    if img.ndim != 3 or img.shape[-1] != 3:
        raise ValueError(f"image: expected [H, W, 3], got {img.shape}")
    channels = [img]
    if alpha is not None:
        a = alpha.detach().cpu().numpy() if isinstance(alpha, torch.Tensor) else np.asarray(alpha)
        a = a.reshape(img.shape[0], img.shape[1], 1)
        channels.append(a)
    data = np.clip(np.round(np.concatenate(channels, -1).astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    from assetgen.io import atomic_write_bytes, encode_png

    return atomic_write_bytes(path, encode_png(data))
