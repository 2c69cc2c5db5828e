"""assetgen.animation.text: prompts → expression sequences (keywords, modifiers, steps, encoder, FLAME)."""

from __future__ import annotations

import numpy as np
import pytest
from flame_fixture import write_flame_folder

import assetgen.heads
from assetgen.animation import ACTIONS, preset, sequence_from_text, sequence_to_animation
from assetgen.animation.text import MAX_TOTAL_S, parse_actions


def _brief(prompt):
    understood, ignored = parse_actions(prompt, use_encoder=False)
    return [(u.action, u.step, u.count, u.direction, u.degree, u.speed, u.duration) for u in understood], ignored


@pytest.mark.parametrize("prompt, expected", [
    ("smiles, then blinks twice and looks left",
     [("smile", 0, 1, None, 1.0, 1.0, None), ("blink", 1, 2, None, 1.0, 1.0, None),
      ("look", 1, 1, "left", 1.0, 1.0, None)]),
    ("slightly smiles for 3 seconds, then nods slowly",
     [("smile", 0, 1, None, 0.5, 1.0, 3.0), ("nod", 1, 1, None, 1.0, 0.6, None)]),
    ("shakes her head three times", [("shake", 0, 3, None, 1.0, 1.0, None)]),
    ("winks right. Then she turns her head to the left and raises her eyebrows",
     [("wink", 0, 1, "right", 1.0, 1.0, None), ("turn_head", 1, 1, "left", 1.0, 1.0, None),
      ("raise_brows", 1, 1, None, 1.0, 1.0, None)]),
    ("looks surprised while opening his mouth", [("surprise", 0, 1, None, 1.0, 1.0, None),
                                                 ("open_mouth", 0, 1, None, 1.0, 1.0, None)]),
    ("talks quickly, pauses for 2 seconds, then looks up",
     [("talk", 0, 1, None, 1.0, 1.6, None), ("rest", 1, 1, None, 1.0, 1.0, 2.0), ("look", 2, 1, "up", 1.0, 1.0, None)]),
    ("a very big grin", [("smile", 0, 1, None, 1.5 * 1.3, 1.0, None)]),
    ("sticks out his tongue, puffs his cheeks, pouts, closes her eyes, tilts her head right, looks around",
     [("tongue_out", 0, 1, None, 1.0, 1.0, None), ("puff_cheeks", 1, 1, None, 1.0, 1.0, None),
      ("pout", 2, 1, None, 1.0, 1.0, None), ("close_eyes", 3, 1, None, 1.0, 1.0, None),
      ("tilt_head", 4, 1, "right", 1.0, 1.0, None), ("look_around", 5, 1, None, 1.0, 1.0, None)]),
])
def test_keywords_and_modifiers(prompt, expected):
    understood, ignored = _brief(prompt)
    assert understood == expected
    assert ignored == []


def test_negation_and_unknown_are_reported():
    understood, ignored = _brief("doesn't smile, winks, not blinking")
    assert [u[0] for u in understood] == ["wink"]
    assert len(ignored) == 2 and all("negated" in i for i in ignored)
    understood, ignored = _brief("looks at the ceiling fan, nods")  # "looks" without a direction is no look
    assert [u[0] for u in understood] == ["nod"]
    assert ignored == ["'looks at the ceiling fan': no action recognised"]


def test_the_issue_example_plays_in_order():
    r = sequence_from_text("smiles, then blinks twice and looks left", fps=30)
    seq = r.sequence
    assert seq.name == "text" and seq.kind == "arkit"
    smile_end = preset("smile").duration
    t = seq.times
    smile = seq.channel("mouthSmileLeft")
    assert smile[t < smile_end].max() == pytest.approx(0.8)
    assert smile[t > smile_end + 0.05].max() == 0.0
    blink = seq.channel("eyeBlinkLeft")
    assert blink[t <= smile_end].max() == 0.0
    peaks = np.flatnonzero((blink[1:-1] >= 0.99) & (blink[:-2] < 0.99))
    assert len(peaks) == 2  # twice
    yaw = seq.rotation("eye_left")[:, 1]
    assert yaw[t <= smile_end].max() == 0.0 and yaw.max() == pytest.approx(0.35)  # +yaw: the head's left
    assert seq.duration == pytest.approx(smile_end + 1 / 30 + 1.5)  # one frame gap, then the 1.5 s look
    np.testing.assert_allclose(np.diff(t), 1 / 30, atol=1e-9)


def test_degree_speed_duration_count():
    base = sequence_from_text("smiles", use_encoder=False).sequence
    slight = sequence_from_text("smiles slightly", use_encoder=False).sequence
    assert slight.channel("mouthSmileLeft").max() == pytest.approx(0.5 * base.channel("mouthSmileLeft").max())
    huge = sequence_from_text("extremely big smile", use_encoder=False).sequence
    assert huge.channel("mouthSmileLeft").max() == 1.0  # clipped, no warning
    assert sequence_from_text("smiles for 3 seconds", use_encoder=False).sequence.duration == pytest.approx(3.0)
    nod = sequence_from_text("nods", use_encoder=False).sequence
    slow = sequence_from_text("nods slowly", use_encoder=False).sequence
    assert slow.duration == pytest.approx(nod.duration / 0.6, abs=1 / 30)
    assert np.abs(slow.rotation("neck")).max() == pytest.approx(np.abs(nod.rotation("neck")).max(), rel=0.02)
    three = sequence_from_text("nods three times", use_encoder=False).sequence
    assert three.duration > 2.9 * nod.duration


def test_deterministic():
    a = sequence_from_text("talks, then smiles and nods", seed=4, use_encoder=False).sequence
    b = sequence_from_text("talks, then smiles and nods", seed=4, use_encoder=False).sequence
    c = sequence_from_text("talks, then smiles and nods", seed=5, use_encoder=False).sequence
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


@pytest.mark.parametrize("prompt, action", [
    ("agrees", "nod"), ("disagrees", "shake"), ("is taken aback", "surprise"), ("falls asleep", "close_eyes"),
    ("looks happy", "smile"), ("gets annoyed", "anger"), ("tells a joke", "talk"),
])
def test_encoder_paraphrases(prompt, action):
    r = sequence_from_text(prompt)
    assert [(u.action, u.source) for u in r.actions] == [(action, "encoder")]
    assert r.actions[0].score >= 0.5


@pytest.mark.parametrize("prompt, match", [
    ("", "text: expected a non-empty"), ("   ", "text: expected a non-empty"), (None, "text"),
    ("x" * 501, "at most 500 characters"), ("a car drives by", "nothing in 'a car drives by' could be animated"),
    ("doesn't smile", "negated"), ("smiles for 700 seconds", "at most 600 s"),
])
def test_bad_text(prompt, match):
    with pytest.raises(ValueError, match=match):
        sequence_from_text(prompt, use_encoder=False)


def test_bad_fps():
    with pytest.raises(ValueError, match="fps: expected 1..240"):
        sequence_from_text("smiles", fps=0)
    assert MAX_TOTAL_S == 600


def test_every_action_builds_and_exports():
    model = assetgen.heads.load("open")
    for name, info in ACTIONS.items():
        from assetgen.animation.text import Gesture

        seq = info.build(Gesture(None, 30.0, 0, "left" if info.needs_direction else None))
        assert seq.duration > 0.3, name
        clip = sequence_to_animation(seq, model)
        assert clip.times[0] == 0.0, name


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=10, num_expression=12, seed=5)
    return assetgen.heads.load(fx.folder, shape_space_dim=10)


def test_flame_heads_use_the_mapping(flame, monkeypatch, tmp_path):
    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path))
    r = sequence_from_text("smiles, then nods", flame, use_encoder=False)
    assert r.sequence.kind == "flame" and len(r.sequence.channels) == 12
    assert "neck" in r.sequence.rotations and r.ignored == ()
    sequence_to_animation(r.sequence, flame)
    bare = sequence_from_text("smiles, then nods", "flame", use_encoder=False)  # no model: rotations only
    assert [u.action for u in bare.actions] == ["nod"]
    assert len(bare.ignored) == 1 and "pass the loaded FLAME model" in bare.ignored[0]
