"""The preset library: named, deterministic expression sequences.

``preset(name, model, duration=None, fps=30, seed=0)`` → :class:`~assetgen.animation.Sequence` named ``name``.
Weights are ARKit blendshape names; rotations are axis-angle radians on the logical joints (``jaw``, ``neck``,
``eye_left``, ``eye_right``). ``seed`` changes only the random presets (talk, idle); the same arguments give
the same frames.

=============  ==========  ======================================================  =========================
preset         default s   what moves                                              on FLAME heads
=============  ==========  ======================================================  =========================
blink          0.5         eyeBlinkLeft/Right                                      through the mapping
double_blink   0.9         two blinks                                              through the mapping
smile          1.5         mouthSmile, cheekSquint, eyeSquint (in, hold, out)      through the mapping
frown          1.5         mouthFrown, browDown, mouthPress                        through the mapping
surprise       1.5         browInnerUp, browOuterUp, eyeWide, jawOpen + jaw        through the mapping
anger          1.5         browDown, eyeSquint, noseSneer, mouthPress              through the mapping
disgust        1.5         noseSneer, mouthUpperUp, browDown, cheekSquint          through the mapping
talk           2.0         viseme loop (jawOpen, mouthFunnel/Pucker/Close/          through the mapping
                           Stretch/RollLower…) + jaw rotation, ends at rest
idle           4.0         slow brow/mouth/cheek drift, blinks, neck sway           through the mapping
look_around    3.0         eye rotations + eyeLook* weights                         without mapping too
nod            1.5         neck pitch (two nods)                                    without mapping too
shake          1.5         neck yaw (two shakes)                                    without mapping too
=============  ==========  ======================================================  =========================

FLAME heads: every preset works on a loaded FLAME model, its ARKit weights turned into FLAME expression
coefficients by the model's ARKit→FLAME mapping (:mod:`assetgen.animation.retarget`, fitted geometrically on
first use); the last column says which presets need no mapping (rotations only) and so also work for
``"flame"`` or a FLAME ``HeadAsset``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from assetgen.animation.keyframes import from_keyframes
from assetgen.animation.sequence import Sequence
from assetgen.animation.to_asset import target_kind

__all__ = ["JAW_PER_OPEN", "PRESETS", "PresetInfo", "pose_clip", "preset", "preset_names", "presets_for"]

JAW_PER_OPEN = 0.25
"""Jaw rotation (radians about +x) that goes with ``jawOpen = 1`` in the presets."""


@dataclass(frozen=True)
class PresetInfo:
    """One preset: ``default_s`` seconds; ``flame``: usable on FLAME heads (with rotations only)."""

    name: str
    build: Callable[[float, float, int], Sequence]
    default_s: float
    flame: bool
    doc: str


def _pair(base: str, value: float) -> dict[str, float]:
    return {f"{base}Left": value, f"{base}Right": value}


def pose_clip(weights: dict[str, float], duration: float, fps: float, name: str, ramp: float = 0.3,
              jaw: float = 0.0, rotations: dict | None = None) -> Sequence:
    """Ease into ``weights`` (ARKit name → weight) over ``ramp`` s, hold, ease out to neutral at ``duration``
    seconds. ``jaw``: a ``jawOpen``-like amount turned into a jaw rotation (:data:`JAW_PER_OPEN` rad per unit);
    ``rotations``: logical joint → axis-angle ``(x, y, z)`` radians, held the same way."""
    ramp = min(ramp, duration / 3)

    def keys(v):
        return [(0.0, 0.0 * v, "ease_in_out"), (ramp, v, "linear"), (duration - ramp, v, "ease_in_out"),
                (duration, 0.0 * v, "linear")]

    rot = {"jaw": [(t, (v * JAW_PER_OPEN, 0.0, 0.0), e) for t, v, e in keys(jaw)]} if jaw else {}
    for joint, r in (rotations or {}).items():
        rot[joint] = [(t, tuple(float(x) for x in v), e) for t, v, e in keys(np.asarray(r, dtype=np.float64))]
    return from_keyframes({c: keys(v) for c, v in weights.items()}, rot or None, fps=fps, duration=duration,
                          name=name)


def _blinks(starts, duration: float, fps: float, name: str) -> Sequence:
    keys = [(0.0, 0.0)]
    for s in starts:
        keys += [(s, 0.0, "ease_in"), (s + 0.08, 1.0, "linear"), (s + 0.12, 1.0, "ease_out"), (s + 0.3, 0.0)]
    keys = [k for i, k in enumerate(keys) if i == 0 or k[0] > keys[i - 1][0]]
    return from_keyframes({c: keys for c in ("eyeBlinkLeft", "eyeBlinkRight")}, fps=fps, duration=duration,
                          name=name)


def _blink(d, fps, seed):
    return _blinks([0.05], d, fps, "blink")


def _double_blink(d, fps, seed):
    return _blinks([0.05, 0.45], d, fps, "double_blink")


def _smile(d, fps, seed):
    return pose_clip({**_pair("mouthSmile", 0.8), **_pair("cheekSquint", 0.4), **_pair("eyeSquint", 0.2)}, d, fps,
                 "smile")


def _frown(d, fps, seed):
    return pose_clip({**_pair("mouthFrown", 0.7), **_pair("browDown", 0.6), **_pair("mouthPress", 0.2)}, d, fps,
                 "frown")


def _surprise(d, fps, seed):
    return pose_clip({"browInnerUp": 0.9, **_pair("browOuterUp", 0.8), **_pair("eyeWide", 0.7), "jawOpen": 0.4}, d,
                 fps, "surprise", ramp=0.15, jaw=0.4)


def _anger(d, fps, seed):
    return pose_clip({**_pair("browDown", 0.9), **_pair("eyeSquint", 0.5), **_pair("noseSneer", 0.4),
                  **_pair("mouthPress", 0.5)}, d, fps, "anger")


def _disgust(d, fps, seed):
    return pose_clip({**_pair("noseSneer", 0.8), **_pair("mouthUpperUp", 0.6), **_pair("browDown", 0.3),
                  **_pair("cheekSquint", 0.3)}, d, fps, "disgust")


#: Viseme shapes of the talk loop (ARKit weights).
VISEMES = {
    "AA": {"jawOpen": 0.6, **_pair("mouthStretch", 0.1)},
    "O": {"jawOpen": 0.4, "mouthFunnel": 0.6},
    "U": {"jawOpen": 0.15, "mouthPucker": 0.7},
    "MBP": {"jawOpen": 0.05, "mouthClose": 0.5, **_pair("mouthPress", 0.3)},
    "E": {"jawOpen": 0.25, **_pair("mouthStretch", 0.4)},
    "FV": {"jawOpen": 0.1, "mouthRollLower": 0.5, **_pair("mouthUpperUp", 0.2)},
    "rest": {},
}


def _talk(d, fps, seed):
    rng = np.random.default_rng(seed)
    names = [v for v in VISEMES if v != "rest"]
    channels = sorted({c for v in VISEMES.values() for c in v})
    keys: dict[str, list] = {c: [(0.0, 0.0, "ease_in_out")] for c in channels}
    t = 0.1
    while t < d - 0.25:
        shape = VISEMES["rest" if rng.random() < 0.12 else names[rng.integers(len(names))]]
        amp = 0.7 + 0.3 * rng.random()
        for c in channels:
            keys[c].append((t, shape.get(c, 0.0) * amp, "ease_in_out"))
        t += 0.1 + 0.1 * rng.random()
    for c in channels:
        keys[c].append((d, 0.0))
    jaw = [(k[0], (k[1] * JAW_PER_OPEN, 0.0, 0.0), "ease_in_out") for k in keys["jawOpen"]]
    return from_keyframes(keys, {"jaw": jaw}, fps=fps, duration=d, name="talk")


def _idle(d, fps, seed):
    rng = np.random.default_rng(seed)
    n = int(np.floor(d * fps + 1e-6))
    times = np.arange(n + 1) / fps
    if d - times[-1] > 1e-6:
        times = np.append(times, d)

    def drift(amp: float) -> np.ndarray:  # sum of slow sines, ≥ 0, 0 at both ends
        f = rng.uniform(0.15, 0.6, 3)
        ph = rng.uniform(0, 2 * np.pi, 3)
        s = sum(np.sin(2 * np.pi * fi * times + p) for fi, p in zip(f, ph)) / 3
        return amp * 0.5 * (1 + s) * np.sin(np.pi * times / d) ** 2

    chans = {"browInnerUp": drift(0.15), "browDownLeft": drift(0.08), "browDownRight": drift(0.08),
             "mouthSmileLeft": drift(0.1), "mouthSmileRight": drift(0.1), "cheekSquintLeft": drift(0.05),
             "cheekSquintRight": drift(0.05), "mouthClose": drift(0.05)}
    blink = np.zeros_like(times)
    for s in np.arange(rng.uniform(0.5, 1.5), d - 0.35, rng.uniform(2.5, 3.5)):
        u = (times - s) / 0.3
        blink = np.maximum(blink, np.where((u > 0) & (u < 1), np.sin(np.pi * np.clip(u, 0, 1)) ** 2, 0.0))
    chans["eyeBlinkLeft"] = chans["eyeBlinkRight"] = blink
    neck = np.stack([drift(0.04) - drift(0.04), drift(0.05) - drift(0.05), drift(0.02) - drift(0.02)], 1)
    names = tuple(chans)
    return Sequence(times, names, np.stack([chans[c] for c in names], 1), {"neck": neck}, "idle")


def _look_around(d, fps, seed):
    # (time fraction, yaw, pitch): +yaw looks to the subject's left, -pitch looks up.
    path = [(0.0, 0.0, 0.0), (0.15, 0.0, 0.0), (0.3, 0.35, 0.0), (0.45, 0.35, 0.0), (0.6, -0.35, 0.0),
            (0.72, -0.35, 0.0), (0.82, 0.0, -0.25), (0.9, 0.0, -0.25), (1.0, 0.0, 0.0)]
    rot = [(f * d, (p, y, 0.0), "ease_in_out") for f, y, p in path]
    yaw_max, pitch_max = 0.35, 0.25

    def w(fn) -> list:
        return [(f * d, float(np.clip(fn(y, p), 0, 1)), "ease_in_out") for f, y, p in path]

    weights = {
        "eyeLookOutLeft": w(lambda y, p: y / yaw_max), "eyeLookInRight": w(lambda y, p: y / yaw_max),
        "eyeLookInLeft": w(lambda y, p: -y / yaw_max), "eyeLookOutRight": w(lambda y, p: -y / yaw_max),
        "eyeLookUpLeft": w(lambda y, p: -p / pitch_max), "eyeLookUpRight": w(lambda y, p: -p / pitch_max),
    }
    return from_keyframes(weights, {"eye_left": rot, "eye_right": rot}, fps=fps, duration=d, name="look_around")


def _cycles(axis: int, amp: float, d: float, fps: float, name: str) -> Sequence:
    keys = [(0.0, (0.0, 0.0, 0.0), "ease_in_out")]
    for i, f in enumerate((0.15, 0.35, 0.55, 0.75)):
        v = [0.0, 0.0, 0.0]
        v[axis] = amp if i % 2 == 0 else -amp * (0.6 if axis == 0 else 1.0)
        keys.append((f * d, tuple(v), "ease_in_out"))
    keys.append((d, (0.0, 0.0, 0.0)))
    return from_keyframes(None, {"neck": keys}, fps=fps, duration=d, name=name)


def _nod(d, fps, seed):
    return _cycles(0, 0.2, d, fps, "nod")


def _shake(d, fps, seed):
    return _cycles(1, 0.3, d, fps, "shake")


PRESETS: dict[str, PresetInfo] = {p.name: p for p in (
    PresetInfo("blink", _blink, 0.5, False, "one blink"),
    PresetInfo("double_blink", _double_blink, 0.9, False, "two quick blinks"),
    PresetInfo("smile", _smile, 1.5, False, "smile in, hold, out"),
    PresetInfo("frown", _frown, 1.5, False, "frown in, hold, out"),
    PresetInfo("surprise", _surprise, 1.5, False, "raised brows, wide eyes, open jaw"),
    PresetInfo("anger", _anger, 1.5, False, "lowered brows, squint, sneer, pressed lips"),
    PresetInfo("disgust", _disgust, 1.5, False, "sneer, raised upper lip"),
    PresetInfo("talk", _talk, 2.0, False, "viseme loop from the seed"),
    PresetInfo("idle", _idle, 4.0, False, "micro-motion: drift, blinks, neck sway"),
    PresetInfo("look_around", _look_around, 3.0, True, "eyes look left, right, up (FLAME: rotations only)"),
    PresetInfo("nod", _nod, 1.5, True, "neck pitch, two nods"),
    PresetInfo("shake", _shake, 1.5, True, "neck yaw, two shakes"),
)}

#: Minimum durations (s) below which a preset's keys would collide.
_MIN_S = {"blink": 0.4, "double_blink": 0.8, "talk": 0.5}


def preset_names() -> list[str]:
    return list(PRESETS)


def _mappable(model) -> bool:
    """A loaded FLAME head model with expression components (its ARKit mapping can be fitted), not a bare
    ``"flame"`` or an asset."""
    return (not isinstance(model, str) and callable(model) and hasattr(model, "regions")
            and int(getattr(model, "num_expression", 0)) > 0)


def _what(model) -> str:
    if isinstance(model, str):
        return repr(model)
    n = getattr(model, "num_expression", None)
    return f"a model with {n} expression components" if n is not None else type(model).__name__


def presets_for(model=None) -> list[str]:
    """The presets usable with ``model``: all of them for the open head and for a loaded FLAME model (ARKit
    presets through the model's ARKit→FLAME mapping, :mod:`assetgen.animation.retarget`); for ``"flame"`` or a
    FLAME ``HeadAsset`` (no model to fit a mapping on) only those marked in the table."""
    kind = target_kind(model)
    return [n for n, p in PRESETS.items() if kind == "arkit" or p.flame or _mappable(model)]


def preset(name: str, model=None, *, duration: float | None = None, fps: float = 30.0, seed: int = 0) -> Sequence:
    """The preset ``name`` as a :class:`Sequence` for ``model`` (a head model, a ``HeadAsset``, ``"open"`` or
    ``"flame"``; ``None`` = the open head). ``duration`` seconds (default: the preset's), sampled at ``fps``.

    On a loaded FLAME model the preset's ARKit weights become FLAME expression coefficients through the
    model's ARKit mapping (fitted on first use and cached); rotations carry over unchanged."""
    info = PRESETS.get(name)
    if info is None:
        raise ValueError(f"preset: unknown preset {name!r}; available presets: {', '.join(PRESETS)}")
    kind = target_kind(model)
    if kind == "flame" and not info.flame and not _mappable(model):
        raise ValueError(f"preset {name!r} uses ARKit blendshapes: it needs the loaded FLAME model with expression "
                         f"components (for its ARKit mapping), not {_what(model)}; presets without blendshapes: "
                         f"{', '.join(presets_for('flame'))}")
    d = info.default_s if duration is None else duration
    try:
        d = float(d)
    except (TypeError, ValueError):
        raise ValueError(f"duration: expected seconds, got {duration!r}") from None
    if not np.isfinite(d) or d < _MIN_S.get(name, 0.3) or d > 600:
        raise ValueError(f"duration: expected {_MIN_S.get(name, 0.3):g}..600 s for preset {name!r}, got {d:g}")
    fps = float(fps)
    if not np.isfinite(fps) or not 1 <= fps <= 240:
        raise ValueError(f"fps: expected 1..240, got {fps:g}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed: expected an integer, got {seed!r}")
    seq = info.build(d, fps, int(seed))
    if kind == "flame":
        if _mappable(model):
            from assetgen.animation.retarget import arkit_mapping

            seq = arkit_mapping(model).convert(seq)
        else:
            seq = seq.replace(channels=(), weights=None)
    return seq
