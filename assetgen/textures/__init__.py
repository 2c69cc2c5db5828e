"""Texture maps of a head: the :class:`TextureSet` type, UV-space baking and the procedural texture model.

Public API::

    from assetgen.textures import generate_textures
    tex = generate_textures(model, controls={"skin_tone": 5.0, "freckles": 0.3}, seed=7, size=1024)
"""

from assetgen.textures.bake import (bake_ambient_occlusion, bake_normal_map, displaced_mesh,
                                    vertex_ambient_occlusion)
from assetgen.textures.procedural import (DISPLACEMENT_RANGE_M, GENERATOR_NAME, GENERATOR_VERSION, TextureBatch,
                                          describe_controls, generate_texture_batch, generate_textures,
                                          resolve_controls)
from assetgen.textures.types import TextureSet

__all__ = ["TextureSet", "TextureBatch", "generate_textures", "generate_texture_batch", "resolve_controls",
           "describe_controls", "bake_normal_map", "bake_ambient_occlusion", "vertex_ambient_occlusion",
           "displaced_mesh", "DISPLACEMENT_RANGE_M", "GENERATOR_NAME", "GENERATOR_VERSION"]
