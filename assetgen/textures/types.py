"""The texture set of one head, as the exporters and the renderer consume it.

Image arrays are stored with row 0 at the top of the texture (``v = 1`` in the model's OBJ-style UVs; see
:mod:`assetgen.geometry`), ready to be written as PNG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TextureSet"]


@dataclass(frozen=True, eq=False)
class TextureSet:
    """A head's PBR maps in the model's UV layout.

    Attributes:
        albedo: ``[H, W, 3]`` uint8, sRGB base colour with no lighting baked in.
        normal: ``[H, W, 3]`` uint8, tangent-space normal map, glTF/OpenGL convention (+Y = increasing ``v``),
            encoded as ``(n + 1) / 2 * 255``; tangents are :func:`assetgen.geometry.vertex_tangents`.
        orm: ``[H, W, 3]`` uint8, linear: R ambient occlusion, G roughness, B metallic (glTF packing).
        displacement: ``[H, W]`` uint16; meters along the normal are
            ``displacement_offset_m + displacement / 65535 * displacement_scale_m``.
        displacement_offset_m: meters at code 0 (negative: the map pushes in and out).
        displacement_scale_m: meters between codes 0 and 65535.
        provenance: generator name and version, seed and the controls that produced the maps.
    """

    albedo: np.ndarray
    normal: np.ndarray
    orm: np.ndarray
    displacement: np.ndarray
    displacement_offset_m: float
    displacement_scale_m: float
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        h, w = self.albedo.shape[:2]
        for name, dtype, channels in (("albedo", np.uint8, 3), ("normal", np.uint8, 3), ("orm", np.uint8, 3),
                                      ("displacement", np.uint16, None)):
            a = getattr(self, name)
            shape = (h, w) if channels is None else (h, w, channels)
            if not isinstance(a, np.ndarray) or a.dtype != dtype or a.shape != shape:
                got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                raise ValueError(f"TextureSet.{name}: expected a {np.dtype(dtype)} array of shape {shape}, got {got}")
        if not (self.displacement_scale_m > 0 and np.isfinite(self.displacement_scale_m)):
            raise ValueError(f"TextureSet.displacement_scale_m: expected a positive number of meters, "
                             f"got {self.displacement_scale_m}")
        if not np.isfinite(self.displacement_offset_m):
            raise ValueError("TextureSet.displacement_offset_m: expected a finite number of meters")

    @property
    def size(self) -> int:
        """Texture width in texels (maps are square)."""
        return int(self.albedo.shape[1])

    def displacement_meters(self) -> np.ndarray:
        """``[H, W]`` float32 displacement along the normal, meters."""
        return (self.displacement_offset_m
                + self.displacement.astype(np.float32) / 65535.0 * self.displacement_scale_m).astype(np.float32)
