"""A deterministic synthetic :class:`~assetgen.textures.TextureSet` for tests, benchmarks and smoke runs.

It is no skin model: a UV-space pattern (a warm albedo with a coarse checker so that UV mistakes show), a
tangent-space normal map of soft bumps, and an ORM map with varying roughness, so every shading path is used.
"""

from __future__ import annotations

import numpy as np

__all__ = ["synthetic_texture_set"]


def synthetic_texture_set(size: int = 256, seed: int = 0):
    """A ``size × size`` :class:`~assetgen.textures.TextureSet` (row 0 = top, ``v = 1``) that depends only on
    ``size`` and ``seed``."""
    from assetgen.textures.types import TextureSet

    rng = np.random.default_rng(seed)
    r = (np.arange(size) + 0.5) / size
    u, v = np.meshgrid(r, 1.0 - r)  # texel centres: u right, v up (row 0 = v ≈ 1)
    checker = ((np.floor(u * 8) + np.floor(v * 8)) % 2)[..., None]
    base = np.array([0.78, 0.58, 0.48]) + rng.uniform(-0.03, 0.03, 3)
    albedo = base * (0.88 + 0.12 * checker) * (0.9 + 0.1 * np.stack([u, v, 1 - u], -1))
    phase = rng.uniform(0, 2 * np.pi, 2)
    dx = 0.25 * np.sin(2 * np.pi * 12 * u + phase[0])
    dy = 0.25 * np.sin(2 * np.pi * 12 * v + phase[1])
    n = np.stack([dx, dy, np.ones_like(u)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    orm = np.stack([0.85 + 0.15 * checker[..., 0], 0.35 + 0.4 * u, np.zeros_like(u)], -1)
    to8 = lambda a: np.clip(np.round(a * 255), 0, 255).astype(np.uint8)  # noqa: E731
    disp = np.full((size, size), 32768, dtype=np.uint16)
    return TextureSet(albedo=to8(albedo), normal=to8((n + 1) / 2), orm=to8(orm), displacement=disp,
                      displacement_offset_m=-0.001, displacement_scale_m=0.002,
                      provenance={"generator": "assetgen.render.synthetic", "seed": seed})
