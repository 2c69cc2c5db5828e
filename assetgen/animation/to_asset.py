""":class:`Sequence` → :class:`assetgen.asset.Animation` (glTF/FBX clip), and attaching clips to a head asset.

Morph weights come out in the asset's morph-target order (channels the sequence does not animate get 0);
rotations become unit quaternions ``(x, y, z, w)`` on the model's joints:

==============  ======================================  ==========================
logical joint   open head                               FLAME
==============  ======================================  ==========================
``neck``        ``neck01``, ``neck02``, ``neck03``,     ``neck``
                ``head``: each a quarter of the angle
                (same axis, so they compose to it; as
                :data:`assetgen.heads.open_head.NECK_JOINTS`)
``jaw``         ``jaw``                                 ``jaw``
``eye_left``    ``eye.L``                               ``eye_left``
``eye_right``   ``eye.R``                               ``eye_right``
==============  ======================================  ==========================

Clip times start at 0 (the sequence's start is subtracted).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from assetgen.animation.sequence import Sequence
from assetgen.asset.types import Animation, HeadAsset
from assetgen.control import ARKIT_52

__all__ = ["JOINT_MAPS", "attach_animations", "rotvec_to_quat", "sequence_to_animation", "target_kind"]

NECK_JOINTS = ("neck01", "neck02", "neck03", "head")  # = assetgen.heads.open_head.NECK_JOINTS (test checks)

#: Model kind → logical joint → ``[(model joint, fraction of the angle)]``.
JOINT_MAPS: dict[str, dict[str, list[tuple[str, float]]]] = {
    "arkit": {"neck": [(j, 1.0 / len(NECK_JOINTS)) for j in NECK_JOINTS], "jaw": [("jaw", 1.0)],
              "eye_left": [("eye.L", 1.0)], "eye_right": [("eye.R", 1.0)]},
    "flame": {"neck": [("neck", 1.0)], "jaw": [("jaw", 1.0)], "eye_left": [("eye_left", 1.0)],
              "eye_right": [("eye_right", 1.0)]},
}


def _names(target) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(morph target names, joint names) of a head model or asset."""
    if isinstance(target, HeadAsset):
        return tuple(target.morph_target_names), tuple(target.skeleton.names)
    morphs = getattr(target, "expression_names", None)
    joints = getattr(target, "joint_names", None)
    if morphs is None or joints is None:
        raise ValueError(f"model: expected a head model or HeadAsset, got {type(target).__name__}")
    return tuple(morphs), tuple(joints)


def target_kind(target=None) -> str:
    """``"arkit"`` (the open head: ARKit morph targets) or ``"flame"`` for a model, asset, ``"open"`` or
    ``"flame"`` (``None`` = open)."""
    if target is None or target == "open":
        return "arkit"
    if target == "flame":
        return "flame"
    if isinstance(target, str):
        raise ValueError(f"model: expected 'open', 'flame', a head model or a HeadAsset, got {target!r}")
    morphs, _ = _names(target)
    return "arkit" if set(ARKIT_52) <= set(morphs) else "flame"


def rotvec_to_quat(rotvec: np.ndarray) -> np.ndarray:
    """``[..., 3]`` axis-angle radians → ``[..., 4]`` unit quaternions ``(x, y, z, w)``."""
    rotvec = np.asarray(rotvec, dtype=np.float64)
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(a/2)/a with its series near 0
    k = np.where(angle > 1e-8, np.sin(half) / np.where(angle > 1e-8, angle, 1.0), 0.5 - angle ** 2 / 48.0)
    return np.concatenate([rotvec * k, np.cos(half)], axis=-1)


def sequence_to_animation(seq: Sequence, model, name: str | None = None) -> Animation:
    """The clip of ``seq`` for ``model`` (a head model or a :class:`HeadAsset`), named ``name`` (default
    ``seq.name``). ``ValueError`` when the sequence's channels are not the model's morph targets (an ARKit
    sequence on FLAME, ``expr012`` on a 10-coefficient FLAME) or its joints are missing."""
    if not isinstance(seq, Sequence):
        raise ValueError(f"seq: expected a Sequence, got {type(seq).__name__}")
    morphs, joints = _names(model)
    kind = target_kind(model)
    unknown = [c for c in seq.channels if c not in morphs]
    if unknown:
        what = ("ARKit channels need the open head, or conversion through the FLAME model's ARKit mapping first: "
                "assetgen.animation.retarget.for_model(seq, model)" if seq.kind == "arkit"
                and kind == "flame" else f"the model has {len(morphs)} morph targets")
        raise ValueError(f"sequence {seq.name!r}: channels {unknown[:5]}{'…' if len(unknown) > 5 else ''} are not "
                         f"morph targets of this model ({what})")
    times = (seq.times - seq.start).astype(np.float32)
    if times.size > 1 and not (np.diff(times) > 0).all():
        raise ValueError(f"sequence {seq.name!r}: frames closer than float32 resolution; resample it")
    weights = None
    if seq.channels:
        weights = np.zeros((seq.num_frames, len(morphs)), np.float32)
        cols = [morphs.index(c) for c in seq.channels]
        weights[:, cols] = seq.weights
    rotations = {}
    for logical, rot in seq.rotations.items():
        for joint, fraction in JOINT_MAPS[kind][logical]:
            if joint not in joints:
                raise ValueError(f"sequence {seq.name!r}: joint {joint!r} (for {logical!r}) is not in the model's "
                                 f"skeleton {list(joints)}")
            q = rotvec_to_quat(rot * fraction)
            q /= np.linalg.norm(q, axis=1, keepdims=True)
            rotations[joint] = q.astype(np.float32)
    if weights is None and not rotations:
        raise ValueError(f"sequence {seq.name!r}: animates nothing (no channels and no rotations)")
    return Animation(name or seq.name, times=times, morph_weights=weights, joint_rotations=rotations)


def attach_animations(asset: HeadAsset, clips, *, replace: bool = False) -> HeadAsset:
    """``asset`` with ``clips`` (:class:`Sequence` or :class:`Animation` items) added to its animations
    (after the existing ones, or instead of them with ``replace=True``). Clip names must be unique."""
    new = tuple(sequence_to_animation(c, asset) if isinstance(c, Sequence) else c for c in clips)
    for c in new:
        if not isinstance(c, Animation):
            raise ValueError(f"clips: expected Sequence or Animation items, got {type(c).__name__}")
    anims = new if replace else tuple(asset.animations) + new
    names = [a.name for a in anims]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"clips: clip names must be unique within the asset, repeated: {dup}")
    return dataclasses.replace(asset, animations=anims)
