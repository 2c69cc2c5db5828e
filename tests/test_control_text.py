"""The text door (assetgen.control.text): vocabulary, parsing semantics, reporting, errors, determinism and the
evaluation score on tests/data/text_eval.yaml (a quality test; latency is benchmarked, not asserted)."""

from __future__ import annotations

import pytest

import assetgen.heads as heads
from assetgen.control import HeadSpec, edit_from_text, spec_from_seed, spec_from_text
from assetgen.control import text as T
from assetgen.control import text_vocab as V
from flame_fixture import write_flame_folder


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("ASSETGEN_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=100, num_expression=50)
    return heads.load(fx.folder, shape_space_dim=100)


def _attrs(result) -> dict:
    return {p.attribute: p for p in result.understood}


def test_vocabulary_covers_the_issue_list():
    assert {a.category for a in V.VOCABULARY} >= set(V.CATEGORIES)
    expressions = {a.name for a in V.VOCABULARY if a.category == "expression"}
    assert {"smile", "frown", "angry", "surprised", "sad", "disgusted", "wink", "mouth_open"} <= expressions
    for a in V.VOCABULARY:
        assert a.plus and a.open and a.flame, a.name


def test_keywords_degree_negation():
    r = spec_from_text("a very old man with a wide nose, not smiling", seed=1)
    a = _attrs(r)
    assert a["age"].direction == 1 and a["age"].strength == 1.5
    assert a["nose_width"].direction == 1 and a["sex"].direction == 1
    assert a["smile"].direction == 0  # negated one-sided attribute: absent
    assert r.ignored == []
    assert r.spec.identity["age"] >= 74 and r.spec.identity["sex"] >= 0.9 and not r.spec.expression
    slightly = spec_from_text("a slightly old man", seed=1).spec.identity["age"]
    very = spec_from_text("a very old man", seed=1).spec.identity["age"]
    assert slightly < very
    young = _attrs(spec_from_text("not old", seed=2))["age"]
    assert young.direction == -1 and young.strength == 0.5
    assert spec_from_text("smiling", seed=2).spec.expression["mouthSmileLeft"] > 0.5


def test_numbers_and_edits():
    assert spec_from_text("a 60 years old woman", seed=3).spec.identity["age"] == 60
    assert spec_from_text("age 30", seed=3).spec.identity["age"] == 30
    base = spec_from_text("a young man", seed=4).spec
    older = edit_from_text("make him older", base)
    assert older.spec.identity["age"] == pytest.approx(base.identity["age"] + 20)
    assert older.spec.identity["sex"] == base.identity["sex"]  # pronouns do not edit the sex
    assert older.spec.origin.door == "text" and older.spec.origin.details["parents"] == (base.hash,)
    assert edit_from_text("10 years older", base).spec.identity["age"] == pytest.approx(base.identity["age"] + 10)
    smiling = spec_from_text("smiling", seed=4).spec
    more = edit_from_text("smile more", smiling).spec
    assert more.expression["mouthSmileLeft"] > smiling.expression["mouthSmileLeft"]


def test_reports_ignored_and_encoder():
    r = spec_from_text("a bodybuilder, xyzzy qwerty", seed=5)
    assert _attrs(r)["muscle"].source == "encoder" and r.ignored == ["xyzzy qwerty"]


@pytest.mark.parametrize("prompt, match", [("", "empty"), ("   ", "empty"), ("old " * 200, "at most 500"),
                                           ("xyzzy qwerty", "nothing"), ("the stock market fell", "nothing")])
def test_bad_input_names_text(prompt, match):
    with pytest.raises(ValueError, match=f"^text: .*{match}"):
        spec_from_text(prompt)


def test_bad_arguments():
    with pytest.raises(ValueError, match="^text:"):
        spec_from_text(42)
    with pytest.raises(ValueError, match="^model:"):
        spec_from_text("old", model="flame")
    with pytest.raises(ValueError, match="^base_spec:"):
        edit_from_text("older", {"age": 3})


def test_deterministic():
    a = spec_from_text("a weathered old fisherman, wide nose, grinning", seed=7)
    b = spec_from_text("a weathered old fisherman, wide nose, grinning", seed=7)
    assert a.spec.hash == b.spec.hash and a.understood == b.understood
    assert HeadSpec.from_json(a.spec.to_json()) == a.spec


def test_flame_unsupported_is_reported(flame):
    r = spec_from_text("a smiling man with a wide nose", flame, seed=2)
    assert {"smile", "nose_width"} <= set(_attrs(r)) and "sex" not in _attrs(r)
    assert any("sex" in line and "FLAME" in line for line in r.ignored)
    base = spec_from_seed(2, flame)
    assert r.spec.shape != base.shape and r.spec.expression_coefficients != base.expression_coefficients
    with pytest.raises(ValueError, match="^text: nothing"):
        spec_from_text("a man", flame)


def test_eval_score(flame):
    from assetgen.control.text_eval import evaluate, load_eval_set

    entries = load_eval_set()
    assert len(entries) >= 60 and sum(e["model"] == "flame" for e in entries) >= 10
    report = evaluate(entries, {"open": heads.load("open"), "flame": flame})
    assert report.score >= 0.9, report.failures
    assert report.per_model["flame"][0] / report.per_model["flame"][1] >= 0.9
