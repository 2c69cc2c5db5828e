"""A texture set as files: the PNGs (and displacement metadata) that bundles and quick looks write."""

from __future__ import annotations

from assetgen.io import encode_png, json_bytes
from assetgen.textures.types import TextureSet

__all__ = ["texture_files"]


def texture_files(textures: TextureSet, *, compress_level: int = 1) -> dict[str, bytes]:
    """File name → bytes: ``albedo.png`` (sRGB), ``normal.png``, ``orm.png`` (8-bit RGB, linear),
    ``displacement.png`` (16-bit grey) and ``displacement.json`` (meters = offset_m + value / 65535 * scale_m).
    Deterministic: equal maps give equal bytes."""
    return {
        "albedo.png": encode_png(textures.albedo, compress_level=compress_level),
        "normal.png": encode_png(textures.normal, compress_level=compress_level),
        "orm.png": encode_png(textures.orm, compress_level=compress_level),
        "displacement.png": encode_png(textures.displacement, compress_level=compress_level),
        "displacement.json": json_bytes({
            "offset_m": textures.displacement_offset_m, "scale_m": textures.displacement_scale_m,
            "meters": "offset_m + value / 65535 * scale_m", "bits": 16}),
    }
