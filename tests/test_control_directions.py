"""Measured linear attribute directions (assetgen.control.directions)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import assetgen.heads as heads
from assetgen.control import directions as D
from assetgen.control.measure import measure_specs
from assetgen.control import spec_from_seed, apply_edit
from flame_fixture import write_flame_folder


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=40, num_expression=20, subdivisions=2,
                            uv_template=False)
    return heads.load(fx.folder, shape_space_dim=40)


def test_shipped_open_directions_and_card():
    d = D.load_directions(D.shipped_path("open"))
    card = json.loads(D.shipped_path("open").with_suffix(".json").read_text())
    assert d.model == "open" and card["fitter_version"] == D.FITTER_VERSION
    assert {m for (_, m) in d.items} == set(D.IDENTITY_MEASURES)
    for item in d.items.values():
        assert item.normal.shape == (139,) and np.isclose(np.linalg.norm(item.normal), 1.0)
        assert item.accuracy > 0.8 and item.slope > 0


def test_open_direction_moves_its_measurement():
    d = D.directions_for("open")
    model = heads.load("open")
    base = spec_from_seed(5)
    from assetgen.control.controls import OPEN_LOCAL_CHANGES

    for measure in ("nose_width", "lip_thickness", "ear_size"):
        step = d.step("identity", [(measure, 2.0)])
        values = {k: float(np.clip(base.identity.get(k, 0.0) + s, -1, 1)) for k, s in zip(OPEN_LOCAL_CHANGES, step)}
        moved = apply_edit(base, {"identity": values})
        m = measure_specs([base, moved], model)
        assert m[measure][1] > m[measure][0] + 1.0, measure


def test_flame_fit_deterministic_cached_and_effective(flame, tmp_path, monkeypatch):
    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path))
    D.clear_memory()
    a = D.fit_directions(flame, n=400)
    b = D.fit_directions(flame, n=400)
    for key in a.items:
        np.testing.assert_array_equal(a.items[key].normal, b.items[key].normal)
    assert ("expression", "mouth_corner") in a.items and ("identity", "nose_width") in a.items
    d = D.directions_for(flame)
    files = list((tmp_path / "text_directions").glob("*.npz"))
    assert len(files) == 1 and files[0].name.endswith(f"-v{D.FITTER_VERSION}.npz")
    D.clear_memory()
    again = D.directions_for(flame, fit=False)  # from the disk cache
    np.testing.assert_array_equal(again.items[("identity", "face_width")].normal,
                                  d.items[("identity", "face_width")].normal)
    # moving along the fitted direction changes the measured attribute the expected way
    import torch
    from assetgen.control.measure import measure_output

    n = d.items[("identity", "face_width")]
    shape = torch.zeros(2, flame.num_shape)
    shape[1, :len(n.normal)] = torch.as_tensor(2.0 * n.sigma * n.normal, dtype=shape.dtype)
    m = measure_output(flame(shape=shape), flame)
    assert m["face_width"][1] > m["face_width"][0]


def test_conditional_step_hits_each_normal():
    d = D.directions_for("open")
    step = d.step("identity", [("nose_width", 1.0), ("lip_thickness", -1.0)])
    nw, lt = d.get("identity", "nose_width"), d.get("identity", "lip_thickness")
    assert step @ nw.normal == pytest.approx(nw.sigma, rel=1e-3)
    assert step @ lt.normal == pytest.approx(-lt.sigma, rel=1e-3)


def test_missing_fit_raises(monkeypatch, tmp_path):
    from assetgen.control.controls import ModelInfo

    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path))
    with pytest.raises(LookupError, match="model"):
        D.directions_for(ModelInfo("flame:0123456789abcdef", "flame"), fit=False)
