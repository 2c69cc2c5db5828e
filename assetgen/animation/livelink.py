"""Epic Live Link Face CSV captures ↔ :class:`~assetgen.animation.Sequence`.

The app writes one row per captured frame with the columns (names exact, any order accepted on reading):

* ``Timecode``: ``HH:MM:SS:FF.fff`` — hours, minutes, seconds, frame number ``FF`` at the take's timecode rate
  (``timecode_fps``, an integer) and ``.fff`` the fraction of a frame (sub-frame);
* ``BlendShapeCount`` (the number of values that follow; read but not used);
* the 52 ARKit blendshapes with a capitalised first letter (``EyeBlinkLeft`` … ``TongueOut``; the open head's
  morph target ``eyeBlinkLeft`` is the column name with its first letter lowered), values in [0, 1];
* ``HeadYaw``, ``HeadPitch``, ``HeadRoll``, ``LeftEyeYaw``, ``LeftEyePitch``, ``LeftEyeRoll``, ``RightEyeYaw``,
  ``RightEyePitch``, ``RightEyeRoll``: **radians**.

Rotation mapping (project frame +Y up, face +Z): yaw about +y (positive turns to the subject's left), pitch
about +x (positive looks down), roll about +z, composed ``R = Ry(yaw) · Rx(pitch) · Rz(roll)``; head → the
``neck`` joint (the open head spreads it over its neck chain), eyes → ``eye_left``/``eye_right``. (The sign
conventions follow the project frame; flip a column before import if a rig disagrees.)

Reading raises ``ValueError`` for missing, extra or misspelt columns (all listed, with suggestions), cells that
are not numbers, NaN/inf, bad, non-increasing or duplicate timecodes and empty takes. ARKit values outside
[0, 1] are clamped with a warning (see :mod:`assetgen.animation.sequence`).
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from assetgen.animation.sequence import Sequence
from assetgen.control import ARKIT_52

__all__ = ["LIVELINK_BLENDSHAPES", "LIVELINK_COLUMNS", "LIVELINK_ROTATIONS", "TIMECODE_RATES", "format_timecode",
           "parse_timecode",
           "read_livelink_csv", "write_livelink_csv"]

#: The 52 blendshape columns in the order Live Link Face writes them.
LIVELINK_BLENDSHAPES = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft",
    "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight", "JawForward", "JawLeft", "JawRight", "JawOpen", "MouthClose", "MouthFunnel",
    "MouthPucker", "MouthLeft", "MouthRight", "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft",
    "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper", "MouthPressLeft", "MouthPressRight",
    "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft", "MouthUpperUpRight", "BrowDownLeft",
    "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft",
    "CheekSquintRight", "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)
#: Rotation columns (radians): (column prefix, logical joint).
LIVELINK_ROTATIONS = (("Head", "neck"), ("LeftEye", "eye_left"), ("RightEye", "eye_right"))
_ROT_COLUMNS = tuple(f"{p}{a}" for p, _ in LIVELINK_ROTATIONS for a in ("Yaw", "Pitch", "Roll"))
#: The full header, in the app's order.
LIVELINK_COLUMNS = ("Timecode", "BlendShapeCount", *LIVELINK_BLENDSHAPES, *_ROT_COLUMNS)
_TO_ARKIT = {c: c[0].lower() + c[1:] for c in LIVELINK_BLENDSHAPES}
assert set(_TO_ARKIT.values()) == set(ARKIT_52)
_TIMECODE = re.compile(r"^\s*(\d{1,3}):(\d{2}):(\d{2})[:;](\d{2,3})(?:\.(\d+))?\s*$")


def _fps(timecode_fps) -> int:
    if (isinstance(timecode_fps, bool) or not isinstance(timecode_fps, (int, np.integer))
            or not 1 <= timecode_fps <= 240):
        raise ValueError(f"timecode_fps: expected an integer frame rate 1..240, got {timecode_fps!r}")
    return int(timecode_fps)


def parse_timecode(text: str, timecode_fps: int = 60) -> float:
    """Seconds of a ``HH:MM:SS:FF.fff`` timecode (``FF`` frames at ``timecode_fps``, ``.fff`` a fraction of a
    frame)."""
    fps = _fps(timecode_fps)
    m = _TIMECODE.match(str(text))
    if m is None:
        raise ValueError(f"Timecode: {text!r} is not HH:MM:SS:FF.fff")
    h, mi, s, ff = (int(g) for g in m.groups()[:4])
    frac = m.group(5)
    if mi >= 60 or s >= 60 or ff >= fps:
        raise ValueError(f"Timecode: {text!r} out of range (minutes/seconds < 60, frames < {fps})")
    sub = int(frac) / 10 ** len(frac) if frac else 0.0
    return h * 3600.0 + mi * 60.0 + s + (ff + sub) / fps


def format_timecode(seconds: float, timecode_fps: int = 60) -> str:
    """``HH:MM:SS:FF.fff`` for ``seconds`` ≥ 0 (sub-frame to 1/1000 frame)."""
    fps = _fps(timecode_fps)
    milli = int(round(float(seconds) * fps * 1000))
    if milli < 0:
        raise ValueError(f"seconds: expected >= 0, got {seconds}")
    frames, sub = divmod(milli, 1000)
    secs, ff = divmod(frames, fps)
    mins, s = divmod(secs, 60)
    h, mi = divmod(mins, 60)
    return f"{h:02d}:{mi:02d}:{s:02d}:{ff:02d}.{sub:03d}"


#: Timecode rates ``timecode_fps="auto"`` chooses from.
TIMECODE_RATES = (24, 25, 30, 48, 50, 60, 120)


def _guess_rate(fields: np.ndarray, label: str) -> int:
    """The timecode rate of a take from its frame numbers (``fields [N, 5]``: h, m, s, ff, sub-frame)."""
    secs = fields[:, 0] * 3600 + fields[:, 1] * 60 + fields[:, 2]
    top = int(fields[:, 3].max())
    if secs.max() - secs.min() < 1:  # fewer than one full second: the frame numbers may not wrap
        raise ValueError(f"{label}: take shorter than one second: pass the timecode rate (timecode_fps) "
                         "explicitly")
    for rate in TIMECODE_RATES:
        if top < rate:
            return rate
    raise ValueError(f"{label}: frame number {top} in Timecode is above every known rate {TIMECODE_RATES}")


def _column_error(source: str, header: list[str]) -> str | None:
    expected = set(LIVELINK_COLUMNS)
    seen = set(header)
    dup = sorted({h for h in header if header.count(h) > 1})
    missing = [c for c in LIVELINK_COLUMNS if c not in seen]
    extra = [h for h in header if h not in expected]
    if not (missing or extra or dup):
        return None
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        hints = []
        for e in extra:
            close = difflib.get_close_matches(e, missing or LIVELINK_COLUMNS, n=1, cutoff=0.6)
            hints.append(f"{e!r}" + (f" (misspelt {close[0]!r}?)" if close else ""))
        parts.append(f"unexpected [{', '.join(hints)}]")
    if dup:
        parts.append(f"duplicated {dup}")
    return f"{source}: Live Link Face columns: " + "; ".join(parts)


def read_livelink_csv(source, *, fps: float | None = 30.0, timecode_fps: int | str = "auto", name: str | None = None,
                      rotations: bool = True) -> Sequence:
    """Read a Live Link Face capture (path, or text with ``\\n``) into a :class:`Sequence`.

    Times start at 0 (the first timecode). ``fps``: resample to this rate (``None`` keeps the recorded
    frames). ``timecode_fps``: the take's timecode frame rate, or ``"auto"``: the smallest of
    :data:`TIMECODE_RATES` above the largest frame number seen (needs a take of at least one second; shorter
    takes need the rate). ``rotations``: map head/eye rotations to the
    ``neck``/``eye_left``/``eye_right`` joints. ``name``: clip name (default: the file stem, or ``"capture"``).
    """
    fps_tc = None if timecode_fps == "auto" else _fps(timecode_fps)
    if isinstance(source, (str, os.PathLike)) and "\n" not in str(source):
        path = Path(source)
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{label}: cannot read the capture ({exc})") from None
        name = name or path.stem or "capture"
    else:
        text, label, name = str(source), "capture", name or "capture"
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise ValueError(f"{label}: empty file (expected a Live Link Face header and frames)")
    header = [h.strip() for h in rows[0]]
    err = _column_error(label, header)
    if err:
        raise ValueError(err)
    data = rows[1:]
    if not data:
        raise ValueError(f"{label}: empty take (a header and no frames)")
    width = len(header)
    for i, r in enumerate(data):
        if len(r) != width:
            raise ValueError(f"{label}: row {i + 2} has {len(r)} cells, expected {width}")
    col = {h: i for i, h in enumerate(header)}
    tc_col = col["Timecode"]
    fields = np.empty((len(data), 5))
    for i, r in enumerate(data):
        m = _TIMECODE.match(r[tc_col])
        if m is None:
            raise ValueError(f"{label}: row {i + 2}: Timecode {r[tc_col]!r} is not HH:MM:SS:FF.fff")
        frac = m.group(5)
        fields[i] = (*(int(g) for g in m.groups()[:4]), int(frac) / 10 ** len(frac) if frac else 0.0)
    if timecode_fps == "auto":
        fps_tc = _guess_rate(fields, label)
    bad = np.flatnonzero((fields[:, 1] >= 60) | (fields[:, 2] >= 60) | (fields[:, 3] >= fps_tc))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{label}: row {i + 2}: Timecode {data[i][tc_col]!r} out of range (minutes/seconds < 60, "
                         f"frames < {fps_tc})")
    times = fields[:, 0] * 3600.0 + fields[:, 1] * 60.0 + fields[:, 2] + (fields[:, 3] + fields[:, 4]) / fps_tc
    numeric = [col[c] for c in (*LIVELINK_BLENDSHAPES, *_ROT_COLUMNS)]
    try:
        values = np.array([[r[j] for j in numeric] for r in data], dtype=np.float64)
    except ValueError:
        for i, r in enumerate(data):
            for j in numeric:
                try:
                    float(r[j])
                except ValueError:
                    raise ValueError(f"{label}: row {i + 2}, column {header[j]!r}: {r[j]!r} is not a number") from None
        raise
    if not np.isfinite(values).all():
        i, j = np.argwhere(~np.isfinite(values))[0]
        raise ValueError(f"{label}: row {i + 2}, column {header[numeric[j]]!r}: NaN or inf")
    d = np.diff(times)
    if (d <= 0).any():
        i = int(np.argmax(d <= 0))
        what = "duplicate" if d[i] == 0 else "non-monotonic (going back)"
        raise ValueError(f"{label}: {what} timecode at row {i + 3}: {data[i + 1][tc_col]!r} after "
                         f"{data[i][tc_col]!r}")
    times -= times[0]
    nb = len(LIVELINK_BLENDSHAPES)
    channels = tuple(_TO_ARKIT[c] for c in LIVELINK_BLENDSHAPES)
    rot = {}
    if rotations:
        for k, (_, joint) in enumerate(LIVELINK_ROTATIONS):
            ypr = values[:, nb + 3 * k: nb + 3 * k + 3]  # yaw, pitch, roll
            rot[joint] = Rotation.from_euler("YXZ", ypr, degrees=False).as_rotvec()
    seq = Sequence(times, channels, values[:, :nb], rot, name)
    return seq.resample(fps) if fps is not None else seq


def write_livelink_csv(seq: Sequence, path=None, *, timecode_fps: int = 60, start: float = 0.0) -> str:
    """Write ``seq`` (ARKit channels; missing ones written as 0; rotations as yaw/pitch/roll) in Live Link
    Face's format; returns the text and writes it to ``path`` when given (atomically). ``start``: timecode of
    the first frame in seconds."""
    if seq.kind == "flame":
        raise ValueError("seq: Live Link Face CSV carries ARKit blendshapes; this sequence has FLAME coefficients")
    fps = _fps(timecode_fps)
    times = seq.times - seq.start + float(start)
    w = seq.with_channels(tuple(_TO_ARKIT[c] for c in LIVELINK_BLENDSHAPES)).weights
    eul = [Rotation.from_rotvec(seq.rotation(j)).as_euler("YXZ") for _, j in LIVELINK_ROTATIONS]
    values = np.concatenate([w, *eul], 1)
    out = io.StringIO()
    out.write(",".join(LIVELINK_COLUMNS) + "\n")
    count = str(len(LIVELINK_BLENDSHAPES) + len(_ROT_COLUMNS))
    fmt = ",".join(["%.9g"] * values.shape[1])
    body = [f"{format_timecode(t, fps)},{count}," + fmt % tuple(row) for t, row in zip(times, values)]
    out.write("\n".join(body) + "\n")
    text = out.getvalue()
    if path is not None:
        from assetgen.io import atomic_write_bytes

        atomic_write_bytes(Path(path), text.encode("utf-8"))
    return text
