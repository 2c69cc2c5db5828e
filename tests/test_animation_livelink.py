"""Live Link Face CSV: round trip, timecodes, and the bad-capture errors."""

from __future__ import annotations

import numpy as np
import pytest

from assetgen.animation import (LIVELINK_BLENDSHAPES, LIVELINK_COLUMNS, WeightClampWarning, format_timecode,
                                parse_timecode, preset, read_livelink_csv, write_livelink_csv)


@pytest.fixture(scope="module")
def take():
    """A talk clip with a blink, look-around eyes and a nod: every column animated."""
    talk = preset("talk", duration=3.0, fps=60, seed=5)
    seq = talk.blend(preset("blink", fps=60), offset=0.5).blend(preset("look_around", fps=60, duration=3.0))
    seq = seq.blend(preset("nod", fps=60, duration=3.0), name="take")
    # Live Link Face has no jaw rotation column (jawOpen carries it)
    return seq.replace(rotations={k: v for k, v in seq.rotations.items() if k != "jaw"})


def test_header_is_live_link_face():
    assert LIVELINK_COLUMNS[:3] == ("Timecode", "BlendShapeCount", "EyeBlinkLeft")
    assert len(LIVELINK_BLENDSHAPES) == 52 and LIVELINK_COLUMNS[-9:] == (
        "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw",
        "RightEyePitch", "RightEyeRoll")


def test_timecode():
    assert parse_timecode("01:02:03:30.500", 60) == pytest.approx(3723 + 30.5 / 60)
    assert format_timecode(3723 + 30.5 / 60, 60) == "01:02:03:30.500"
    for bad in ("1:2:3", "01:02:03:60.000", "01:61:00:00.0", "aa:bb:cc:dd"):
        with pytest.raises(ValueError, match="Timecode"):
            parse_timecode(bad, 60)


@pytest.mark.parametrize("timecode_fps", [60, 30, "auto"])
def test_round_trip(take, tmp_path, timecode_fps):
    path = tmp_path / "take.csv"
    write_livelink_csv(take, path, timecode_fps=60 if timecode_fps == "auto" else timecode_fps, start=3600.25)
    back = read_livelink_csv(path, fps=None, timecode_fps=timecode_fps)
    assert back.name == "take" and back.num_frames == take.num_frames
    assert back.times == pytest.approx(take.times - take.start, abs=1e-6)
    w = back.with_channels(take.channels).weights
    assert np.abs(w - take.weights).max() <= 1e-6  # the recorded weights at the recorded times
    assert back.weights.shape[1] == 52
    for joint in ("neck", "eye_left", "eye_right"):
        assert np.abs(back.rotation(joint) - take.rotation(joint)).max() <= 1e-6
    assert np.abs(take.rotation("neck")).max() > 0.1 and np.abs(take.rotation("eye_left")).max() > 0.1


def test_resampled_import(take):
    back = read_livelink_csv(write_livelink_csv(take), fps=30)
    assert back.num_frames == 91 and back.duration == pytest.approx(3.0)
    assert back.at(1.0)[0][0, back.channels.index("jawOpen")] == pytest.approx(
        take.at(1.0)[0][0, take.channels.index("jawOpen")], abs=1e-6)


def _csv(rows=3, header=LIVELINK_COLUMNS, edit=None) -> str:
    lines = [",".join(header)]
    for i in range(rows):
        cells = [format_timecode(i / 60, 60), "61"] + ["0.1"] * (len(header) - 2)
        if edit:
            edit(i, cells)
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _cols(replace: dict | None = None, drop=(), add=()) -> list[str]:
    cols = [replace.get(c, c) if replace else c for c in LIVELINK_COLUMNS if c not in drop]
    return cols + list(add)


@pytest.mark.parametrize("text,match", [
    (_csv(header=_cols(drop=("JawOpen", "HeadRoll"))), r"missing \['JawOpen', 'HeadRoll'\]"),
    (_csv(header=_cols(add=("Extra",))), r"unexpected \['Extra'\]"),
    (_csv(header=_cols({"EyeBlinkLeft": "EyeBlinkLft"})),
     r"missing \['EyeBlinkLeft'\]; unexpected \['EyeBlinkLft' \(misspelt 'EyeBlinkLeft'\?\)\]"),
    (_csv(header=_cols({"EyeBlinkLeft": "eyeBlinkLeft"})), r"misspelt 'EyeBlinkLeft'"),
    (_csv(rows=0), "empty take"),
    ("", "empty file"),
    (_csv(edit=lambda i, c: c.__setitem__(5, "nan") if i == 1 else None), "row 3, column 'EyeLookOutLeft': NaN"),
    (_csv(edit=lambda i, c: c.__setitem__(5, "x") if i == 1 else None), "'x' is not a number"),
    (_csv(edit=lambda i, c: c.__setitem__(0, "00:00:00:00.000") if i == 2 else None), "non-monotonic"),
    (_csv(edit=lambda i, c: c.__setitem__(0, "00:00:00:01.000") if i == 2 else None),
     "duplicate timecode at row 4"),
    (_csv(edit=lambda i, c: c.__setitem__(0, "0:0:0") if i == 0 else None), "row 2: Timecode"),
    (_csv(edit=lambda i, c: c.pop() if i == 0 else None), "row 2 has 62 cells, expected 63"),
])
def test_bad_captures(text, match, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        read_livelink_csv(path, timecode_fps=60)


def test_weights_outside_unit_range_clamped():
    text = _csv(edit=lambda i, c: c.__setitem__(2, "1.05"))
    with pytest.warns(WeightClampWarning, match="eyeBlinkLeft"):
        seq = read_livelink_csv(text, fps=None, timecode_fps=60)
    assert seq.channel("eyeBlinkLeft").max() == 1.0


def test_auto_rate_needs_a_second():
    with pytest.raises(ValueError, match="shorter than one second"):
        read_livelink_csv(_csv(), timecode_fps="auto")


def test_sample_capture_reads():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "samples" / "livelink_take.csv"
    seq = read_livelink_csv(path, fps=30)
    assert seq.duration > 1 and seq.weights.shape[1] == 52
