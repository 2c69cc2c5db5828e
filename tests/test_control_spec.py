"""HeadSpec (assetgen.control.spec): canonical JSON round trip, stable hash, validation errors."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from assetgen.control import HeadSpec, Lighting, Origin, spec_from_seed
from assetgen.control.spec import SPEC_VERSION, FrozenDict

ROOT = Path(__file__).resolve().parents[1]
FLAME_ID = "flame:0123456789abcdef"


def readable_spec() -> HeadSpec:
    return HeadSpec(model="open", identity={"age": 60, "nose-scale-horiz": 0.4, "sex": 0.2},
                    expression={"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7}, pose={"jaw": [10, 0, 0]},
                    texture={"skin_tone": 4}, seed=42)


def test_readable_document_and_defaults():
    doc = readable_spec().to_dict()
    assert doc["model"] == "open" and doc["spec_version"] == SPEC_VERSION
    assert doc["identity"] == {"age": 60.0, "sex": 0.2, "muscle": 0.5, "weight": 0.5, "height": 0.5,
                               "proportions": 0.5, "nose-scale-horiz": 0.4}
    assert doc["expression"] == {"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7}
    assert doc["pose"] == {"jaw": [10.0, 0.0, 0.0]}
    assert doc["texture"]["skin_tone"] == 4.0 and doc["texture"]["moles"] == 0.3
    assert doc["texture"]["skin_age"] == 60.0  # follows the identity age
    assert doc["lighting"] == {"preset": "studio", "camera_yaw": 0.0, "camera_pitch": 0.0}
    assert doc["seed"] == 42 and isinstance(doc["texture_seed"], int) and doc["texture_seed"] > 0


@pytest.mark.parametrize("make", [readable_spec, lambda: spec_from_seed(7, psi=0.8, expression_scale=1.0),
                                  lambda: HeadSpec(model=FLAME_ID, shape=[0.5, -1.25, 0.0], expression_coefficients=[1],
                                                   lighting=Lighting(preset=None, sh=[[0.1, 0.2, 0.3]] * 9,
                                                                     camera_yaw=30))])
def test_json_round_trip_is_byte_identical(make):
    spec = make()
    text = spec.to_json()
    back = HeadSpec.from_json(text)
    assert back == spec and back.to_json() == text and back.hash == spec.hash
    assert HeadSpec.from_json(spec.to_json(indent=2)).to_json() == text
    assert json.loads(text) == spec.to_dict()
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert hash(back) == hash(spec)


def test_canonicalisation():
    a = HeadSpec(identity={"age": 60.0000001, "chin-width": 0.0}, expression={"jawOpen": 0.0}, pose={"neck": [0, 0, 0]})
    b = HeadSpec(identity={"age": 60})
    assert a == b and a.hash == b.hash
    assert "chin-width" not in a.identity and a.expression == {} and a.pose == {}
    flame = HeadSpec(model=FLAME_ID, shape=[1.0, 0.0, 0.0], expression_coefficients=[-0.0])
    assert flame.shape == (1.0,) and flame.expression_coefficients == ()
    assert HeadSpec(model=FLAME_ID).texture["skin_age"] == 35.0
    assert HeadSpec(pose={"jaw": [-0.0000001, 0, 0]}).pose == {}


def test_immutable():
    spec = readable_spec()
    with pytest.raises(Exception):
        spec.seed = 3
    with pytest.raises(TypeError):
        spec.identity["age"] = 30
    with pytest.raises(AttributeError):
        FrozenDict({"a": 1}).x = 2
    assert spec.replace(seed=3).seed == 3


def test_hash_is_stable_across_processes():
    code = ("from assetgen.control import spec_from_seed, spec_from_params\n"
            "print(spec_from_seed(123, psi=0.7).hash)\n"
            "print(spec_from_params({'identity': {'age': 61.5}, 'texture': {'freckles': 0.25}}, ).hash)\n")
    out = [subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": str(i)}).stdout.split() for i in (1, 2)]
    from assetgen.control import spec_from_params

    here = [spec_from_seed(123, psi=0.7).hash,
            spec_from_params({"identity": {"age": 61.5}, "texture": {"freckles": 0.25}}).hash]
    assert out[0] == out[1] == here


@pytest.mark.parametrize("kwargs, match", [
    (dict(identity={"age": 130}), r"identity\.age: 130 is out of range \[18, 90\] years"),
    (dict(identity={"nose-scale-horz": 0.1}), r"identity\.nose-scale-horz: unknown name; did you mean 'nose-sca"),
    (dict(identity={"sex": float("nan")}), r"identity\.sex: expected a finite number"),
    (dict(identity={"sex": "0.5"}), r"identity\.sex: expected a number"),
    (dict(expression={"jawOpen": 1.5}), r"expression\.jawOpen: 1.5 is out of range \[0, 1\]"),
    (dict(expression={"jawopen": 0.5}), r"expression\.jawopen: unknown name; did you mean 'jawOpen'"),
    (dict(texture={"skin_tone": 0}), r"texture\.skin_tone: 0 is out of range \[1, 6\] Fitzpatrick type"),
    (dict(texture={"freckle": 0.2}), r"texture\.freckle: unknown name; did you mean 'freckles'"),
    (dict(pose={"jaw": [60, 0, 0]}), r"pose\.jaw\[0\]: 60 is out of range \[-10, 45\] degrees"),
    (dict(pose={"jaws": [1, 0, 0]}), r"pose\.jaws: unknown joint.*did you mean 'jaw'"),
    (dict(pose={"jaw": [1, 0]}), r"pose\.jaw: expected an axis-angle \[x, y, z\]"),
    (dict(model="flame"), r"model: expected 'open' or 'flame:<16 hex"),
    (dict(model="open", shape=[0.1]), r"shape: the open head takes named identity controls"),
    (dict(model=FLAME_ID, identity={"age": 40}), r"identity\.age: FLAME models have no named identity controls"),
    (dict(model=FLAME_ID, expression={"jawOpen": 0.4}), r"expression\.jawOpen: FLAME models take expression coeff"),
    (dict(model=FLAME_ID, shape=[0, 7]), r"identity\.shape\[1\]: 7 is out of range \[-5, 5\] σ"),
    (dict(seed=-1), r"seed: -1 is out of range"),
    (dict(seed=1.5), r"seed: expected an integer"),
    (dict(texture_seed=True), r"texture_seed: expected an integer"),
    (dict(spec_version=99), r"spec_version: 99 is newer"),
    (dict(texture_latent=[0.0, float("inf")]), r"texture_latent\[1\]: expected a finite number"),
])
def test_bad_fields_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HeadSpec(**kwargs)


@pytest.mark.parametrize("lighting, match", [
    (dict(preset="sunny"), r"lighting\.preset: expected one of .*'studio'"),
    (dict(preset=None, sh=[[0, 0, 0]] * 8), r"lighting\.sh: expected 9 rows"),
    (dict(preset=None, sh=[[0, 0]] * 9), r"lighting\.sh\[0\]: expected 3 numbers"),
    (dict(preset="soft", sh=[[0, 0, 0]] * 9), r"lighting: give either a preset or sh"),
    (dict(camera_pitch=95), r"lighting\.camera_pitch: 95 is out of range \[-60, 60\] degrees"),
])
def test_bad_lighting(lighting, match):
    with pytest.raises(ValueError, match=match):
        Lighting(**lighting)


def test_bad_documents():
    with pytest.raises(ValueError, match=r"idenity: unknown spec field; did you mean 'identity'"):
        HeadSpec.from_dict({"idenity": {}})
    with pytest.raises(ValueError, match=r"spec: not valid JSON"):
        HeadSpec.from_json("{")
    with pytest.raises(ValueError, match=r"lighting\.camera_yawn: unknown field; did you mean 'camera_yaw'"):
        HeadSpec.from_dict({"lighting": {"camera_yawn": 3}})
    with pytest.raises(ValueError, match=r"origin\.door: expected an identifier"):
        Origin(door="a b")


def test_texture_seed_follows_seed():
    a, b = HeadSpec(seed=1), HeadSpec(seed=2)
    assert a.texture_seed != b.texture_seed and a.texture_seed == HeadSpec(seed=1).texture_seed
    assert HeadSpec().texture_seed == 0 and HeadSpec(seed=1, texture_seed=5).texture_seed == 5
