"""A typed, batched pinhole camera with nvdiffrast's clip-space conventions.

Frames and units:

* World: meters, +Y up, heads face toward +Z (see :mod:`assetgen.geometry`).
* Camera (OpenGL): the camera looks down its −Z axis, +X right, +Y up; ``cam_to_world [B, 4, 4]`` maps camera
  coordinates to world coordinates (rigid: rotation + translation, meters).
* Pixels: ``(u, v)`` with the origin at the **top-left corner** of the image, ``u`` to the right, ``v`` down;
  pixel ``(row r, column c)`` has its centre at ``(c + 0.5, r + 0.5)``. ``fx, fy, cx, cy`` are in pixels; the
  principal point of a centred camera is ``(W / 2, H / 2)``.
* Clip space (:meth:`Camera.to_clip`) is OpenGL's, as nvdiffrast consumes it: ``w = −z_cam`` (distance along the
  view axis), NDC ``z`` is −1 at ``near`` and +1 at ``far``, NDC ``y = +1`` is the top of the image. The
  rasterizers emit rows bottom first (NDC ``y = −1``); :mod:`assetgen.render.renderer` flips them once so that
  every public image is top row first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch

__all__ = ["MAX_IMAGE_SIZE", "Camera", "look_at", "portrait_camera"]

MAX_IMAGE_SIZE = 4096
"""Largest image width or height (pixels) a camera may have."""


def _as_batch(value, batch: int, name: str, device, dtype=torch.float32) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=dtype, device=device)
    if t.ndim == 0:
        t = t.expand(batch)
    if t.ndim != 1 or t.shape[0] not in (1, batch):
        raise ValueError(f"{name}: expected a scalar or a [{batch}] tensor, got shape {tuple(t.shape)}")
    return t.expand(batch).contiguous()


@dataclass(frozen=True, eq=False)
class Camera:
    """``B`` pinhole cameras sharing one image size.

    Attributes:
        fx, fy: ``[B]`` float32 focal lengths, pixels (positive).
        cx, cy: ``[B]`` float32 principal point, pixels from the top-left image corner.
        width, height: image size in pixels, 1..:data:`MAX_IMAGE_SIZE`.
        cam_to_world: ``[B, 4, 4]`` float32 rigid camera-to-world transform (OpenGL camera, meters).
        near, far: clip distances along the view axis, meters, ``0 < near < far``.

    Raises ``ValueError`` at construction for a zero-area image, non-positive or non-finite focal lengths,
    a non-finite transform or a bad near/far pair.
    """

    fx: torch.Tensor
    fy: torch.Tensor
    cx: torch.Tensor
    cy: torch.Tensor
    width: int
    height: int
    cam_to_world: torch.Tensor
    near: float = 0.01
    far: float = 100.0

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_IMAGE_SIZE:
                raise ValueError(f"Camera.{name}: expected an integer number of pixels in [1, {MAX_IMAGE_SIZE}], "
                                 f"got {value!r}")
        m = self.cam_to_world
        if not isinstance(m, torch.Tensor) or m.ndim != 3 or m.shape[1:] != (4, 4):
            raise ValueError(f"Camera.cam_to_world: expected a [B, 4, 4] tensor, got "
                             f"{tuple(m.shape) if isinstance(m, torch.Tensor) else type(m).__name__}")
        if not torch.isfinite(m).all():
            raise ValueError("Camera.cam_to_world: contains NaN or inf")
        batch = m.shape[0]
        for name in ("fx", "fy", "cx", "cy"):
            t = getattr(self, name)
            if not isinstance(t, torch.Tensor) or t.shape != (batch,):
                raise ValueError(f"Camera.{name}: expected a [{batch}] tensor")
            if not torch.isfinite(t).all():
                raise ValueError(f"Camera.{name}: contains NaN or inf")
        if not bool((self.fx > 0).all() and (self.fy > 0).all()):
            raise ValueError("Camera.fx/fy: focal lengths must be positive (a zero focal length images nothing)")
        if not (0 < self.near < self.far < math.inf):
            raise ValueError(f"Camera.near/far: expected 0 < near < far < inf, got near={self.near}, far={self.far}")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_fov(cls, cam_to_world: torch.Tensor, *, fov_y_deg: float, width: int, height: int,
                 near: float = 0.01, far: float = 100.0) -> "Camera":
        """Centred cameras with square pixels and vertical field of view ``fov_y_deg`` (degrees, 0..180)."""
        if not 0 < float(fov_y_deg) < 180:
            raise ValueError(f"fov_y_deg: expected a field of view in (0, 180) degrees, got {fov_y_deg}")
        if cam_to_world.ndim == 2:
            cam_to_world = cam_to_world[None]
        batch, device = cam_to_world.shape[0], cam_to_world.device
        f = 0.5 * height / math.tan(math.radians(float(fov_y_deg)) / 2)
        b = lambda x: torch.full((batch,), float(x), device=device)  # noqa: E731
        return cls(b(f), b(f), b(width / 2), b(height / 2), width, height,
                   cam_to_world.to(torch.float32).contiguous(), near, far)

    # ------------------------------------------------------------------ properties
    @property
    def batch_size(self) -> int:
        return int(self.cam_to_world.shape[0])

    @property
    def device(self) -> torch.device:
        return self.cam_to_world.device

    @property
    def position(self) -> torch.Tensor:
        """``[B, 3]`` camera centres in world coordinates, meters."""
        return self.cam_to_world[:, :3, 3]

    def to(self, device: torch.device | str) -> "Camera":
        """The same cameras with their tensors on ``device``."""
        return replace(self, **{k: getattr(self, k).to(device) for k in ("fx", "fy", "cx", "cy", "cam_to_world")})

    def expand(self, batch: int) -> "Camera":
        """A batch-1 camera repeated ``batch`` times (any camera with ``B == batch`` is returned as is)."""
        if self.batch_size == batch:
            return self
        if self.batch_size != 1:
            raise ValueError(f"camera: batch of {self.batch_size} cannot broadcast to {batch}")
        return replace(self, **{k: getattr(self, k).expand(batch, *getattr(self, k).shape[1:]).contiguous()
                                for k in ("fx", "fy", "cx", "cy", "cam_to_world")})

    def scaled(self, factor: int) -> "Camera":
        """The same view on a ``factor``× larger pixel grid (supersampling): intrinsics scale with the image."""
        return replace(self, fx=self.fx * factor, fy=self.fy * factor, cx=self.cx * factor, cy=self.cy * factor,
                       width=self.width * factor, height=self.height * factor) if factor != 1 else self

    # ------------------------------------------------------------------ transforms
    def world_to_cam(self) -> torch.Tensor:
        """``[B, 4, 4]`` inverse of the rigid ``cam_to_world``."""
        r = self.cam_to_world[:, :3, :3]
        t = self.cam_to_world[:, :3, 3:]
        out = torch.zeros_like(self.cam_to_world)
        out[:, :3, :3] = r.transpose(1, 2)
        out[:, :3, 3:] = -r.transpose(1, 2) @ t
        out[:, 3, 3] = 1.0
        return out

    def projection(self) -> torch.Tensor:
        """``[B, 4, 4]`` OpenGL projection (camera → clip) for these intrinsics and the top-left pixel origin."""
        w, h, n, f = float(self.width), float(self.height), float(self.near), float(self.far)
        p = torch.zeros(self.batch_size, 4, 4, dtype=self.cam_to_world.dtype, device=self.device)
        p[:, 0, 0] = 2 * self.fx / w
        p[:, 0, 2] = -(2 * self.cx / w - 1)  # x_ndc = 2 (fx X / d + cx) / W − 1 with d = −Z
        p[:, 1, 1] = 2 * self.fy / h
        p[:, 1, 2] = -(1 - 2 * self.cy / h)  # y_ndc = 1 − 2 (−fy Y / d + cy) / H  (v grows downward)
        p[:, 2, 2] = -(f + n) / (f - n)
        p[:, 2, 3] = -2 * f * n / (f - n)
        p[:, 3, 2] = -1.0
        return p

    def to_camera(self, points: torch.Tensor) -> torch.Tensor:
        """World ``points [B, N, 3]`` (or ``[N, 3]``) → camera coordinates ``[B, N, 3]`` (meters)."""
        points = _points(points, self.batch_size)
        m = self.world_to_cam().to(points.dtype)
        return points @ m[:, :3, :3].transpose(1, 2) + m[:, None, :3, 3]

    def to_clip(self, points: torch.Tensor) -> torch.Tensor:
        """World ``points [B, N, 3]`` (or ``[N, 3]``) → homogeneous clip positions ``[B, N, 4]`` (nvdiffrast)."""
        cam = self.to_camera(points)
        p = self.projection().to(cam.dtype)
        return torch.cat([cam, torch.ones_like(cam[..., :1])], -1) @ p.transpose(1, 2)

    def project(self, points: torch.Tensor) -> torch.Tensor:
        """World ``points [B, N, 3]`` → pixel coordinates ``[B, N, 2]`` (``u`` right, ``v`` down, top-left origin)."""
        cam = self.to_camera(points)
        d = -cam[..., 2]
        u = self.fx[:, None].to(cam.dtype) * cam[..., 0] / d + self.cx[:, None].to(cam.dtype)
        v = -self.fy[:, None].to(cam.dtype) * cam[..., 1] / d + self.cy[:, None].to(cam.dtype)
        return torch.stack([u, v], -1)

    def unproject(self, pixels: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """Pixel coordinates ``[B, N, 2]`` and view-axis depth ``[B, N]`` (meters) → world points ``[B, N, 3]``."""
        d = depth.to(torch.float32)
        x = (pixels[..., 0] - self.cx[:, None]) / self.fx[:, None] * d
        y = -(pixels[..., 1] - self.cy[:, None]) / self.fy[:, None] * d
        cam = torch.stack([x, y, -d], -1)
        return cam @ self.cam_to_world[:, :3, :3].transpose(1, 2) + self.cam_to_world[:, None, :3, 3]


def _points(points: torch.Tensor, batch: int) -> torch.Tensor:
    if points.ndim == 2:
        points = points[None]
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"points: expected [B, N, 3] or [N, 3], got {tuple(points.shape)}")
    if points.shape[0] != batch:
        if points.shape[0] != 1:
            raise ValueError(f"points: batch {points.shape[0]} does not match the camera batch {batch}")
        points = points.expand(batch, -1, -1)
    return points


def look_at(eye, target, up=(0.0, 1.0, 0.0)) -> torch.Tensor:
    """``[B, 4, 4]`` OpenGL ``cam_to_world`` of cameras at ``eye`` looking at ``target`` (each ``[3]`` or ``[B, 3]``,
    meters) with ``up`` (``[3]`` or ``[B, 3]``) projecting to image-up. Raises ``ValueError`` when
    ``eye == target`` or ``up`` is parallel to the view direction."""
    eye_t = torch.as_tensor(eye, dtype=torch.float64)
    device = eye.device if isinstance(eye, torch.Tensor) else None
    eye_t = torch.atleast_2d(eye_t.to(device))
    target_t = torch.atleast_2d(torch.as_tensor(target, dtype=torch.float64, device=eye_t.device))
    up_t = torch.atleast_2d(torch.as_tensor(up, dtype=torch.float64, device=eye_t.device))
    eye_t, target_t, up_t = torch.broadcast_tensors(eye_t, target_t, up_t)
    if not (torch.isfinite(eye_t).all() and torch.isfinite(target_t).all() and torch.isfinite(up_t).all()):
        raise ValueError("look_at: eye, target and up must be finite")
    back = eye_t - target_t  # camera +Z points away from what it looks at
    dist = back.norm(dim=-1, keepdim=True)
    if bool((dist < 1e-9).any()):
        raise ValueError("look_at: eye and target coincide (the view direction is undefined)")
    z = back / dist
    x = torch.linalg.cross(up_t, z, dim=-1)
    xn = x.norm(dim=-1, keepdim=True)
    if bool((xn < 1e-9).any()):
        raise ValueError("look_at: up is parallel to the view direction")
    x = x / xn
    y = torch.linalg.cross(z, x, dim=-1)
    m = torch.zeros(eye_t.shape[0], 4, 4, dtype=torch.float64, device=eye_t.device)
    m[:, :3, 0], m[:, :3, 1], m[:, :3, 2], m[:, :3, 3] = x, y, z, eye_t
    m[:, 3, 3] = 1.0
    return m.to(torch.float32)


def portrait_camera(points: torch.Tensor, yaw_deg=0.0, pitch_deg=0.0, size: int = 512, fov_deg: float = 25.0,
                    *, margin: float = 0.9) -> Camera:
    """Cameras framing a head for a square portrait.

    Args:
        points: ``[B, V, 3]`` or ``[V, 3]`` vertices (meters; or just the two corners of a bounding box). The
            camera frames the bounding sphere of their axis-aligned box, centred on the box.
        yaw_deg: scalar or ``[B]``; rotation of the camera about +Y around the head, degrees. 0 looks at the
            face (from +Z), +90 looks from +X (the head's left side; glTF characters face +Z).
        pitch_deg: scalar or ``[B]``; elevation of the camera, degrees (positive: above, looking down).
        size: image width and height, pixels.
        fov_deg: vertical field of view, degrees.
        margin: framing scale (1 = the bounding sphere of the box touches the image border; the default 0.9
            frames the head tighter and still keeps a head-shaped box inside the image from every yaw).

    Returns a :class:`Camera` whose batch is the broadcast of the point batch and the angle batch.
    """
    if points.ndim == 2:
        points = points[None]
    if points.ndim != 3 or points.shape[-1] != 3 or points.shape[1] == 0:
        raise ValueError(f"points: expected [B, V, 3] or [V, 3] with V > 0, got {tuple(points.shape)}")
    if not torch.isfinite(points).all():
        raise ValueError("points: contain NaN or inf")
    if not 0 < float(fov_deg) < 180:
        raise ValueError(f"fov_deg: expected a field of view in (0, 180) degrees, got {fov_deg}")
    lo, hi = points.amin(1).to(torch.float64), points.amax(1).to(torch.float64)
    centre = 0.5 * (lo + hi)
    radius = (0.5 * (hi - lo).norm(dim=-1)).clamp_min(1e-6)  # [Bp]
    yaw = torch.atleast_1d(torch.as_tensor(yaw_deg, dtype=torch.float64, device=points.device))
    pitch = torch.atleast_1d(torch.as_tensor(pitch_deg, dtype=torch.float64, device=points.device))
    if yaw.ndim != 1 or pitch.ndim != 1:
        raise ValueError("yaw_deg/pitch_deg: expected scalars or [B] sequences")
    batch = torch.broadcast_shapes(yaw.shape, pitch.shape, centre.shape[:1])[0]
    yaw, pitch = torch.deg2rad(yaw.expand(batch)), torch.deg2rad(pitch.expand(batch))
    centre, radius = centre.expand(batch, 3), radius.expand(batch)
    distance = margin * radius / math.sin(math.radians(float(fov_deg)) / 2)
    direction = torch.stack([torch.sin(yaw) * torch.cos(pitch), torch.sin(pitch), torch.cos(yaw) * torch.cos(pitch)], -1)
    eye = centre + direction * distance[:, None]
    near = max(float((distance - radius).min()) * 0.5, 1e-3)  # the whole bounding sphere lies inside near..far
    far = float((distance + radius).max()) * 2.0
    m = look_at(eye, centre)
    return Camera.from_fov(m.to(points.device), fov_y_deg=fov_deg, width=size, height=size, near=near, far=far)
