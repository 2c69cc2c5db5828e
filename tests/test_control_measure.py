"""Attribute measurements on generated heads (assetgen.control.measure)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import assetgen.heads as heads
from assetgen.control import spec_from_params
from assetgen.control.measure import MEASURES, measure_landmarks, measure_specs, skin_luminance
from flame_fixture import write_flame_folder


@pytest.fixture(scope="module")
def open_model():
    return heads.load("open")


def _square_landmarks() -> np.ndarray:
    lm = np.zeros((1, 68, 3))
    lm[0, 31], lm[0, 35] = [-0.015, 0, 0], [0.015, 0, 0]  # nose 30 mm wide
    lm[0, 62], lm[0, 66] = [0, -0.05, 0], [0, -0.06, 0]  # lips 10 mm apart
    lm[0, 48], lm[0, 54] = [-0.025, -0.05, 0], [0.025, -0.05, 0]
    lm[0, 51], lm[0, 57] = [0, -0.045, 0], [0, -0.065, 0]
    return lm


def test_units_and_definitions():
    m = measure_landmarks(_square_landmarks())
    assert set(m) == set(MEASURES)
    assert m["nose_width"][0] == pytest.approx(30.0)
    assert m["mouth_open"][0] == pytest.approx(10.0)
    assert m["mouth_width"][0] == pytest.approx(50.0)
    assert m["mouth_corner"][0] == pytest.approx(5.0)  # corners 5 mm above the lip centre
    assert np.isnan(m["ear_size"][0])  # needs vertices and regions
    with pytest.raises(ValueError, match="landmarks"):
        measure_landmarks(np.zeros((1, 51, 3)))


def test_open_head_controls_move_measurements(open_model):
    base = spec_from_params({"identity": {"age": 40}})
    edited = spec_from_params({"identity": {"age": 40, "nose-scale-horiz": 0.8, "l-ear-scale": 0.8,
                                            "r-ear-scale": 0.8},
                               "expression": {"jawOpen": 0.8, "mouthSmileLeft": 0.9, "mouthSmileRight": 0.9}})
    m = measure_specs([base, edited], open_model)
    assert all(np.isfinite(v).all() for v in m.values())
    assert m["nose_width"][1] > m["nose_width"][0] + 1.0
    assert m["ear_size"][1] > m["ear_size"][0]
    assert m["mouth_open"][1] > m["mouth_open"][0] + 3.0
    assert 20.0 < m["nose_width"][0] < 50.0 and 100.0 < m["face_width"][0] < 200.0  # millimetres


def test_skin_luminance_follows_skin_tone(open_model):
    light = spec_from_params({"texture": {"skin_tone": 1.5}})
    dark = spec_from_params({"texture": {"skin_tone": 5.5}})
    assert skin_luminance(light, open_model) > skin_luminance(dark, open_model) + 0.05


def test_flame_measurements(tmp_path):
    fx = write_flame_folder(tmp_path, num_shape=10, num_expression=5, subdivisions=2, uv_template=False)
    model = heads.load(fx.folder, shape_space_dim=10)
    out = model(shape=torch.zeros(2, 10))
    from assetgen.control.measure import measure_output

    m = measure_output(out, model)
    assert all(v.shape == (2,) and np.isfinite(v).all() for v in m.values())
