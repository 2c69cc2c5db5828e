"""Rendering: one renderer API over two backends (nvdiffrast on CUDA, a plain-torch rasterizer on CPU).

Public API::

    from assetgen.render import render, render_portrait, portrait_camera, save_png, contact_sheet
    res = render_portrait(model, out.vertices, textures, yaw_deg=[0, 45, 90], size=512)   # RenderResult
    save_png(res.image[0], res.alpha[0], "portrait.png")

Modules: :mod:`camera` (Camera, look_at, portrait_camera), :mod:`backends` (get_backend), :mod:`lighting` (SH),
:mod:`shading`, :mod:`renderer` (render, RenderMesh, RenderResult, save_png), :mod:`portrait`,
:mod:`raster_torch` (CPU rasterizer), :mod:`uv_atlas` (texel → surface lookup).
"""

from assetgen.render.backends import Backend, get_backend
from assetgen.render.camera import MAX_IMAGE_SIZE, Camera, look_at, portrait_camera
from assetgen.render.lighting import PRESETS, sh_from_spec
from assetgen.render.portrait import contact_sheet, render_portrait
from assetgen.render.renderer import MAX_RASTER_SIZE, OUTPUTS, RenderMesh, RenderResult, render, save_png
from assetgen.render.shading import MaterialMaps

__all__ = ["MAX_IMAGE_SIZE", "MAX_RASTER_SIZE", "OUTPUTS", "PRESETS", "Backend", "Camera", "MaterialMaps",
           "RenderMesh", "RenderResult", "contact_sheet", "get_backend", "look_at", "portrait_camera", "render",
           "render_portrait", "save_png", "sh_from_spec"]
