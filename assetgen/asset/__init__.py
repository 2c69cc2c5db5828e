"""The game-ready head asset: parts per LOD, skeleton and skin, morph targets, materials, provenance.

Public API::

    from assetgen.asset import build_head_asset
    asset = build_head_asset(model, shape, textures, lods=3, provenance={...})   # HeadAsset
    glb = exporters.gltf.export_glb(asset)                                       # bytes
"""

from assetgen.asset.build import LOD_RATIO, MAX_LODS, build_head_asset, material_for_part
from assetgen.asset.lod import Decimation, decimate, decimate_part
from assetgen.asset.skinning import limit_influences
from assetgen.asset.types import (
    MAX_INFLUENCES,
    Animation,
    HeadAsset,
    LevelOfDetail,
    Material,
    MeshPart,
    Skeleton,
    TextureImage,
)

__all__ = [
    "Animation", "Decimation", "HeadAsset", "LevelOfDetail", "LOD_RATIO", "MAX_INFLUENCES", "MAX_LODS", "Material",
    "MeshPart", "Skeleton", "TextureImage", "build_head_asset", "decimate", "decimate_part", "limit_influences",
    "material_for_part",
]
