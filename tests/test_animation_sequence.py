"""assetgen.animation: Sequence operations, validation, keyframe easing."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from assetgen.animation import Key, Sequence, WeightClampWarning, ease, evaluate, from_keyframes


def ramp(k: int = 11, fps: float = 10.0) -> Sequence:
    t = np.arange(k) / fps
    return Sequence(t, ("jawOpen", "eyeBlinkLeft"), np.stack([t / t[-1], np.zeros(k)], 1),
                    {"jaw": np.stack([t, 0 * t, 0 * t], 1)}, "ramp")


def test_at_linear_and_clamped():
    s = ramp()
    w, r = s.at([0.05, 0.5, 2.0, -1.0])
    assert w[:, 0] == pytest.approx([0.05, 0.5, 1.0, 0.0])
    assert r["jaw"][:, 0] == pytest.approx([0.05, 0.5, 1.0, 0.0])


def test_resample_keeps_duration_and_values():
    s = ramp().resample(30)
    assert s.num_frames == 31 and s.duration == pytest.approx(1.0)
    assert np.diff(s.times) == pytest.approx(np.full(30, 1 / 30))
    assert s.channel("jawOpen") == pytest.approx(s.times)
    odd = ramp().resample(4)  # 1 s at 4 fps: 0, .25, .5, .75, 1
    assert odd.times == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert ramp(11, 10).resample(3).times[-1] == pytest.approx(1.0)  # end kept


def test_smooth_box_filter():
    k = 21
    w = np.zeros((k, 1))
    w[10] = 1.0
    s = Sequence(np.arange(k) / 10, ("jawOpen",), w).smooth(0.2)  # 3 frames
    assert s.weights[9:12, 0] == pytest.approx([1 / 3] * 3)
    assert s.weights.sum() == pytest.approx(1.0)
    assert ramp().smooth(0).weights == pytest.approx(ramp().weights)
    with pytest.raises(ValueError, match="window_s"):
        ramp().smooth(-1)


def test_trim_retime_loop():
    t = ramp().trim(0.25, 0.75)
    assert t.start == 0 and t.duration == pytest.approx(0.5)
    assert t.channel("jawOpen")[[0, -1]] == pytest.approx([0.25, 0.75])
    with pytest.raises(ValueError, match="trim"):
        ramp().trim(0.5, 2.0)
    r = ramp().retime(2.0)
    assert r.duration == pytest.approx(0.5) and r.channel("jawOpen") == pytest.approx(ramp().weights[:, 0])
    with pytest.raises(ValueError, match="speed"):
        ramp().retime(0)
    lp = ramp().loop(3)  # open clip: period = duration + one frame
    assert lp.num_frames == 33 and lp.duration == pytest.approx(3.2)
    closed = ramp().make_seamless(0.3)
    assert closed.weights[-1] == pytest.approx(closed.weights[0])
    assert closed.rotations["jaw"][-1] == pytest.approx(closed.rotations["jaw"][0])
    lc = ramp().loop(3, seamless=True)  # closed clip: shared end/start frames, period = duration
    assert lc.num_frames == 31 and lc.duration == pytest.approx(3.0)
    with pytest.raises(ValueError, match="count"):
        ramp().loop(0)


def test_blend_add_and_override():
    talk = ramp()
    blink = Sequence([0.0, 0.1, 0.2], ("eyeBlinkLeft", "jawOpen"), [[0, 0.5], [1, 0.5], [0, 0.5]], name="blink")
    add = talk.blend(blink, "add", weight=1.0, offset=0.4)
    w, _ = add.at([0.3, 0.5, 0.9])
    i_blink, i_jaw = add.channels.index("eyeBlinkLeft"), add.channels.index("jawOpen")
    assert w[:, i_blink] == pytest.approx([0, 1, 0])
    assert w[:, i_jaw] == pytest.approx([0.3, 1.0, 0.9])  # 0.5 + 0.5 clamped to 1 inside, untouched outside
    over = talk.blend(blink, "override", weight=1.0, offset=0.4)
    w, r = over.at([0.3, 0.5, 0.9])
    assert w[:, over.channels.index("jawOpen")] == pytest.approx([0.3, 0.5, 0.9])
    assert r["jaw"][:, 0] == pytest.approx([0.3, 0.5, 0.9])  # blink has no jaw: untouched
    half = talk.blend(blink, "override", weight=0.5, offset=0.4)
    assert half.at(0.5)[0][0, half.channels.index("jawOpen")] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="mode"):
        talk.blend(blink, "multiply")
    with pytest.raises(ValueError, match="mixes ARKit"):
        talk.blend(Sequence([0.0], ("expr000",), [[1.0]]))


@pytest.mark.parametrize("kwargs,match", [
    ({"times": [0.0, np.nan]}, "times: contains NaN"),
    ({"times": [0.0, 0.1, 0.1]}, "times: duplicate time at frame 2"),
    ({"times": [0.0, 0.2, 0.1]}, "times: decreasing"),
    ({"times": []}, "at least one frame"),
    ({"channels": ("jawOpen", "eyeBlinkLft", "eyeBlinkRight")}, r"unknown channel names \['eyeBlinkLft'\]"),
    ({"weights": [[0, np.nan, 0]] * 3}, "weights: NaN or inf in channel 'eyeBlinkLeft' at frame 0"),
    ({"weights": [[0, 0]] * 3}, r"weights: expected shape \[3, 3\]"),
    ({"rotations": {"jaw": np.zeros((3, 4))}}, r"rotations\['jaw'\]: expected shape"),
    ({"rotations": {"pelvis": np.zeros((3, 3))}}, "unknown joint 'pelvis'"),
    ({"channels": ("jawOpen", "jawOpen", "eyeBlinkRight")}, "duplicate names"),
])
def test_validation(kwargs, match):
    args = {"times": [0.0, 0.1, 0.2], "channels": ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight"),
            "weights": np.zeros((3, 3))}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Sequence(**args)


def test_arkit_weights_clamped_with_warning_flame_not():
    with pytest.warns(WeightClampWarning, match="jawOpen"):
        s = Sequence([0.0, 0.1], ("jawOpen",), [[1.2], [-0.1]])
    assert s.weights[:, 0].tolist() == [1.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = Sequence([0.0, 0.1], ("expr000", "expr001"), [[2.5, -3.0], [0, 0]])
    assert f.weights[0].tolist() == [2.5, -3.0] and f.kind == "flame"


# ---------------------------------------------------------------------------------------------- keyframes
def test_easing_values():
    u = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert ease("linear", u) == pytest.approx(u)
    assert ease("ease_in", u) == pytest.approx(u ** 3)
    assert ease("ease_out", u) == pytest.approx([0, 1 - 0.75 ** 3, 0.875, 1 - 0.25 ** 3, 1])
    assert ease("ease_in_out", u) == pytest.approx([0, 4 * 0.25 ** 3, 0.5, 1 - 0.5 ** 3 / 2, 1])
    assert ease("hold", u) == pytest.approx([0, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="unknown easing"):
        ease("bounce", u)


def test_keyframes_to_sequence():
    keys = [(0.0, 0.0, "ease_in"), Key(1.0, 1.0, "hold"), (2.0, 0.2)]
    s = from_keyframes({"jawOpen": keys}, {"jaw": [(0.0, (0, 0, 0)), (2.0, (0.2, 0, 0))]}, fps=4)
    assert s.num_frames == 9 and s.duration == 2.0
    jaw = s.channel("jawOpen")
    assert jaw[[0, 2, 4, 6, 8]] == pytest.approx([0, 0.125, 1, 1, 0.2])  # ease-in 0.5**3, hold, step at key
    assert s.rotations["jaw"][4, 0] == pytest.approx(0.1)
    assert evaluate(keys, [-1.0, 5.0])[:, 0] == pytest.approx([0.0, 0.2])  # held outside the keys
    with pytest.raises(ValueError, match="strictly increase"):
        from_keyframes({"jawOpen": [(1, 0), (0.5, 1)]})
    with pytest.raises(ValueError, match="unknown easing"):
        from_keyframes({"jawOpen": [(0, 0, "wobble"), (0.5, 1)]})
    with pytest.raises(ValueError, match="unknown channel"):
        from_keyframes({"jawOpne": [(0, 0), (0.5, 1)]})
