"""Shading: sRGB albedo × SH irradiance (Lambertian), plus a simple PBR preview (normal map, ORM, GGX key light).

All functions work on per-pixel tensors ``[..., C]`` (the renderer passes the covered pixels only, ``[K, C]``),
in linear light unless named ``srgb``. Conventions:

* Albedo textures are sRGB-encoded (:func:`srgb_to_linear` before shading, :func:`linear_to_srgb` after).
* Normal maps are tangent-space, glTF/OpenGL (green = +bitangent = increasing ``v``), encoded ``(n + 1) / 2``;
  the frame is the interpolated vertex normal ``n``, tangent ``t`` (:func:`assetgen.geometry.vertex_tangents`)
  and bitangent ``b = w · cross(n, t)`` (:func:`apply_normal_map`).
* ORM (glTF packing, linear): R = ambient occlusion (multiplies diffuse and specular), G = roughness,
  B = metallic.
* Diffuse: ``albedo · (1 − metallic) · ao · E(n) / π`` with ``E`` the SH irradiance
  (:mod:`assetgen.render.lighting`; papers 1 §4.1 and 3 §3.2). Specular: one GGX lobe (Trowbridge–Reitz ``D``,
  Smith–Schlick ``G`` with ``k = (r + 1)² / 8``, Schlick ``F`` with ``F0 = 0.04`` for dielectrics) lit by the key
  light that explains the SH band-1 term (:func:`~assetgen.render.lighting.dominant_light`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from assetgen.render.lighting import lambertian

__all__ = ["CLAY_ALBEDO_SRGB", "CLAY_ROUGHNESS", "MaterialMaps", "apply_normal_map", "linear_to_srgb", "shade",
           "srgb_to_linear"]

#: sRGB base colour of the untextured "clay" look, per model part (others: ``"skin"``).
CLAY_ALBEDO_SRGB = {"skin": (0.80, 0.64, 0.56), "eye_left": (0.93, 0.93, 0.91), "eye_right": (0.93, 0.93, 0.91),
                    "tongue": (0.72, 0.38, 0.38)}
#: Roughness of the clay look.
CLAY_ROUGHNESS = 0.6
_EPS = 1e-8


def srgb_to_linear(c: torch.Tensor) -> torch.Tensor:
    """IEC 61966-2-1 sRGB decoding of values in [0, 1]."""
    c = c.clamp(0.0, 1.0)
    return torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: torch.Tensor) -> torch.Tensor:
    """IEC 61966-2-1 sRGB encoding; the input is clamped to [0, 1] first."""
    c = c.clamp(0.0, 1.0)
    return torch.where(c <= 0.0031308, c * 12.92, 1.055 * c.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055)


@dataclass(frozen=True, eq=False)
class MaterialMaps:
    """Texture maps packed for one bilinear lookup.

    Attributes:
        maps: ``[1 | B, Ht, Wt, C]`` float32, row 0 = top of the texture (``v = 1``), channels: sRGB albedo in
            [0, 1] (3), then the encoded normal map in [0, 1] (3) if ``has_normal``, then ORM in [0, 1] (3) if
            ``has_orm``.
        has_normal, has_orm: which optional maps are present.
    """

    maps: torch.Tensor
    has_normal: bool
    has_orm: bool

    @classmethod
    def from_tensors(cls, albedo: torch.Tensor, normal: torch.Tensor | None = None, orm: torch.Tensor | None = None,
                     ) -> "MaterialMaps":
        """From float tensors in [0, 1] (or uint8), each ``[Ht, Wt, 3]`` or ``[B, Ht, Wt, 3]``, row 0 = top."""
        parts = []
        for name, t in (("albedo", albedo), ("normal", normal), ("orm", orm)):
            if t is None:
                continue
            t = torch.as_tensor(t)
            t = t.to(torch.float32) / 255.0 if t.dtype == torch.uint8 else t.to(torch.float32)
            if t.ndim == 3:
                t = t[None]
            if t.ndim != 4 or t.shape[-1] != 3:
                raise ValueError(f"textures.{name}: expected [Ht, Wt, 3] or [B, Ht, Wt, 3], got {tuple(t.shape)}")
            if not torch.isfinite(t).all():
                raise ValueError(f"textures.{name}: contains NaN or inf")
            parts.append(t)
        if any(p.shape[1:3] != parts[0].shape[1:3] for p in parts):
            raise ValueError("textures: albedo, normal and orm maps must have the same size")
        batch = max(p.shape[0] for p in parts)
        parts = [p.expand(batch, -1, -1, -1) if p.shape[0] == 1 else p for p in parts]
        if any(p.shape[0] != batch for p in parts):
            raise ValueError("textures: maps have different batch sizes")
        return cls(torch.cat(parts, -1).contiguous(), normal is not None, orm is not None)

    @classmethod
    def from_texture_set(cls, textures, device: torch.device | str | None = None) -> "MaterialMaps":
        """From a :class:`assetgen.textures.TextureSet` (uint8 maps; displacement is not used for shading)."""
        conv = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
        return cls.from_tensors(conv(textures.albedo), conv(textures.normal), conv(textures.orm))

    @property
    def batch_size(self) -> int:
        return int(self.maps.shape[0])

    def to(self, device: torch.device | str) -> "MaterialMaps":
        return MaterialMaps(self.maps.to(device), self.has_normal, self.has_orm)


def apply_normal_map(normal: torch.Tensor, tangent: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
    """Perturbed unit normals ``[..., 3]`` from interpolated ``normal [..., 3]``, ``tangent [..., 4]`` (xyz, w) and
    an ``encoded [..., 3]`` tangent-space normal-map sample in [0, 1]."""
    n = normal / normal.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    t = tangent[..., :3] - n * (n * tangent[..., :3]).sum(-1, keepdim=True)
    t = t / t.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    w = torch.where(tangent[..., 3:4] < 0, -1.0, 1.0).to(n.dtype)
    b = w * torch.linalg.cross(n, t, dim=-1)
    m = encoded * 2.0 - 1.0
    out = t * m[..., 0:1] + b * m[..., 1:2] + n * m[..., 2:3]
    return out / out.norm(dim=-1, keepdim=True).clamp_min(_EPS)


def shade(albedo: torch.Tensor, normal: torch.Tensor, view: torch.Tensor, sh: torch.Tensor, *,
          ao: torch.Tensor | None = None, roughness: torch.Tensor | float = CLAY_ROUGHNESS,
          metallic: torch.Tensor | float = 0.0, key_dir: torch.Tensor | None = None,
          key_rgb: torch.Tensor | None = None) -> torch.Tensor:
    """Linear outgoing radiance ``[..., 3]``.

    Args:
        albedo: ``[..., 3]`` linear base colour.
        normal: ``[..., 3]`` unit shading normal (facing the viewer).
        view: ``[..., 3]`` unit direction from the surface to the eye.
        sh: ``[..., 9, 3]`` (or ``[9, 3]``) radiance SH coefficients.
        ao, roughness, metallic: ``[..., 1]`` or scalars (ORM channels); ``ao`` defaults to 1.
        key_dir, key_rgb: ``[..., 3]`` key light toward the light / its colour (``directional_sh`` scale); no
            specular term when omitted.
    """
    metallic_t = torch.as_tensor(metallic, dtype=albedo.dtype, device=albedo.device)
    diffuse = albedo * (1.0 - metallic_t) * lambertian(normal, sh).clamp_min(0.0)
    if ao is not None:
        diffuse = diffuse * ao
    if key_dir is None or key_rgb is None:
        return diffuse
    rough = torch.as_tensor(roughness, dtype=albedo.dtype, device=albedo.device).clamp(0.04, 1.0)
    h = key_dir + view
    h = h / h.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    nl = (normal * key_dir).sum(-1, keepdim=True).clamp_min(0.0)
    nv = (normal * view).sum(-1, keepdim=True).clamp_min(1e-4)
    nh = (normal * h).sum(-1, keepdim=True).clamp_min(0.0)
    vh = (view * h).sum(-1, keepdim=True).clamp_min(0.0)
    a2 = (rough * rough) ** 2
    d = a2 / (math.pi * (nh * nh * (a2 - 1.0) + 1.0) ** 2)
    k = (rough + 1.0) ** 2 / 8.0
    g = nl / (nl * (1.0 - k) + k) * nv / (nv * (1.0 - k) + k)
    f0 = 0.04 * (1.0 - metallic_t) + albedo * metallic_t
    fresnel = f0 + (1.0 - f0) * (1.0 - vh) ** 5
    # radiance = f_spec · E_key · (n·l), with E_key = π · key_rgb at normal incidence
    specular = d * g * fresnel / (4.0 * nv) * key_rgb * math.pi
    if ao is not None:
        specular = specular * ao
    return diffuse + specular
