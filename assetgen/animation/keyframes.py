"""Keyframes with easing → :class:`~assetgen.animation.Sequence`.

A track is a list of keys ``(time_s, value)`` or ``(time_s, value, ease)``; ``value`` is a float for an
expression channel and an axis-angle ``(x, y, z)`` in radians for a rotation joint. ``ease`` shapes the segment
that **leaves** the key (up to the next key):

=============  ===========================================================
``linear``     straight line (default)
``ease_in``    cubic ``u³`` (slow start)
``ease_out``   cubic ``1 − (1 − u)³`` (slow stop)
``ease_in_out`` cubic smooth step: ``4u³`` for ``u < ½``, ``1 − (−2u + 2)³ / 2`` after
``hold``       the key's value until the next key (step)
=============  ===========================================================

Before the first key a track holds the first value; after the last, the last value.

Example::

    seq = from_keyframes({"jawOpen": [(0, 0), (0.2, 0.8, "ease_out"), (0.5, 0)]},
                         rotations={"jaw": [(0, (0, 0, 0)), (0.2, (0.15, 0, 0))]}, fps=30)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assetgen.animation.sequence import ROTATION_JOINTS, Sequence

__all__ = ["EASINGS", "Key", "ease", "evaluate", "from_keyframes"]

EASINGS = ("linear", "ease_in", "ease_out", "ease_in_out", "hold")


@dataclass(frozen=True)
class Key:
    """One key: ``time`` seconds, ``value`` (float, or axis-angle radians ``[3]``), ``ease`` of the segment
    leaving it (one of :data:`EASINGS`)."""

    time: float
    value: object
    ease: str = "linear"


def ease(name: str, u):
    """Eased fraction for segment progress ``u`` in [0, 1] (array or float)."""
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    if name == "linear":
        return u
    if name == "ease_in":
        return u ** 3
    if name == "ease_out":
        return 1.0 - (1.0 - u) ** 3
    if name == "ease_in_out":
        return np.where(u < 0.5, 4.0 * u ** 3, 1.0 - (-2.0 * u + 2.0) ** 3 / 2.0)
    if name == "hold":
        return np.where(u >= 1.0, 1.0, 0.0)
    raise ValueError(f"ease: unknown easing {name!r}; expected one of {list(EASINGS)}")


def _keys(track: str, keys, width: int) -> list[Key]:
    out = []
    for i, k in enumerate(keys):
        if not isinstance(k, Key):
            if not isinstance(k, (tuple, list)) or len(k) not in (2, 3):
                raise ValueError(f"keyframes[{track!r}][{i}]: expected (time, value) or (time, value, ease), "
                                 f"got {k!r}")
            k = Key(*k)
        t = float(k.time)
        v = np.asarray(k.value, dtype=np.float64).reshape(-1)
        if v.size != width:
            raise ValueError(f"keyframes[{track!r}][{i}]: expected a value of {width} number(s), got {k.value!r}")
        if not np.isfinite(t) or t < 0 or not np.isfinite(v).all():
            raise ValueError(f"keyframes[{track!r}][{i}]: time must be >= 0 and values finite, got {k!r}")
        if k.ease not in EASINGS:
            raise ValueError(f"keyframes[{track!r}][{i}]: unknown easing {k.ease!r}; expected one of "
                             f"{list(EASINGS)}")
        if out and t <= out[-1].time:
            raise ValueError(f"keyframes[{track!r}][{i}]: key times must strictly increase "
                             f"({out[-1].time:g} s then {t:g} s)")
        out.append(Key(t, v, k.ease))
    if not out:
        raise ValueError(f"keyframes[{track!r}]: expected at least one key")
    return out


def evaluate(keys, times) -> np.ndarray:
    """Values of a track at ``times`` (seconds): ``[N, width]``."""
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    width = np.asarray(keys[0].value if isinstance(keys[0], Key) else keys[0][1]).size
    ks = _keys("track", keys, width)
    kt = np.array([k.time for k in ks])
    kv = np.stack([k.value for k in ks])
    if len(ks) == 1:
        return np.repeat(kv, times.size, 0)
    i = np.clip(np.searchsorted(kt, times, side="right") - 1, 0, len(ks) - 2)
    u = np.clip((times - kt[i]) / (kt[i + 1] - kt[i]), 0.0, 1.0)
    f = np.empty_like(u)
    for name in EASINGS:
        m = np.array([ks[j].ease == name for j in i], bool) if i.size else np.zeros(0, bool)
        if m.any():
            f[m] = ease(name, u[m])
    out = kv[i] + (kv[i + 1] - kv[i]) * f[:, None]
    out[times < kt[0]] = kv[0]
    return out


def from_keyframes(weights: dict | None = None, rotations: dict | None = None, *, fps: float = 30.0,
                   duration: float | None = None, name: str = "keyframes") -> Sequence:
    """Sample keyframed tracks at ``fps`` into a :class:`Sequence` from 0 to ``duration`` seconds (default: the
    last key of any track). ``weights``: channel name → keys (float values); ``rotations``: logical joint
    (``jaw``, ``neck``, ``eye_left``, ``eye_right``) → keys (axis-angle radians)."""
    weights, rotations = dict(weights or {}), dict(rotations or {})
    if not weights and not rotations:
        raise ValueError("keyframes: expected at least one weight or rotation track")
    for j in rotations:
        if j not in ROTATION_JOINTS:
            raise ValueError(f"rotations: unknown joint {j!r}; expected one of {list(ROTATION_JOINTS)}")
    tracks = {c: _keys(c, k, 1) for c, k in weights.items()}
    rtracks = {j: _keys(j, k, 3) for j, k in rotations.items()}
    last = max(k[-1].time for k in [*tracks.values(), *rtracks.values()])
    end = last if duration is None else float(duration)
    if not np.isfinite(end) or end < 0:
        raise ValueError(f"duration: expected a non-negative number of seconds, got {duration!r}")
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps: expected a positive number, got {fps!r}")
    n = int(np.floor(end * fps + 1e-6))
    times = np.arange(n + 1) / fps
    if end - times[-1] > 1e-6:
        times = np.append(times, end)
    channels = tuple(tracks)
    w = np.stack([evaluate(tracks[c], times)[:, 0] for c in channels], 1) if channels else None
    rot = {j: evaluate(ks, times) for j, ks in rtracks.items()}
    return Sequence(times, channels, w, rot, name)
