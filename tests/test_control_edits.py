"""Edits and interpolation (assetgen.control.edits)."""

from __future__ import annotations

import numpy as np
import pytest

from assetgen.control import (
    Edit,
    EditOp,
    HeadSpec,
    Lighting,
    apply_edit,
    interpolate,
    interpolate_specs,
    latent_from_seed,
    morph_latents,
    parse_edit,
    spec_from_params,
    spec_from_seed,
)

FLAME_ID = "flame:0123456789abcdef"


@pytest.fixture
def base() -> HeadSpec:
    return spec_from_params({"identity": {"age": 40, "sex": 0.3, "chin-width": 0.1},
                             "expression": {"mouthSmileLeft": 0.2}, "texture": {"wrinkles": 1.0}, "seed": 9})


def test_three_ways_to_write_an_edit_agree(base):
    python = Edit((EditOp("identity.age", "add", 20), EditOp("expression.mouthSmileLeft", "add", 0.3),
                   EditOp("texture.skin_tone", "set", 4), EditOp("texture.wrinkles", "mul", 1.5),
                   EditOp("pose.jaw", "set", (10, 0, 0))))
    doc = {"identity": {"age": "+20"}, "expression": {"mouthSmileLeft": "+0.3"}, "texture": {"skin_tone": 4,
           "wrinkles": "*1.5"}, "pose": {"jaw": [10, 0, 0]}}
    text = "age += 20; mouthSmileLeft += 0.3\ntexture.skin_tone = 4; wrinkles *= 1.5; pose.jaw = [10, 0, 0]"
    assert parse_edit(doc) == parse_edit(text) == python
    assert parse_edit(python.to_text()) == python
    out = apply_edit(base, text)
    assert out == apply_edit(base, doc) == apply_edit(base, python)
    assert out.identity["age"] == 60 and out.expression["mouthSmileLeft"] == 0.5
    assert out.texture["skin_tone"] == 4 and out.texture["wrinkles"] == 1.5 and out.pose["jaw"] == (10, 0, 0)
    assert out.identity["chin-width"] == 0.1 and out.seed == base.seed and out.texture_seed == base.texture_seed
    assert out.origin.door == "edit" and out.origin.details["parents"] == (base.hash,)
    assert parse_edit(out.origin.details["edit"]) == python


def test_skin_age_follows_age_edits(base):
    assert apply_edit(base, "age += 20").texture["skin_age"] == base.texture["skin_age"] + 20
    assert apply_edit(base, "age += 20; skin_age = 30").texture["skin_age"] == 30
    assert apply_edit(base, "age = 90").texture["skin_age"] == 90


def test_negative_deltas_and_pose_addition(base):
    edit = parse_edit({"identity": {"age": "-5"}, "pose": {"neck": "+[0, 10, 0]"}})
    out = apply_edit(apply_edit(base, edit), "pose.neck -= [0, 4, 0]; lighting.camera_yaw = 25; lighting.preset = soft")
    assert out.identity["age"] == 35 and out.pose["neck"] == (0.0, 6.0, 0.0)
    assert out.lighting == Lighting(preset="soft", camera_yaw=25)


def test_scaled_edits_for_text(base):
    smile_more = parse_edit("mouthSmileLeft += 0.4; mouthSmileRight += 0.4; wrinkles *= 4; skin_tone = 2")
    half = smile_more.scaled(0.5)
    assert [op.value for op in half.ops] == [0.2, 0.2, 2.0, 2]
    assert smile_more.then("age += 1").ops[-1] == EditOp("identity.age", "add", 1.0)


def test_out_of_range_results(base):
    with pytest.raises(ValueError, match=r"^identity\.age: 100 is out of range \[18, 90\] years "
                                         r"\(after identity\.age \+= 60\.0\)$"):
        apply_edit(base, "age += 60")
    assert apply_edit(base, "age += 60", clamp=True).identity["age"] == 90
    assert apply_edit(base, "mouthSmileLeft += 5; pose.jaw = [90, 0, 0]", clamp=True).pose["jaw"] == (45, 0, 0)
    with pytest.raises(ValueError, match=r"pose\.jaw\[0\]: 90 is out of range"):
        apply_edit(base, "pose.jaw = [90, 0, 0]")


@pytest.mark.parametrize("edit, match", [
    ("agee += 1", r"agee: not an editable field; did you mean 'age'"),
    ("identity.agee += 1", r"identity\.agee: not an editable field; did you mean 'identity\.age'"),
    ("age ++ 1", r"edit: cannot read 'age \+\+ 1'"),
    ("age += abc", r"identity\.age: expected a number, got str 'abc'"),
    ("age += [1, 2]", r"identity\.age: expected a number"),
    ("pose.jaw *= 2", r"pose\.jaw: a pose can be set or added to, not multiplied"),
    ("pose.jaw = 3", r"pose\.jaw: expected \[x, y, z\]"),
    ("lighting.preset += 1", r"lighting\.preset: only '= <preset name>'"),
    ("texture_seed = 1.5", r"texture_seed: only '= <non-negative integer>'"),
    ("age += 1e999", r"identity\.age: expected a finite number"),
    ({"identiy": {"age": 3}}, r"identiy: not an editable section; did you mean 'identity'"),
    ({"texture": {"freckle": "+0.1"}}, r"texture\.freckle: not an editable field; did you mean 'texture\.freckles'"),
    (42, r"edit: expected an Edit, a mapping or edit text, got int"),
])
def test_bad_edits_name_the_field(base, edit, match):
    with pytest.raises(ValueError, match=match):
        apply_edit(base, edit)


def test_flame_edits():
    spec = HeadSpec(model=FLAME_ID, shape=[0.5], expression_coefficients=[0.1, 0.2])
    out = apply_edit(spec, "shape[3] += 1.5; expression[1] *= 2; skin_tone = 5")
    assert out.shape == (0.5, 0.0, 0.0, 1.5) and out.expression_coefficients == (0.1, 0.4)
    assert apply_edit(spec, {"identity": {"shape[0]": "-0.5"}}).shape == ()
    with pytest.raises(ValueError, match=r"identity\.age: FLAME specs have no named identity controls"):
        apply_edit(spec, "age += 1")
    with pytest.raises(ValueError, match=r"identity\.shape\[0\]: 6 is out of range \[-5, 5\] σ"):
        apply_edit(spec, "shape[0] = 6")
    with pytest.raises(ValueError, match=r"identity\.shape\[2\]: the open head has named controls"):
        apply_edit(HeadSpec(), "shape[2] = 1")


def test_interpolate_specs(base):
    other = spec_from_params({"identity": {"age": 80, "nose-volume": -0.5}, "expression": {"jawOpen": 0.4},
                              "pose": {"jaw": [20, 0, 0]}, "texture": {"skin_tone": 5}, "seed": 1,
                              "lighting": {"preset": "dramatic", "camera_yaw": 30}})
    mid = interpolate(base, other, 0.25)
    assert mid.identity["age"] == 50 and mid.identity["chin-width"] == 0.075 and mid.identity["nose-volume"] == -0.125
    assert mid.expression == {"mouthSmileLeft": 0.15, "jawOpen": 0.1} and mid.pose == {"jaw": (5.0, 0.0, 0.0)}
    assert mid.texture["skin_tone"] == 3.5 and mid.lighting == Lighting(preset="studio", camera_yaw=7.5)
    assert mid.seed == base.seed and mid.texture_seed == base.texture_seed
    assert mid.origin.details == {"parents": (base.hash, other.hash), "t": 0.25}
    ends = interpolate_specs(base, other, 5)
    assert len(ends) == 5 and ends[0].identity == base.identity and ends[-1].identity == other.identity
    with pytest.raises(ValueError, match=r"t: 1.5 is out of range \[0, 1\]"):
        interpolate(base, other, 1.5)
    with pytest.raises(ValueError, match=r"b\.model: 'flame:0123456789abcdef' differs from a\.model 'open'"):
        interpolate(base, HeadSpec(model=FLAME_ID), 0.5)
    with pytest.raises(ValueError, match=r"steps: expected an integer ≥ 2"):
        interpolate_specs(base, other, 1)


def test_interpolating_latent_specs_is_continuous():
    a, b = spec_from_seed(1), spec_from_seed(2)
    seq = interpolate_specs(a, b, 11)
    ages = np.array([s.identity["age"] for s in seq])
    assert np.allclose(np.diff(ages), (b.identity["age"] - a.identity["age"]) / 10, atol=1e-5)
    flame_a = HeadSpec(model=FLAME_ID, shape=[1, 2, 3], texture_latent=[1.0, 1.0])
    flame_b = HeadSpec(model=FLAME_ID, shape=[-1], texture_latent=[])
    assert interpolate(flame_a, flame_b, 0.5).shape == (0.0, 1.0, 1.5)
    assert interpolate(flame_a, flame_b, 0.5).texture_latent == (0.5, 0.5)


def test_morph_latents_keeps_texture_seed():
    seq = morph_latents(latent_from_seed(1), latent_from_seed(2), 6, texture_seed=77, psi=0.7)
    assert len(seq) == 6 and {s.texture_seed for s in seq} == {77}
    assert seq[0].identity == spec_from_seed(1, psi=0.7).identity
    assert seq[-1].identity == spec_from_seed(2, psi=0.7).identity
