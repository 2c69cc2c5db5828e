"""``AnimateRequest`` → a validated expression :class:`~assetgen.animation.Sequence` (synchronous, pure).

Sequence sources (the request's ``sequence`` oneof):

* ``preset``: one preset name or a comma list (``"smile, blink"``), played one after another (each at its
  default duration, joined with :meth:`Sequence.concat`) as one clip named ``"smile+blink"``. Unknown names and
  ARKit presets on a FLAME model are ``INVALID_ARGUMENT`` with the preset module's message (it lists the presets).
* ``keyframes``: keys ``(time_s, ARKit name → weight in [0, 1])``; each channel is a linear track through the keys
  that name it (:func:`~assetgen.animation.from_keyframes`), sampled at ``fps`` up to the last key.
* ``live_link_csv``: the bytes of a Live Link Face CSV export (UTF-8), read with
  :func:`~assetgen.animation.read_livelink_csv` and resampled to ``fps``.
* ``text``: a description of the motion ("smiles, then blinks twice and looks left"), read by
  :func:`~assetgen.animation.sequence_from_text` (seed 0 for the random gestures) into one clip named ``"text"``;
  nothing understood is ``INVALID_ARGUMENT`` on ``text`` with the reason.

``fps``: 0 means 30; otherwise 1..240. Keyframes, Live Link captures and text carry ARKit weights; on a FLAME
model they become FLAME expression coefficients through the model's ARKit mapping
(:func:`assetgen.animation.retarget.for_model`). Cap: :data:`MAX_FRAMES` frames per request (``Limits.max_frames``; beyond: ``RESOURCE_EXHAUSTED``).

Modes: asset (default) builds the head of ``spec_json`` with the sequence as its one clip (exactly
``generate_head(spec, animations=[sequence])`` plus the bundle files); frames streams the sequence sampled at
``fps`` (:func:`frame_values`) for live preview, ``spec_json`` optional there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from assetgen import control
from assetgen.animation import ROTATION_JOINTS, Sequence, from_keyframes, preset, presets_for, read_livelink_csv
from assetgen.animation.presets import PRESETS
from assetgen.animation.retarget import for_model
from assetgen.animation.text import sequence_from_text
from assetgen.service.requests import (MAX_FRAMES, GenerateSettings, LimitError, ParsedRequest, RequestError,
                                       _blender, _check_model, _export_options, parsed_needs_fbx)

__all__ = ["DEFAULT_FPS", "MAX_FPS", "MAX_FRAMES", "AnimatePlan", "frame_values", "parse_animate_request"]

DEFAULT_FPS = 30.0
MIN_FPS, MAX_FPS = 1.0, 240.0


@dataclass(frozen=True)
class AnimatePlan:
    """A validated Animate request: the sequence, the mode, and for asset mode the head to build."""

    sequence: Sequence
    fps: float
    frames_mode: bool
    model: Any
    parsed: ParsedRequest | None = None  # asset mode: the head with ``animations=(sequence,)``


def _frames(duration: float, fps: float) -> int:
    """Frames of a clip of ``duration`` seconds resampled at ``fps`` (as :meth:`Sequence.resample`)."""
    return int(math.floor(duration * fps + 1e-6)) + 2


def _cap(what: str, duration: float, fps: float) -> None:
    if not math.isfinite(duration) or _frames(duration, fps) - 1 > MAX_FRAMES:
        raise LimitError(f"{what}: {duration:g} s at {fps:g} fps is above the cap of {MAX_FRAMES} frames per "
                         "request (Limits.max_frames); split it over several requests or lower fps")


def _presets(text: str, model, fps: float, violations: list) -> Sequence | None:
    names = [n.strip() for n in text.split(",")]
    if not text.strip() or any(not n for n in names):
        violations.append(("preset", f"preset: expected a preset name or a comma list of them, got {text[:80]!r}; "
                                     f"available presets: {', '.join(presets_for(model))}"))
        return None
    for i, name in enumerate(names):
        if name not in PRESETS:
            try:
                preset(name, model, fps=fps)  # the preset module's message (lists the presets)
            except ValueError as exc:
                violations.append(("preset", str(exc)[:500]))
            return None
    total = sum(PRESETS[n].default_s for n in names) + len(names) / fps
    _cap("preset", total, fps)
    seq = None
    for name in names:
        try:
            part = preset(name, model, fps=fps)
        except ValueError as exc:
            violations.append(("preset", str(exc)))
            return None
        seq = part if seq is None else seq.concat(part, name=f"{seq.name}+{name}")
    return seq


def _keyframes(keys, fps: float, violations: list) -> Sequence | None:
    if not len(keys):
        violations.append(("keyframes.keys", "keys: expected at least one keyframe"))
        return None
    tracks: dict[str, list] = {}
    last = 0.0
    for i, k in enumerate(keys):
        t = float(k.time_s)
        if not (math.isfinite(t) and t >= 0):
            violations.append((f"keyframes.keys[{i}].time_s", f"time_s: expected a finite time >= 0, got {t!r}"))
            continue
        if i and t <= float(keys[i - 1].time_s):
            violations.append((f"keyframes.keys[{i}].time_s", f"time_s: key times must strictly increase "
                                                              f"({float(keys[i - 1].time_s):g} s then {t:g} s)"))
            continue
        if not k.weights:
            violations.append((f"keyframes.keys[{i}].weights", "weights: expected at least one ARKit name → weight"))
        last = max(last, t)
        for name in sorted(k.weights):
            w = float(k.weights[name])
            if name not in control.ARKIT_52:
                try:
                    Sequence(np.zeros(1), (name,), np.zeros((1, 1)))
                    msg = f"weights: {name[:60]!r} is not an ARKit blendshape name"
                except ValueError as exc:
                    msg = str(exc)
                violations.append((f"keyframes.keys[{i}].weights", msg[:500]))
            elif not (math.isfinite(w) and 0.0 <= w <= 1.0):
                violations.append((f"keyframes.keys[{i}].weights", f"weights[{name!r}]: {w!r} is out of range "
                                                                   "[0, 1]"))
            else:
                tracks.setdefault(name, []).append((t, w))
    if violations:
        return None
    _cap("keyframes", last, fps)
    try:
        return from_keyframes(tracks, fps=fps, duration=last, name="keyframes")
    except LimitError:
        raise
    except ValueError as exc:
        violations.append(("keyframes", str(exc)))
        return None


def _livelink(data: bytes, fps: float, violations: list) -> Sequence | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        violations.append(("live_link_csv", f"live_link_csv: not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return None
    if "\n" not in text:
        text += "\n"  # never a path: read_livelink_csv treats text without a newline as a file name
    try:
        raw = read_livelink_csv(text, fps=None, name="live_link")
    except ValueError as exc:
        violations.append(("live_link_csv", f"live_link_csv: {str(exc)[:1500]}"))
        return None
    _cap("live_link_csv", raw.duration, fps)  # before resampling: a long take must not allocate its frames
    return raw.resample(fps)


def _text(text: str, model, fps: float, violations: list) -> Sequence | None:
    try:
        seq = sequence_from_text(text, model if control.model_id(model) == "open" else "open", fps=fps).sequence
    except ValueError as exc:
        violations.append(("text", str(exc)[:1500]))
        return None
    _cap("text", seq.duration, fps)
    return seq


def parse_animate_request(req, settings: GenerateSettings) -> AnimatePlan:
    """Validate an ``AnimateRequest``: :class:`RequestError` for bad fields, :class:`LimitError` for the frame
    cap."""
    violations: list[tuple[str, str]] = []
    model = _check_model(req.model, violations, settings)
    frames_mode = req.mode == 2
    if req.mode not in (0, 1, 2):
        violations.append(("mode", f"mode: unknown value {req.mode}"))
    fps = float(req.fps) if req.fps else DEFAULT_FPS
    if not (math.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
        violations.append(("fps", f"fps: {fps!r} is out of range [{MIN_FPS:g}, {MAX_FPS:g}] (0 means "
                                  f"{DEFAULT_FPS:g})"))
        fps = DEFAULT_FPS
    pipe, bundle, limit = _export_options(req, settings, violations)
    ex = req.export
    for name, is_set in (("animations", bool(ex.animations)), ("animation_fps", ex.HasField("animation_fps")),
                         ("animation_loop", ex.HasField("animation_loop"))):
        if is_set:
            violations.append((f"export.{name}", f"{name}: Animate's clip is its sequence (preset, keyframes or "
                                                 "live_link_csv, at fps); leave export.animations* empty here (they "
                                                 "bake presets into GenerateAsset and GenerateCrowd assets)"))
    spec = None
    if req.spec_json.strip() and model is not None:
        try:
            spec = control.HeadSpec.from_json(req.spec_json)
            if spec.model != control.model_id(model):
                violations.append(("spec_json", f"spec_json: the spec is for model {spec.model!r}, the request "
                                                f"names {control.model_id(model)!r}"))
        except ValueError as exc:
            violations.append(("spec_json", str(exc)[:1000]))
    elif not frames_mode:
        violations.append(("spec_json", "spec_json: asset mode needs the head's spec (a HeadSpec JSON, e.g. a "
                                        "GenerateAsset header's spec_json)"))
    kind = req.WhichOneof("sequence")
    seq = None
    arkit = model is not None and control.model_id(model) == "open"
    if kind is None:
        violations.append(("sequence", "sequence: set one of preset, keyframes, text, live_link_csv"))
    elif model is not None:
        if kind == "preset":
            seq = _presets(req.preset, model, fps, violations)
        elif kind == "keyframes":
            seq = _keyframes(req.keyframes.keys, fps, violations)
        elif kind == "text":
            seq = _text(req.text, model, fps, violations)
        else:
            seq = _livelink(req.live_link_csv, fps, violations)
        if seq is not None and not arkit:
            try:
                seq = for_model(seq, model)
            except ValueError as exc:
                violations.append((kind, f"{kind}: {exc}"))
    if violations:
        raise RequestError(violations)
    if limit and not frames_mode:
        raise LimitError(limit)
    parsed = None
    if not frames_mode:
        blender = _blender(settings) if parsed_needs_fbx(bundle) else None
        parsed = ParsedRequest(spec=spec, pipeline=pipe, bundle=bundle, model=model, blender=blender,
                               animations=(seq,))
    return AnimatePlan(sequence=seq, fps=fps, frames_mode=frames_mode, model=model, parsed=parsed)


def frame_values(plan: AnimatePlan) -> tuple[list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Frame mode: ``(expression names, joints, times [N], weights [N, E], rotations [N, 3 J])``.

    Frames are the sequence resampled at ``plan.fps`` (:meth:`Sequence.resample`), times relative to its start;
    values are :meth:`Sequence.at` at those times. Expression names: the 52 ARKit names for the open head (channels
    the sequence does not animate are 0), the sequence's channels otherwise (FLAME presets: none). Joints: the
    logical joints the sequence rotates (:data:`ROTATION_JOINTS` order), axis-angle radians, 3 numbers each."""
    seq = plan.sequence
    names = list(control.ARKIT_52) if control.model_id(plan.model) == "open" else list(seq.channels)
    times = seq.resample(plan.fps).times
    w, rot = seq.at(times)
    weights = np.zeros((times.size, len(names)))
    for j, c in enumerate(seq.channels):
        weights[:, names.index(c)] = w[:, j]
    joints = [j for j in ROTATION_JOINTS if j in rot]
    rots = np.concatenate([rot[j] for j in joints], 1) if joints else np.zeros((times.size, 0))
    if times.size > MAX_FRAMES:
        raise LimitError(f"frames: {times.size} frames is above the cap of {MAX_FRAMES} (Limits.max_frames)")
    return names, joints, times - seq.start, weights, rots
