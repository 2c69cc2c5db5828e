"""Shared test data for the asset and exporter tests: ARKit names and a small synthetic TextureSet."""

from __future__ import annotations

import numpy as np

from assetgen.textures import TextureSet

#: Apple ARKit's 52 face blendshape names, in the order the open head lists them.
ARKIT_52 = (
    "browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff cheekSquintLeft "
    "cheekSquintRight eyeBlinkLeft eyeBlinkRight eyeLookDownLeft eyeLookDownRight eyeLookInLeft eyeLookInRight "
    "eyeLookOutLeft eyeLookOutRight eyeLookUpLeft eyeLookUpRight eyeSquintLeft eyeSquintRight eyeWideLeft "
    "eyeWideRight jawForward jawLeft jawOpen jawRight mouthClose mouthDimpleLeft mouthDimpleRight mouthFrownLeft "
    "mouthFrownRight mouthFunnel mouthLeft mouthLowerDownLeft mouthLowerDownRight mouthPressLeft mouthPressRight "
    "mouthPucker mouthRight mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthSmileLeft "
    "mouthSmileRight mouthStretchLeft mouthStretchRight mouthUpperUpLeft mouthUpperUpRight noseSneerLeft "
    "noseSneerRight tongueOut"
).split()


def make_textures(size: int = 64, seed: int = 0) -> TextureSet:
    rng = np.random.default_rng(seed)
    return TextureSet(
        albedo=rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        normal=np.broadcast_to(np.array([128, 128, 255], np.uint8), (size, size, 3)).copy(),
        orm=rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        displacement=np.zeros((size, size), np.uint16), displacement_offset_m=-0.001, displacement_scale_m=0.002,
        provenance={"generator": "test", "seed": seed},
    )
