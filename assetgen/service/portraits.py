"""``RenderPortraitRequest`` → validated head + cameras + lighting → PNG portraits (synchronous, pure).

Runs in a worker thread of the server. Bad fields raise :class:`~assetgen.service.requests.RequestError`
(``INVALID_ARGUMENT`` with field violations), caps :class:`~assetgen.service.requests.LimitError`
(``RESOURCE_EXHAUSTED``), the neural renderer :class:`~assetgen.service.requests.Unavailable`
(``UNIMPLEMENTED``: it needs the neural portrait generator, which does not exist yet).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from assetgen import control
from assetgen.service.requests import (GenerateSettings, LimitError, RequestError, Unavailable, _check_model,
                                       check_cancel, parse_generate_request)

__all__ = ["DEFAULT_PORTRAIT_SIZE", "MAX_CAMERAS", "MAX_PORTRAIT_SIZE", "MIN_PORTRAIT_SIZE", "Portrait",
           "PortraitRequest", "parse_portrait_request", "render_portraits"]

MAX_CAMERAS = 16
"""Most cameras one RenderPortrait request may ask for; beyond: ``RESOURCE_EXHAUSTED``."""
MAX_PORTRAIT_SIZE = 2048
"""Largest portrait (pixels a side), ``Limits.max_preview_size``; beyond: ``RESOURCE_EXHAUSTED``."""
MIN_PORTRAIT_SIZE = 16
DEFAULT_PORTRAIT_SIZE = 512
NEURAL_REASON = ("renderer: RENDERER_NEURAL is not available until the neural portrait generator exists; "
                 "use RENDERER_RASTER (or leave renderer unset)")


@dataclass(frozen=True)
class PortraitRequest:
    """A validated request: the spec, its model, ``(yaw°, pitch°, size px)`` per camera, the lighting
    (preset name or 27 SH numbers)."""

    spec: control.HeadSpec
    model: Any
    cameras: list[tuple[float, float, int]]
    lighting: Any


@dataclass(frozen=True)
class Portrait:
    camera_index: int
    png: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.png).hexdigest()


def _spec(req, settings: GenerateSettings, violations: list):
    has_head = req.HasField("head")
    if has_head and req.spec_json:
        violations.append(("head", "head: set spec_json or head, not both"))
        return None, None
    if has_head:
        inner = type(req.head)()
        inner.CopyFrom(req.head)
        inner.ClearField("export")  # export options do not apply to a portrait
        try:
            parsed = parse_generate_request(inner, settings)
        except RequestError as exc:
            violations.extend((f"head.{f}", d) for f, d in exc.violations)
            return None, None
        return parsed.spec, parsed.model
    if not req.spec_json.strip():
        violations.append(("spec_json", "spec_json: set spec_json (a HeadSpec) or head (a GenerateAsset source)"))
        return None, None
    model = _check_model(req.model, violations, settings)
    if model is None:
        return None, None
    try:
        spec = control.HeadSpec.from_json(req.spec_json)
    except ValueError as exc:
        violations.append(("spec_json", f"spec_json: {exc}"[:500]))
        return None, None
    if spec.model != control.model_id(model):
        violations.append(("spec_json", f"spec_json: the spec is for model {spec.model!r}, the request names "
                                        f"{control.model_id(model)!r}"))
        return None, None
    return spec, model


def _lighting(req, violations: list, limits: list):
    kind = req.lighting.WhichOneof("kind")
    if kind == "preset":
        from assetgen.render import PRESETS

        if req.lighting.preset not in PRESETS:
            violations.append(("lighting.preset", f"lighting.preset: unknown preset {req.lighting.preset[:60]!r}; "
                                                  f"known presets: {sorted(PRESETS)}"))
        return req.lighting.preset
    if kind == "sh":
        values = list(req.lighting.sh.coefficients)
        if len(values) != 27 or not all(math.isfinite(v) for v in values):
            violations.append(("lighting.sh.coefficients", f"lighting.sh.coefficients: expected 27 finite numbers "
                                                           f"(9 x 3 RGB, row-major), got {len(values)}"
                                                           f"{'' if len(values) != 27 else ' with non-finite ones'}"))
        return [float(v) for v in values]
    return None  # the spec's lighting


def _cameras(req, violations: list, limits: list) -> list[tuple[float, float, int]]:
    if len(req.cameras) > MAX_CAMERAS:
        limits.append(f"cameras: {len(req.cameras)} cameras, the cap is {MAX_CAMERAS} per request")
    out = []
    for i, cam in enumerate(req.cameras[:MAX_CAMERAS]):
        yaw, pitch, size = float(cam.yaw_deg), float(cam.pitch_deg), int(cam.size) or DEFAULT_PORTRAIT_SIZE
        if not (math.isfinite(yaw) and -360.0 <= yaw <= 360.0):
            violations.append((f"cameras[{i}].yaw_deg", f"yaw_deg: {yaw!r} is out of range [-360, 360] degrees"))
        if not (math.isfinite(pitch) and -89.0 <= pitch <= 89.0):
            violations.append((f"cameras[{i}].pitch_deg", f"pitch_deg: {pitch!r} is out of range [-89, 89] degrees"))
        if size < MIN_PORTRAIT_SIZE:
            violations.append((f"cameras[{i}].size", f"size: {size} is below {MIN_PORTRAIT_SIZE} pixels (0: "
                                                      f"{DEFAULT_PORTRAIT_SIZE})"))
        elif size > MAX_PORTRAIT_SIZE:
            limits.append(f"cameras[{i}].size: {size} pixels is above the cap of {MAX_PORTRAIT_SIZE} "
                          "(Limits.max_preview_size)")
        out.append((yaw, pitch, size))
    return out


def parse_portrait_request(req, settings: GenerateSettings) -> PortraitRequest:
    """Validate a ``RenderPortraitRequest``; raises RequestError (every bad field), then LimitError, then
    Unavailable (neural renderer)."""
    violations: list[tuple[str, str]] = []
    limits: list[str] = []
    if int(req.renderer) not in (0, 1, 2):
        violations.append(("renderer", f"renderer: unknown value {int(req.renderer)}"))
    cameras = _cameras(req, violations, limits)
    lighting = _lighting(req, violations, limits)
    spec = model = None
    if not violations:
        spec, model = _spec(req, settings, violations)
    if violations:
        raise RequestError(violations)
    if limits:
        raise LimitError("; ".join(limits))
    if int(req.renderer) == 2:
        raise Unavailable(NEURAL_REASON)
    if not cameras:
        cameras = [(float(spec.lighting.camera_yaw), float(spec.lighting.camera_pitch), DEFAULT_PORTRAIT_SIZE)]
    if lighting is None:
        light = spec.lighting
        lighting = light.preset if light.preset is not None else [float(v) for row in light.sh for v in row]
    return PortraitRequest(spec=spec, model=model, cameras=cameras, lighting=lighting)


def _texture_size(size: int) -> int:
    """Texels a side for a portrait of ``size`` pixels: the next power of two, in 256..1024."""
    return int(min(1024, max(256, 1 << (max(1, size) - 1).bit_length())))


def render_portraits(parsed: PortraitRequest, device: str = "cpu", cancel=None):
    """Yield one :class:`Portrait` (RGBA PNG, sRGB, straight alpha) per camera, in camera order."""
    from assetgen.io import encode_png
    from assetgen.pipeline import head_surface
    from assetgen.render import render_portrait

    check_cancel(cancel)
    surface = head_surface(parsed.spec, model=parsed.model,
                           texture_size=_texture_size(max(c[2] for c in parsed.cameras)), device=device)
    for i, (yaw, pitch, size) in enumerate(parsed.cameras):
        check_cancel(cancel)
        res = render_portrait(surface.model, surface.vertices.to(surface.model.device), surface.textures,
                              yaw_deg=yaw, pitch_deg=pitch, size=size, lighting=parsed.lighting, supersample=2,
                              outputs=("image", "alpha"))
        rgba = np.concatenate([res.image[0].detach().cpu().numpy(), res.alpha[0].detach().cpu().numpy()], axis=-1)
        px = np.clip(np.round(rgba.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
        yield Portrait(camera_index=i, png=encode_png(px))
