"""Portraits and turntables: a framed, lit render of a head in one call, and contact sheets of several views."""

from __future__ import annotations

import numpy as np
import torch

from assetgen.render.backends import Backend
from assetgen.render.camera import portrait_camera
from assetgen.render.lighting import rotate_sh_yaw, sh_from_spec
from assetgen.render.renderer import OUTPUTS, RenderMesh, RenderResult, render

__all__ = ["contact_sheet", "render_portrait"]


def render_portrait(model, vertices: torch.Tensor, textures=None, *, yaw_deg=0.0, pitch_deg=0.0, size: int = 512,
                    lighting="studio", backend: str | Backend = "auto", supersample: int = 1,
                    fov_deg: float = 25.0, background=None, outputs=OUTPUTS,
                    mesh: RenderMesh | None = None) -> RenderResult:
    """Render ``vertices [B, V, 3]`` (or ``[V, 3]``) of ``model`` as square portraits of ``size`` pixels.

    ``yaw_deg`` / ``pitch_deg`` are scalars or ``[B]`` sequences (a turntable: one head, many yaws); the camera is
    :func:`~assetgen.render.camera.portrait_camera`. A preset ``lighting`` name follows the camera (it is turned
    by each view's yaw, so every view is lit like the frontal one); explicit SH coefficients stay in the world
    frame. ``mesh`` may pass a prepared :class:`RenderMesh` of ``model`` to skip its preparation. Other arguments
    as :func:`~assetgen.render.renderer.render`.
    """
    if isinstance(vertices, torch.Tensor) and vertices.ndim == 2:
        vertices = vertices[None]
    camera = portrait_camera(vertices, yaw_deg, pitch_deg, size, fov_deg)
    sh = sh_from_spec(lighting)
    if isinstance(lighting, str):
        yaw = torch.atleast_1d(torch.as_tensor(yaw_deg, dtype=torch.float64)).expand(camera.batch_size)
        sh = rotate_sh_yaw(sh, yaw)
    return render(vertices, mesh if mesh is not None else RenderMesh.from_model(model), camera, textures=textures,
                  lighting=sh, backend=backend, supersample=supersample, outputs=outputs, background=background)


def contact_sheet(images, columns: int, *, alpha=None, background=(1.0, 1.0, 1.0), pad: int = 0) -> np.ndarray:
    """Tile ``images [N, H, W, 3]`` (sRGB in [0, 1], tensor or array) into one ``[rows·H, columns·W, 3]`` uint8 array.

    With ``alpha [N, H, W, 1]`` each tile is composited over ``background`` (sRGB) first; empty cells and ``pad``
    pixels between tiles take the background colour.
    """
    imgs = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if imgs.ndim != 4 or imgs.shape[-1] != 3 or imgs.shape[0] == 0:
        raise ValueError(f"images: expected [N, H, W, 3] with N > 0, got {imgs.shape}")
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns: expected a positive integer, got {columns!r}")
    bg = np.asarray(background, dtype=np.float64).reshape(1, 1, 1, 3)
    imgs = imgs.astype(np.float64)
    if alpha is not None:
        a = alpha.detach().cpu().numpy() if isinstance(alpha, torch.Tensor) else np.asarray(alpha)
        a = a.reshape(*imgs.shape[:3], 1).astype(np.float64)
        imgs = imgs * a + bg * (1.0 - a)
    n, h, w, _ = imgs.shape
    rows = -(-n // columns)
    sheet = np.empty((rows * h + (rows - 1) * pad, columns * w + (columns - 1) * pad, 3), dtype=np.float64)
    sheet[:] = bg[0, 0]
    for i in range(n):
        r, c = divmod(i, columns)
        sheet[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = imgs[i]
    return np.clip(np.round(sheet * 255.0), 0, 255).astype(np.uint8)
