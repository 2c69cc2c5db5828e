"""Spec → model inputs (assetgen.control.resolve), both head models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import assetgen.heads as heads
from assetgen.control import (
    ARKIT_52,
    HeadSpec,
    model_id,
    resolve,
    resolve_batch,
    spec_from_params,
    spec_from_seed,
    specs_from_latents,
    latents_from_seeds,
)
from assetgen.control import controls as C
from flame_fixture import write_flame_folder


@pytest.fixture(scope="module")
def open_model():
    return heads.load("open")


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=12, num_expression=6, subdivisions=2,
                            masks=False, uv_template=False)
    return heads.load(fx.folder, shape_space_dim=12)


def test_open_inputs(open_model):
    spec = spec_from_params({"identity": {"age": 25, "sex": 1.0, "proportions": 1.0, "chin-width": -0.4},
                             "expression": {"jawOpen": 0.3, "tongueOut": 1.0},
                             "pose": {"jaw": [10, 0, 0], "neck": [0, 30, 0], "eye_right": [0, -5, 0]},
                             "texture": {"skin_tone": 5}})
    inp = resolve(spec, open_model)
    assert inp.shape.shape == (145,) and inp.expression.shape == (52,) and inp.eye_pose.shape == (2, 3)
    assert inp.shape.dtype == open_model.dtype
    names = open_model.shape_names
    expected = {"gender": -0.5, "age": 2 / 3 - 0.5, "proportions": -0.5, "chin-width": -0.4, "muscle": 0.0}
    for name, value in expected.items():
        assert math.isclose(float(inp.shape[names.index(name)]), value, abs_tol=1e-6)
    assert float(inp.expression[ARKIT_52.index("jawOpen")]) == pytest.approx(0.3)
    assert torch.allclose(inp.jaw_pose, torch.tensor([math.radians(10), 0, 0]))
    assert torch.allclose(inp.neck_pose, torch.tensor([0, math.radians(30), 0]))
    assert torch.allclose(inp.eye_pose, torch.tensor([[0, 0, 0], [0, math.radians(-5), 0]]))
    assert torch.count_nonzero(inp.global_orient) == 0
    assert inp.texture["skin_tone"] == 5 and inp.texture["skin_age"] == 25 and inp.texture_seed == spec.texture_seed
    out = open_model(**inp.forward_kwargs())
    assert out.vertices.shape == (1, open_model.num_vertices, 3)


def test_batch_matches_single(open_model):
    specs = specs_from_latents(latents_from_seeds(range(6)), expression_scale=1.0)
    batch = resolve_batch(specs, open_model)
    assert batch.shape.shape == (6, 145) and batch.texture["skin_tone"].shape == (6,)
    for i in (0, 5):
        one = resolve(specs[i], open_model)
        assert torch.equal(one.shape, batch.shape[i]) and torch.equal(one.expression, batch.expression[i])
    out = open_model(**batch.forward_kwargs())  # every latent spec is inside the model's bounds
    assert torch.isfinite(out.vertices).all()


def test_flame_inputs(flame):
    spec = HeadSpec(model=model_id(flame), shape=[1.0, -2.0], expression_coefficients=[0.5],
                    pose={"global": [0, 90, 0], "eye_left": [5, 0, 0]})
    inp = resolve(spec, flame)
    assert inp.shape.tolist()[:3] == [1.0, -2.0, 0.0] and inp.shape.shape == (12,) and inp.expression.shape == (6,)
    assert inp.expression[0] == 0.5 and torch.allclose(inp.global_orient, torch.tensor([0, math.pi / 2, 0]))
    assert inp.texture["skin_age"] == 35
    flame(**inp.forward_kwargs())
    seeded = spec_from_seed(4, flame)
    assert resolve(seeded, flame).shape.shape == (12,)


def test_wrong_model_is_an_error(open_model, flame):
    fid = model_id(flame)
    with pytest.raises(ValueError, match=r"^model: spec is for model 'open' but the model given is 'flame:"):
        resolve(HeadSpec(), flame)
    with pytest.raises(ValueError, match=rf"^model: spec is for model '{fid}' but the model given is 'open'"):
        resolve(HeadSpec(model=fid), open_model)
    with pytest.raises(ValueError, match=r"specs\[1\]\.model: spec is for model 'flame:"):
        resolve_batch([HeadSpec(), HeadSpec(model=fid)], open_model)
    with pytest.raises(ValueError, match=r"identity\.shape: 13 coefficients but the model has 12 \(num_shape\)"):
        resolve(HeadSpec(model=fid, shape=[0.1] * 13), flame)
    with pytest.raises(ValueError, match=r"expression\.coefficients: 7 coefficients but the model has 6"):
        resolve(HeadSpec(model=fid, expression_coefficients=[0.1] * 7), flame)
    with pytest.raises(ValueError, match=r"specs: expected at least one HeadSpec"):
        resolve_batch([], open_model)
    with pytest.raises(ValueError, match=r"specs\[0\]: expected a HeadSpec, got dict"):
        resolve_batch([{}], open_model)


def test_age_and_sex_change_the_mesh_as_named(open_model):
    def mesh(**identity):
        return open_model(**resolve(spec_from_params({"identity": identity}), open_model).forward_kwargs()).vertices[0]

    young, old = mesh(age=20), mesh(age=85)
    assert (young - old).norm(dim=-1).max() > 2e-3  # age reshapes the head by millimetres at least
    male, female = mesh(sex=1.0), mesh(sex=0.0)
    width = lambda v: float(v[:, 0].max() - v[:, 0].min())  # noqa: E731
    assert width(male) > width(female)
    assert np.isclose(C.years_to_open_age(25.0), 2 / 3)
