"""Texture maps of a head: the :class:`TextureSet` type and the procedural texture model."""

from assetgen.textures.types import TextureSet

__all__ = ["TextureSet"]
