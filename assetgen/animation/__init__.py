"""Expression sequences: presets, keyframes and Live Link Face captures → glTF/FBX animation clips.

Public API::

    from assetgen import animation
    talk = animation.preset("talk", model, duration=3.0, fps=30, seed=1)     # model: head model or asset
    blink = animation.preset("blink", model)
    seq = talk.blend(blink, mode="add", offset=1.0).loop(2, seamless=True)  # a Sequence (seconds, radians)
    keys = animation.from_keyframes({"jawOpen": [(0, 0), (0.3, 1, "ease_out"), (0.6, 0)]})
    take = animation.read_livelink_csv("take.csv", fps=30)                 # Live Link Face capture
    said = animation.sequence_from_text("smiles, then blinks twice and looks left", model).sequence
    flame_smile = animation.preset("smile", flame_model)                   # ARKit → FLAME via arkit_mapping
    asset = animation.attach_animations(head.asset, [seq, take])           # → HeadAsset.animations
    clip = animation.sequence_to_animation(seq, asset)                     # one assetgen.asset.Animation

Modules: :mod:`~assetgen.animation.sequence` (Sequence and its operations), :mod:`~assetgen.animation.keyframes`
(easing), :mod:`~assetgen.animation.presets` (the preset table, with which work on FLAME),
:mod:`~assetgen.animation.livelink` (CSV import/export), :mod:`~assetgen.animation.to_asset` (clips),
:mod:`~assetgen.animation.text` (text → sequence), :mod:`~assetgen.animation.retarget` (ARKit → FLAME),
:mod:`~assetgen.animation.clips` (the clips an export asks for).
"""

from __future__ import annotations

from assetgen.animation.keyframes import EASINGS, Key, ease, evaluate, from_keyframes
from assetgen.animation.livelink import (
    LIVELINK_BLENDSHAPES,
    LIVELINK_COLUMNS,
    format_timecode,
    parse_timecode,
    read_livelink_csv,
    write_livelink_csv,
)
from assetgen.animation.presets import PRESETS, preset, preset_names, presets_for
from assetgen.animation.retarget import ArkitMapping, arkit_mapping
from assetgen.animation.sequence import ROTATION_JOINTS, Sequence, WeightClampWarning, channel_kind
from assetgen.animation.text import ACTIONS, TextSequenceResult, sequence_from_text
from assetgen.animation.to_asset import attach_animations, rotvec_to_quat, sequence_to_animation, target_kind

__all__ = [
    "Sequence", "ROTATION_JOINTS", "WeightClampWarning", "channel_kind",
    "EASINGS", "Key", "ease", "evaluate", "from_keyframes",
    "PRESETS", "preset", "preset_names", "presets_for",
    "LIVELINK_BLENDSHAPES", "LIVELINK_COLUMNS", "format_timecode", "parse_timecode", "read_livelink_csv",
    "write_livelink_csv",
    "attach_animations", "rotvec_to_quat", "sequence_to_animation", "target_kind",
    "ACTIONS", "TextSequenceResult", "sequence_from_text", "ArkitMapping", "arkit_mapping",
]
