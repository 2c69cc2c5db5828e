"""The clips an export asks for (preset names, a Live Link Face capture, fps, loop) → validated sequences.

One function for every front door that bakes clips into an asset: the pack CLI (``--animation``,
``--animation-text``, ``--expression-csv``, ``--fps``, ``--loop``) and the gRPC service (``ExportOptions.animations``,
``animation_fps``, ``animation_loop``) both call :func:`build_clips` and hand the result to
``generate_head(spec, animations=clips)``, so the same options give byte-identical assets.

Errors are :class:`ClipError` with ``(option, description)`` pairs, ``option`` one of ``"presets"`` (the list as a
whole: repeated names, clips that do not fit the model), ``"presets[i]"`` (one name), ``"fps"``, ``"loop"`` and
``"capture"`` and ``"text"``; each front door maps them to its own flag or field name.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

__all__ = ["DEFAULT_FPS", "MAX_LOOP", "ClipError", "build_clips"]

DEFAULT_FPS = 30.0
"""Clip frame rate when none is given (frames per second)."""
MIN_FPS, MAX_FPS = 1.0, 240.0
MAX_LOOP = 1000
"""Most repetitions of each clip."""


class ClipError(ValueError):
    """Bad animation options: ``violations`` is a list of ``(option, description)`` (see the module doc)."""

    def __init__(self, violations: list[tuple[str, str]]):
        self.violations = list(violations)
        super().__init__("; ".join(f"{o}: {d}" for o, d in self.violations))


def build_clips(presets: Iterable[str] = (), model: Any = None, *, fps: float | None = None,
                loop: int | None = None, seed: int = 0, capture: str | Path | None = None,
                text: str | None = None) -> list:
    """The clips, as :class:`~assetgen.animation.Sequence` items in order: one per preset name, then the text
    clip, then the capture.

    Args:
        presets: preset names (each at its default duration); repeats are refused.
        model: the head model (or ``"open"``/``"flame"``): on a loaded FLAME model ARKit weights (presets, text,
            capture) go through its ARKit mapping (:func:`assetgen.animation.retarget.for_model`); a bare
            ``"flame"`` takes only the presets without blendshapes.
        fps: frame rate 1..240 (default :data:`DEFAULT_FPS`). loop: play each clip this many times, 1..1000.
        seed: the seed of the random presets (talk, idle).
        capture: a Live Link Face CSV (a path, or its text); the clip is named after the file (``_capture``
            appended when a preset has that name).
        text: a description of the motion (:func:`assetgen.animation.sequence_from_text`), one clip named
            ``"text"`` (``"text_clip"`` when a preset has that name); option name ``"text"`` in errors.

    Raises :class:`ClipError` listing the bad options; the clips are also checked against ``model`` (nothing
    is baked yet), so a caller can refuse a request before any work.
    """
    from assetgen import animation
    from assetgen.animation.retarget import for_model

    bad: list[tuple[str, str]] = []
    fps_v = DEFAULT_FPS if fps is None else fps
    try:
        fps_v = float(fps_v)
    except (TypeError, ValueError):
        fps_v = math.nan
    if not (math.isfinite(fps_v) and MIN_FPS <= fps_v <= MAX_FPS):
        got = f"{fps:g}" if isinstance(fps, (int, float)) else repr(fps)
        bad.append(("fps", f"expected {MIN_FPS:g}..{MAX_FPS:g} frames per second, got {got}"))
    loop_v = 1 if loop is None else loop
    if isinstance(loop_v, bool) or not isinstance(loop_v, int) or not 1 <= loop_v <= MAX_LOOP:
        bad.append(("loop", f"expected 1..{MAX_LOOP} repetitions, got {loop!r}"))
    names = [str(n) for n in presets]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        bad.append(("presets", f"presets repeated: {', '.join(dup)}"))
    clips = []
    if not any(o == "fps" for o, _ in bad):
        for i, name in enumerate(names):
            try:
                clips.append(animation.preset(name, model, fps=fps_v, seed=seed))
            except ValueError as exc:
                bad.append((f"presets[{i}]", str(exc)))
        if text is not None:
            try:
                said = animation.sequence_from_text(text, model, fps=fps_v, seed=seed).sequence
                if said.name in {c.name for c in clips}:
                    said = said.replace(name=f"{said.name}_clip")
                clips.append(said)
            except ValueError as exc:
                bad.append(("text", str(exc)))
        if capture is not None:
            if isinstance(capture, Path) and not capture.is_file():
                bad.append(("capture", f"{capture} is not a file"))
            else:
                try:
                    take = for_model(animation.read_livelink_csv(capture, fps=fps_v), model)
                    if take.name in {c.name for c in clips}:
                        take = take.replace(name=f"{take.name}_capture")
                    clips.append(take)
                except ValueError as exc:
                    bad.append(("capture", str(exc)))
    if bad:
        raise ClipError(bad)
    if loop_v > 1:
        clips = [c.loop(loop_v) for c in clips]
    try:
        for c in clips:  # fail before anything is built or written
            animation.sequence_to_animation(c, model)
    except ValueError as exc:
        raise ClipError([("presets", str(exc))]) from None
    return clips
