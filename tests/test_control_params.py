"""Parameters door (assetgen.control.params): JSON/YAML/dict → HeadSpec, errors with suggestions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import assetgen.heads as heads
from assetgen.control import (
    ARKIT_52,
    HeadSpec,
    describe_controls,
    load_params,
    model_info,
    resolve,
    spec_from_params,
)
from assetgen.control import controls as C
from flame_fixture import write_flame_folder

DOC = {"model": "open", "identity": {"age": 60, "nose-scale-horiz-incr": 0.4}, "expression": {
    "mouthSmileLeft": 0.7, "mouthSmileRight": 0.7}, "pose": {"jaw": [10, 0, 0]}, "texture": {"skin_tone": 4}}
YAML = """
model: open
identity:
  age: 60
  nose-scale-horiz-incr: 0.4
expression: {mouthSmileLeft: 0.7, mouthSmileRight: 0.7}
pose:
  jaw: [10, 0, 0]
texture:
  skin_tone: 4
"""


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=10, num_expression=5, subdivisions=2,
                            masks=False, uv_template=False)
    return heads.load(fx.folder, shape_space_dim=10)


def test_dict_json_yaml_and_files_agree(tmp_path):
    spec = spec_from_params(DOC)
    assert spec.identity["age"] == 60 and spec.identity["nose-scale-horiz"] == 0.4
    assert spec.expression == {"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7} and spec.pose == {"jaw": (10.0, 0, 0)}
    assert spec.texture["skin_tone"] == 4 and spec.origin.door == "params"
    (tmp_path / "a.json").write_text(json.dumps(DOC))
    (tmp_path / "a.yaml").write_text(YAML)
    for source in (json.dumps(DOC), YAML, tmp_path / "a.json", str(tmp_path / "a.yaml")):
        assert spec_from_params(source) == spec
    assert load_params(tmp_path / "a.yaml") == DOC
    # the document a spec writes is itself a valid parameters document
    assert spec_from_params(spec.to_dict()) == spec == HeadSpec.from_dict(spec.to_dict())


def test_yaml_exponents_and_shorthands():
    spec = spec_from_params("identity:\n  age: 4.5e1\nlighting: soft\nseed: 3\n")
    assert spec.identity["age"] == 45.0 and spec.lighting.preset == "soft" and spec.seed == 3
    assert spec_from_params({"identity": {"chin-width-decr": 0.5}}).identity["chin-width"] == -0.5
    assert spec_from_params({}) == HeadSpec(origin={"door": "params"})


def test_raw_open_coefficients():
    model = heads.load("open", dtype=torch.float64)
    target = spec_from_params({"identity": {"age": 52.5, "sex": 0.8, "chin-width": -0.3, "weight": 0.2}})
    shape = resolve(target, model).shape.numpy()
    again = spec_from_params({"identity": {"shape": shape.tolist()}})
    assert again == target
    overridden = spec_from_params({"identity": {"shape": shape.tolist(), "age": 70}})
    assert overridden.identity["age"] == 70 and overridden.identity["chin-width"] == -0.3
    expr = np.zeros(52)
    expr[ARKIT_52.index("jawOpen")] = 0.5
    assert spec_from_params({"expression": {"coefficients": expr.tolist()}}).expression == {"jawOpen": 0.5}


def test_flame_documents(flame):
    info = model_info(flame)
    spec = spec_from_params({"model": "flame", "identity": {"shape": [1, -2]}, "expression": {"coefficients": [0.5]}},
                            model=flame)
    assert spec.model == info.id and spec.shape == (1.0, -2.0) and spec.expression_coefficients == (0.5,)
    assert spec_from_params({"identity": {"shape": [1, -2]}, "expression": {"coefficients": [0.5]}}, flame) == spec
    assert spec_from_params(spec.to_json()) == spec  # pinned id: no model needed any more
    assert spec_from_params(spec.to_dict(), model=info) == spec
    with pytest.raises(ValueError, match=r"identity\.shape: 11 coefficients but the model has 10"):
        spec_from_params({"model": "flame", "identity": {"shape": [0] * 11}}, model=flame)
    with pytest.raises(ValueError, match=r"model: 'flame' needs the loaded FLAME model"):
        spec_from_params({"model": "flame"})
    with pytest.raises(ValueError, match=r"model: the document is for 'open' but the model given is 'flame:"):
        spec_from_params({"model": "open"}, model=flame)
    with pytest.raises(ValueError, match=r"identity\.age: FLAME models have no named identity controls"):
        spec_from_params({"identity": {"age": 30}}, model=flame)
    with pytest.raises(ValueError, match=r"expression\.jawOpen: FLAME models take expression\.coefficients"):
        spec_from_params({"expression": {"jawOpen": 0.3}}, model=flame)
    with pytest.raises(ValueError, match=r"identity\.shape\[0\]: 9 is out of range \[-5, 5\] σ"):
        spec_from_params({"identity": {"shape": [9]}}, model=flame)


@pytest.mark.parametrize("doc, match", [
    ({"identity": {"age": 130}}, r"^identity\.age: 130 is out of range \[18, 90\] years$"),
    ({"identity": {"age": 12}}, r"^identity\.age: 12 is out of range \[18, 90\] years$"),
    ({"identity": {"gender": 1}}, r"identity\.gender: unknown name; use 'sex'"),
    ({"identity": {"nose-scale-horz": 0.1}}, r"identity\.nose-scale-horz: unknown name; did you mean 'nose-scale-h"),
    ({"identity": {"nose-scale-horiz-incr": -0.2}}, r"identity\.nose-scale-horiz-incr: -0.2 is out of range \[0, 1\]"),
    ({"identity": {"chin-width": 0.2, "chin-width-incr": 0.3}}, r"chin-width-incr: 'chin-width' is given twice"),
    ({"identity": {"sex": "male"}}, r"identity\.sex: expected a number, got str"),
    ({"identity": {"shape": [0.0] * 144}}, r"identity\.shape: expected 145 numbers, got 144"),
    ({"identity": {"shape": [0.0] * 145}}, r"identity\.shape\[1\] \(age\): 0 is 17\.5 years, out of range \[18, 90\]"),
    ({"identity": {"shape": [0.7] + [0.0] * 144}}, r"identity\.shape\[0\] \(gender\): 0\.7 is out of range"),
    ({"expression": {"smile": 1}}, r"expression\.smile: unknown name; use 'mouthSmileLeft/mouthSmileRight'"),
    ({"expression": {"mouthSmileLeft": 1.2}}, r"expression\.mouthSmileLeft: 1\.2 is out of range \[0, 1\]"),
    ({"texture": {"skin_color": 3}}, r"texture\.skin_color: unknown name; use 'skin_tone'"),
    ({"texture": {"wrinkels": 1}}, r"texture\.wrinkels: unknown name; did you mean 'wrinkles'"),
    ({"texture": {"skin_age": 95}}, r"texture\.skin_age: 95 is out of range \[18, 90\] years"),
    ({"pose": {"neck": [0, 100, 0]}}, r"pose\.neck\[1\]: 100 is out of range \[-80, 80\] degrees"),
    ({"lighting": "noir"}, r"lighting\.preset: expected one of"),
    ({"lighting": {"sh": [[0, 0, 0]] * 9, "camera_yaw": 400}}, r"lighting\.camera_yaw: 400 is out of range"),
    ({"idenity": {}}, r"^idenity: unknown field; did you mean 'identity'"),
    ({"model": "flame:abc"}, r"model: expected 'open' or 'flame:<16 hex"),
    ({"seed": "7"}, r"seed: expected an integer"),
])
def test_bad_documents_name_the_field(doc, match):
    with pytest.raises(ValueError, match=match):
        spec_from_params(doc)


def test_bad_text_and_files(tmp_path):
    with pytest.raises(ValueError, match=r"params: not valid JSON"):
        spec_from_params("{\"identity\": ")
    with pytest.raises(ValueError, match=r"params: not valid YAML"):
        spec_from_params("identity: [1, 2\n")
    with pytest.raises(ValueError, match=r"params: expected a mapping at the top level, got list"):
        spec_from_params("- 1\n- 2\n")
    with pytest.raises(ValueError, match=r"path: cannot read"):
        spec_from_params(tmp_path / "missing.json")
    with pytest.raises(ValueError, match=r"path: expected a \.json, \.yaml or \.yml file"):
        load_params(tmp_path / "x.txt")


def test_describe_controls():
    open_doc = describe_controls("open")
    assert open_doc["identity"]["age"] == {"min": 18.0, "max": 90.0, "default": 25.0, "unit": "years",
                                           "doc": "age in years (adults)"}
    assert len(open_doc["identity"]) == 6 + len(C.OPEN_LOCAL_CHANGES) and len(open_doc["expression"]) == 52
    assert open_doc["pose"]["jaw[0]"]["unit"] == "degrees" and "skin_tone" in open_doc["texture"]
    flame_doc = describe_controls("flame")
    assert flame_doc["identity"]["shape[i]"]["unit"] == "σ"
    json.dumps(open_doc)  # plain data
