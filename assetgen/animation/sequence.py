""":class:`Sequence`: an expression animation before it becomes a glTF/FBX clip.

A sequence is a set of sampled channels on one time axis:

* ``times``: ``[K]`` frame times in **seconds**, strictly increasing (float64);
* ``channels`` + ``weights``: expression channel names and ``[K, T]`` values. Channels are either ARKit
  blendshape names (``"jawOpen"``, the open head's morph targets, :data:`assetgen.control.ARKIT_52`) or FLAME
  expression coefficients ``"expr000"``, ``"expr001"``… (never mixed). A sequence carries only the channels it
  animates; a clip made from it (:func:`assetgen.animation.sequence_to_animation`) gives the others weight 0.
* ``rotations``: logical joint → ``[K, 3]`` axis-angle rotation in **radians** (project frame: +Y up, face
  toward +Z; +x on ``jaw`` opens the mouth, +x on an eye looks down, +y turns left). Logical joints are
  :data:`ROTATION_JOINTS` (``jaw``, ``neck``, ``eye_left``, ``eye_right``); the exporter maps them onto each
  model's skeleton (the open head splits ``neck`` over ``neck01…03`` and ``head``).

Weights outside [0, 1]: ARKit weights are **clamped to [0, 1] with a** :class:`WeightClampWarning` (captures
overshoot by a hair, additive blends can exceed 1); FLAME coefficients are signed and unbounded and are only
checked to be finite. Every other problem (NaN/inf, non-increasing or duplicate times, unknown channel or joint
names, shape mismatches) raises ``ValueError`` naming the field.

Interpolation everywhere is linear (weights and axis-angle components), matching the LINEAR glTF samplers the
exporter writes; for the small rotations of faces (< 0.5 rad) linear axis-angle and slerp differ by < 1e-3 rad.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np

from assetgen.control import ARKIT_52

__all__ = ["ROTATION_JOINTS", "Sequence", "WeightClampWarning", "channel_kind"]

#: Logical rotation joints of a sequence (model-independent names).
ROTATION_JOINTS = ("jaw", "neck", "eye_left", "eye_right")

_ARKIT = frozenset(ARKIT_52)
_FLAME = re.compile(r"^expr\d{3}$")
_EPS = 1e-9


class WeightClampWarning(UserWarning):
    """ARKit weights outside [0, 1] were clamped."""


def channel_kind(names) -> str | None:
    """``"arkit"``, ``"flame"`` or ``None`` (no channels) for channel ``names``; ``ValueError`` naming the
    unknown or mixed names otherwise."""
    names = list(names)
    if not names:
        return None
    arkit = [n for n in names if n in _ARKIT]
    flame = [n for n in names if isinstance(n, str) and _FLAME.match(n)]
    unknown = [n for n in names if n not in _ARKIT and not (isinstance(n, str) and _FLAME.match(n))]
    if unknown:
        import difflib

        hints = {n: difflib.get_close_matches(str(n), ARKIT_52, n=1) for n in unknown}
        hint = "; ".join(f"{n!r}→{h[0]!r}?" for n, h in hints.items() if h)
        raise ValueError(f"channels: unknown channel names {unknown} (expected ARKit blendshape names or FLAME "
                         f"'expr000'…)" + (f"; did you mean {hint}" if hint else ""))
    if arkit and flame:
        raise ValueError(f"channels: mixes ARKit names and FLAME coefficients ({arkit[:3]}…, {flame[:3]}…)")
    return "arkit" if arkit else "flame"


@dataclass(frozen=True, eq=False)
class Sequence:
    """Sampled expression channels and joint rotations on one time axis (see module docstring).

    Attributes:
        times: ``[K]`` float64 frame times, seconds, strictly increasing (K ≥ 1).
        channels: ``T`` unique channel names (ARKit or ``exprNNN``).
        weights: ``[K, T]`` float64 channel values (ARKit in [0, 1]).
        rotations: logical joint (:data:`ROTATION_JOINTS`) → ``[K, 3]`` float64 axis-angle, radians.
        name: clip name used when exported.
    """

    times: np.ndarray
    channels: tuple[str, ...] = ()
    weights: np.ndarray | None = None
    rotations: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "clip"

    def __post_init__(self) -> None:
        times = np.asarray(self.times, dtype=np.float64).reshape(-1) if self.times is not None else None
        if times is None or times.size == 0:
            raise ValueError(f"Sequence({self.name}).times: expected at least one frame time")
        if not np.isfinite(times).all():
            raise ValueError(f"Sequence({self.name}).times: contains NaN or inf")
        if times.size > 1:
            d = np.diff(times)
            if not (d > 0).all():
                i = int(np.argmax(d <= 0))
                what = "duplicate" if d[i] == 0 else "decreasing"
                raise ValueError(f"Sequence({self.name}).times: {what} time at frame {i + 1} "
                                 f"({times[i]:.6f} s then {times[i + 1]:.6f} s); times must strictly increase")
        k = times.size
        channels = tuple(self.channels)
        if len(set(channels)) != len(channels):
            dup = sorted({c for c in channels if channels.count(c) > 1})
            raise ValueError(f"Sequence({self.name}).channels: duplicate names {dup}")
        kind = channel_kind(channels)
        weights = np.zeros((k, 0)) if self.weights is None else np.array(self.weights, dtype=np.float64)
        if weights.shape != (k, len(channels)):
            raise ValueError(f"Sequence({self.name}).weights: expected shape [{k}, {len(channels)}], "
                             f"got {list(weights.shape)}")
        if not np.isfinite(weights).all():
            r, c = np.argwhere(~np.isfinite(weights))[0]
            raise ValueError(f"Sequence({self.name}).weights: NaN or inf in channel {channels[c]!r} at frame {r}")
        if kind == "arkit" and (weights.min(initial=0) < -_EPS or weights.max(initial=0) > 1 + _EPS):
            bad = [channels[c] for c in np.unique(np.argwhere((weights < -_EPS) | (weights > 1 + _EPS))[:, 1])]
            warnings.warn(f"Sequence({self.name}).weights: ARKit weights outside [0, 1] clamped in {bad}",
                          WeightClampWarning, stacklevel=3)
        if kind == "arkit":
            np.clip(weights, 0.0, 1.0, out=weights)
        rotations = {}
        for joint, rot in dict(self.rotations).items():
            if joint not in ROTATION_JOINTS:
                raise ValueError(f"Sequence({self.name}).rotations: unknown joint {joint!r}; expected one of "
                                 f"{list(ROTATION_JOINTS)}")
            r = np.array(rot, dtype=np.float64)
            if r.shape != (k, 3):
                raise ValueError(f"Sequence({self.name}).rotations[{joint!r}]: expected shape [{k}, 3] "
                                 f"(axis-angle radians), got {list(r.shape)}")
            if not np.isfinite(r).all():
                raise ValueError(f"Sequence({self.name}).rotations[{joint!r}]: contains NaN or inf")
            rotations[joint] = r
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("Sequence.name: expected a non-empty string")
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "rotations", rotations)

    # ------------------------------------------------------------------------------------------ basics
    @property
    def num_frames(self) -> int:
        return int(self.times.size)

    @property
    def start(self) -> float:
        return float(self.times[0])

    @property
    def end(self) -> float:
        return float(self.times[-1])

    @property
    def duration(self) -> float:
        """``end - start``, seconds."""
        return self.end - self.start

    @property
    def kind(self) -> str | None:
        """``"arkit"``, ``"flame"`` or ``None`` (rotations only)."""
        return channel_kind(self.channels)

    def channel(self, name: str) -> np.ndarray:
        """``[K]`` values of channel ``name`` (zeros when the sequence does not animate it)."""
        if name in self.channels:
            return self.weights[:, self.channels.index(name)]
        channel_kind([name])
        return np.zeros(self.num_frames)

    def rotation(self, joint: str) -> np.ndarray:
        """``[K, 3]`` axis-angle radians of ``joint`` (zeros when not animated)."""
        if joint not in ROTATION_JOINTS:
            raise ValueError(f"joint: unknown joint {joint!r}; expected one of {list(ROTATION_JOINTS)}")
        return self.rotations.get(joint, np.zeros((self.num_frames, 3)))

    def replace(self, **changes) -> Sequence:
        """A copy with some fields changed (validated again)."""
        values = {"times": self.times, "channels": self.channels, "weights": self.weights,
                  "rotations": self.rotations, "name": self.name}
        values.update(changes)
        return Sequence(**values)

    def with_channels(self, channels) -> Sequence:
        """The same sequence with exactly ``channels`` (missing ones filled with 0, others dropped)."""
        channels = tuple(channels)
        w = np.stack([self.channel(c) for c in channels], 1) if channels else np.zeros((self.num_frames, 0))
        return self.replace(channels=channels, weights=w)

    # ------------------------------------------------------------------------------------------ sampling
    def at(self, t) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Sample at time(s) ``t`` (seconds; clamped to [start, end]): ``(weights [N, T], {joint: [N, 3]})``
        for ``N`` times (``N`` = 1 for a scalar ``t``), linear interpolation."""
        t = np.clip(np.atleast_1d(np.asarray(t, dtype=np.float64)), self.start, self.end)
        if not np.isfinite(t).all():
            raise ValueError("t: expected finite times")
        return _interp(self.times, self.weights, t), {j: _interp(self.times, r, t) for j, r in self.rotations.items()}

    def sample(self, times, name: str | None = None) -> Sequence:
        """A new sequence sampled at ``times`` (seconds, strictly increasing, clamped to the clip)."""
        times = np.asarray(times, dtype=np.float64)
        w, rot = self.at(times)
        return Sequence(times, self.channels, w, rot, name or self.name)

    # ------------------------------------------------------------------------------------------ operations
    def resample(self, fps: float) -> Sequence:
        """Uniform frames every ``1/fps`` s from ``start``; the last frame is ``end`` (kept even when the
        duration is not a whole number of frames, so the clip length is unchanged)."""
        fps = _positive("fps", fps)
        n = int(np.floor(self.duration * fps + 1e-6))
        times = self.start + np.arange(n + 1) / fps
        if self.end - times[-1] > 1e-6:
            times = np.append(times, self.end)
        times[-1] = self.end if abs(times[-1] - self.end) <= 1e-6 else times[-1]
        return self.sample(times)

    def smooth(self, window_s: float) -> Sequence:
        """Centred moving average over ``window_s`` seconds (box filter on the frames, ends held); 0 → a copy.
        Assumes roughly uniform frames (resample first otherwise)."""
        window_s = float(window_s)
        if not np.isfinite(window_s) or window_s < 0:
            raise ValueError(f"window_s: expected a non-negative number of seconds, got {window_s}")
        if self.num_frames < 3 or window_s == 0:
            return self.replace()
        dt = float(np.median(np.diff(self.times)))
        half = int(round(window_s / dt / 2))
        if half < 1:
            return self.replace()
        return self.replace(weights=_box(self.weights, half),
                            rotations={j: _box(r, half) for j, r in self.rotations.items()})

    def trim(self, start: float, end: float) -> Sequence:
        """The part between ``start`` and ``end`` (seconds, in the clip's time), re-timed to start at 0."""
        start, end = float(start), float(end)
        if not (np.isfinite(start) and np.isfinite(end)) or not (self.start <= start < end <= self.end + 1e-9):
            raise ValueError(f"trim: expected {self.start:g} <= start < end <= {self.end:g} s, "
                             f"got start={start:g}, end={end:g}")
        inner = self.times[(self.times > start + 1e-9) & (self.times < end - 1e-9)]
        out = self.sample(np.concatenate([[start], inner, [min(end, self.end)]]))
        return out.replace(times=out.times - start)

    def retime(self, speed: float) -> Sequence:
        """Play ``speed`` times faster (2 → half the duration); times scale about ``start``."""
        speed = _positive("speed", speed)
        return self.replace(times=self.start + (self.times - self.start) / speed)

    def loop(self, count: int, seamless: bool = False, crossfade_s: float = 0.2) -> Sequence:
        """Play ``count`` times back to back. Repetition ``i`` starts at ``i * period`` where ``period`` is the
        duration plus one mean frame step (the last frame of one pass does not coincide with the first of the
        next), or exactly the duration when the clip already ends where it starts. ``seamless``: first cross-fade
        the last ``crossfade_s`` seconds into the first frame (:meth:`make_seamless`)."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"loop: count must be an integer >= 1, got {count!r}")
        seq = self.make_seamless(crossfade_s) if seamless else self
        if count == 1:
            return seq.replace()
        closed = seq._ends_where_it_starts()
        step = 0.0 if seq.num_frames < 2 else float(np.mean(np.diff(seq.times)))
        if seq.num_frames < 2:
            step = 1.0 / 30
        period = seq.duration if closed else seq.duration + step
        body = slice(0, -1) if closed else slice(None)
        parts_t, parts_w, parts_r = [], [], {j: [] for j in seq.rotations}
        for i in range(count):
            last = i == count - 1
            sl = slice(None) if last else body
            parts_t.append(seq.times[sl] + i * period)
            parts_w.append(seq.weights[sl])
            for j, r in seq.rotations.items():
                parts_r[j].append(r[sl])
        return seq.replace(times=np.concatenate(parts_t), weights=np.concatenate(parts_w),
                           rotations={j: np.concatenate(v) for j, v in parts_r.items()})

    def make_seamless(self, crossfade_s: float = 0.2) -> Sequence:
        """Cross-fade the last ``crossfade_s`` seconds linearly into the first frame, so the clip ends exactly
        where it starts (a glTF player looping it shows no jump)."""
        crossfade_s = float(crossfade_s)
        if not np.isfinite(crossfade_s) or crossfade_s <= 0:
            raise ValueError(f"crossfade_s: expected a positive number of seconds, got {crossfade_s}")
        if self.num_frames < 2:
            return self.replace()
        fade = np.clip((self.times - (self.end - crossfade_s)) / crossfade_s, 0.0, 1.0)[:, None]
        w = self.weights * (1 - fade) + self.weights[:1] * fade
        rot = {j: r * (1 - fade) + r[:1] * fade for j, r in self.rotations.items()}
        return self.replace(weights=w, rotations=rot)

    def blend(self, other: Sequence, mode: str = "add", weight: float = 1.0, offset: float = 0.0,
              name: str | None = None) -> Sequence:
        """Layer ``other`` (starting ``offset`` s after this clip's start) over this one.

        ``mode="add"``: values += ``weight`` × other (rotations add as axis-angle; ARKit weights clamp to
        [0, 1] silently: an additive layer saturating is expected). ``mode="override"``: on the channels and
        joints ``other`` animates and inside its time span, values = lerp(self, other, ``weight``).
        The result has the union of channels and joints and the union of both frame times (other's shifted).
        """
        if mode not in ("add", "override"):
            raise ValueError(f"mode: expected 'add' or 'override', got {mode!r}")
        weight, offset = float(weight), float(offset)
        if not (np.isfinite(weight) and 0.0 <= weight <= 1.0 if mode == "override" else np.isfinite(weight)):
            raise ValueError(f"weight: expected a finite number (in [0, 1] for override), got {weight}")
        if not np.isfinite(offset):
            raise ValueError(f"offset: expected a finite number of seconds, got {offset}")
        if not isinstance(other, Sequence):
            raise ValueError(f"other: expected a Sequence, got {type(other).__name__}")
        channels = self.channels + tuple(c for c in other.channels if c not in self.channels)
        kind = channel_kind(channels)  # refuses ARKit + FLAME
        o_times = other.times + self.start + offset
        times = np.union1d(self.times, o_times)
        times = times[np.concatenate([[True], np.diff(times) > 1e-9])]
        aw, ar = self.with_channels(channels).at(np.clip(times, self.start, self.end))
        bw, br = other.with_channels(channels).at(np.clip(times - self.start - offset, other.start, other.end))
        zero = np.zeros((times.size, 3))
        joints = sorted(set(ar) | set(br))
        inside = ((times >= o_times[0] - 1e-9) & (times <= o_times[-1] + 1e-9))[:, None]
        if mode == "add":
            w = aw + weight * bw * inside
            if kind == "arkit":
                w = np.clip(w, 0.0, 1.0)
            rot = {j: ar.get(j, zero) + weight * br.get(j, zero) * inside for j in joints}
        else:
            cols = np.array([c in other.channels for c in channels], bool)[None, :]
            w = np.where(inside & cols, (1 - weight) * aw + weight * bw, aw)
            rot = {j: ar.get(j, zero) for j in joints}
            for j in br:
                rot[j] = np.where(inside, (1 - weight) * rot[j] + weight * br[j], rot[j])
        return Sequence(times, channels, w, rot, name or self.name)

    def concat(self, other: Sequence, gap_s: float | None = None, name: str | None = None) -> Sequence:
        """``other`` played after this clip (``gap_s`` after its last frame; default one mean frame step)."""
        channels = self.channels + tuple(c for c in other.channels if c not in self.channels)
        a, b = self.with_channels(channels), other.with_channels(channels)
        step = gap_s if gap_s is not None else (float(np.mean(np.diff(self.times))) if self.num_frames > 1
                                                 else 1.0 / 30)
        step = _positive("gap_s", step)
        times = np.concatenate([a.times, b.times - b.start + a.end + step])
        joints = set(a.rotations) | set(b.rotations)
        rot = {j: np.concatenate([a.rotation(j), b.rotation(j)]) for j in joints}
        return Sequence(times, channels, np.concatenate([a.weights, b.weights]), rot, name or self.name)

    def _ends_where_it_starts(self, tol: float = 1e-6) -> bool:
        if self.num_frames < 2:
            return False
        same = np.allclose(self.weights[0], self.weights[-1], atol=tol)
        return same and all(np.allclose(r[0], r[-1], atol=tol) for r in self.rotations.values())


def _positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")
    return v


def _interp(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Vectorised linear interpolation of ``values [K, C]`` at ``t [N]`` (clamped)."""
    if times.size == 1 or values.shape[1] == 0:
        return np.repeat(values[:1], t.size, 0) if times.size else values
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, times.size - 2)
    u = ((t - times[i]) / (times[i + 1] - times[i]))[:, None]
    u = np.clip(u, 0.0, 1.0)
    return values[i] * (1 - u) + values[i + 1] * u


def _box(values: np.ndarray, half: int) -> np.ndarray:
    """Centred moving average of ``values [K, C]`` over ``2 * half + 1`` frames, edges held."""
    if values.shape[1] == 0:
        return values.copy()
    padded = np.concatenate([np.repeat(values[:1], half, 0), values, np.repeat(values[-1:], half, 0)])
    c = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(padded, 0)])
    n = 2 * half + 1
    return (c[n:] - c[:-n]) / n
