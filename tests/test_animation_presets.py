"""assetgen.animation presets and Sequence → Animation clips (open head and FLAME)."""

from __future__ import annotations

import numpy as np
import pytest
from asset_helpers import ARKIT_52
from flame_fixture import write_flame_folder

import assetgen.heads
from assetgen.animation import (PRESETS, Sequence, attach_animations, from_keyframes, preset, preset_names,
                                presets_for, sequence_to_animation)
from assetgen.animation.to_asset import NECK_JOINTS
from assetgen.asset import build_head_asset
from assetgen.heads import open_head

FLAME_OK = {"look_around", "nod", "shake"}


@pytest.fixture(scope="module")
def open_model():
    return assetgen.heads.load("open")


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=20, num_expression=10, seed=3)
    return assetgen.heads.load(fx.folder, shape_space_dim=20)


def test_table():
    assert set(preset_names()) == {"blink", "double_blink", "smile", "frown", "surprise", "anger", "disgust",
                                   "talk", "idle", "look_around", "nod", "shake"}
    assert {n for n, p in PRESETS.items() if p.flame} == FLAME_OK
    assert NECK_JOINTS == open_head.NECK_JOINTS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_for_the_open_head(name, open_model):
    seq = preset(name, open_model, fps=30)
    assert seq.name == name and seq.start == 0
    assert seq.duration == pytest.approx(PRESETS[name].default_s)
    assert np.diff(seq.times) == pytest.approx(np.full(seq.num_frames - 1, 1 / 30))
    assert seq.kind in ("arkit", None)
    assert seq.weights.min(initial=0) >= 0 and seq.weights.max(initial=0) <= 1
    assert np.abs(seq.weights).max(initial=0) > 0.05 or seq.rotations  # something moves
    clip = sequence_to_animation(seq, open_model)
    assert clip.times[-1] == pytest.approx(seq.duration)
    if seq.channels:
        assert clip.morph_weights.shape == (seq.num_frames, 52)
        for c in seq.channels:
            assert clip.morph_weights[:, ARKIT_52.index(c)] == pytest.approx(seq.channel(c), abs=1e-6)
    # a preset returns to neutral (loops cleanly)
    assert np.abs(seq.weights[-1]).max(initial=0) < 1e-6
    assert all(np.abs(r[-1]).max() < 1e-6 for r in seq.rotations.values())
    again = preset(name, open_model, fps=30)
    assert np.array_equal(again.weights, seq.weights)  # deterministic


def test_seeded_presets_differ_by_seed(open_model):
    a, b = preset("talk", open_model, seed=1), preset("talk", open_model, seed=2)
    assert not np.array_equal(a.weights, b.weights)
    visemes = {"jawOpen", "mouthFunnel", "mouthPucker", "mouthClose", "mouthStretchLeft"}
    assert visemes <= set(a.channels)
    assert preset("talk", open_model, duration=6.0).duration == pytest.approx(6.0)


def test_neck_split_and_joint_names(open_model):
    clip = sequence_to_animation(preset("nod", open_model), open_model)
    assert set(clip.joint_rotations) == set(NECK_JOINTS) and clip.morph_weights is None
    seq = preset("nod", open_model)
    k = int(np.argmax(np.abs(seq.rotations["neck"][:, 0])))
    q = clip.joint_rotations["neck01"][k]
    assert 2 * np.arctan2(q[0], q[3]) * 4 == pytest.approx(seq.rotations["neck"][k, 0], abs=1e-5)
    look = sequence_to_animation(preset("look_around", open_model), open_model)
    assert {"eye.L", "eye.R"} <= set(look.joint_rotations)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_flame_presets(name, flame):
    seq = preset(name, flame)  # ARKit weights → FLAME coefficients through the model's ARKit mapping
    open_seq = preset(name, "open")
    assert seq.kind == ("flame" if open_seq.channels else None)
    if seq.channels:
        assert seq.channels == tuple(f"expr{i:03d}" for i in range(flame.num_expression))
        assert np.abs(seq.weights).max() > 0
    for joint, rot in open_seq.rotations.items():
        np.testing.assert_array_equal(seq.rotations[joint], rot)
    clip = sequence_to_animation(seq, flame)
    assert set(clip.joint_rotations) <= {"neck", "jaw", "eye_left", "eye_right"}
    if name in FLAME_OK:
        assert preset(name, "flame").channels == ()  # no model to map with: rotations only
    else:
        with pytest.raises(ValueError, match="needs the loaded FLAME model"):
            preset(name, "flame")


def test_bad_preset_arguments(open_model, flame):
    with pytest.raises(ValueError, match="available presets: blink, double_blink, smile"):
        preset("grin", open_model)
    with pytest.raises(ValueError, match="duration"):
        preset("blink", open_model, duration=0.1)
    with pytest.raises(ValueError, match="fps"):
        preset("blink", open_model, fps=0)
    assert presets_for(flame) == preset_names()
    assert presets_for("flame") == ["look_around", "nod", "shake"]
    arkit = from_keyframes({"jawOpen": [(0, 0), (1, 1)]})
    with pytest.raises(ValueError, match="ARKit channels need the open head"):
        sequence_to_animation(arkit, flame)
    with pytest.raises(ValueError, match="not morph targets"):
        sequence_to_animation(Sequence([0.0, 1.0], ("expr012",), [[0], [1]]), flame)
    flame_clip = sequence_to_animation(Sequence([0.0, 1.0], ("expr003",), [[0], [-2]]), flame)
    assert flame_clip.morph_weights[:, 3].tolist() == [0, -2]


def test_attach_animations(open_model):
    asset = build_head_asset(open_model, None, None, lods=1, provenance={})
    out = attach_animations(asset, [preset("blink", open_model), preset("nod", open_model)])
    assert [a.name for a in out.animations] == ["blink", "nod"] and asset.animations == ()
    with pytest.raises(ValueError, match="unique"):
        attach_animations(out, [preset("blink", open_model)])
    assert [a.name for a in attach_animations(out, [preset("smile", open_model)], replace=True).animations] == [
        "smile"]


def test_flame_without_expression_components(tmp_path):
    fx = write_flame_folder(tmp_path, num_shape=6, num_expression=2, seed=1)
    model = assetgen.heads.load(fx.folder, shape_space_dim=8)  # every column is identity: no expressions
    assert model.num_expression == 0
    assert presets_for(model) == ["look_around", "nod", "shake"]
    assert preset("nod", model).channels == () and "neck" in preset("nod", model).rotations
    with pytest.raises(ValueError, match="with expression components"):
        preset("smile", model)
