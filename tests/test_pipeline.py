"""Tests of assetgen.pipeline: one spec → mesh, textures, asset and preview, deterministically."""

import numpy as np
import pytest
import torch
from flame_fixture import write_flame_folder

import assetgen
from assetgen import control, heads
from assetgen.pipeline import GeneratedHead, PipelineOptions, generate_head, load_model

SMALL = PipelineOptions(texture_size=64, lods=2, preview_size=64)


@pytest.fixture(scope="module")
def head() -> GeneratedHead:
    return generate_head(control.spec_from_seed(3), options=SMALL)


def test_generated_head_has_every_part(head):
    model = load_model("open")
    assert head.vertices.shape == (model.num_vertices, 3)
    assert head.textures.size == 64
    assert len(head.asset.lods) == 2
    assert head.asset.morph_target_names == tuple(model.expression_names)
    assert head.preview.shape == (64, 64, 4)
    alpha = head.preview[..., 3]
    assert 0.1 < float((alpha > 0.5).float().mean()) < 0.9  # a head in the middle, background around it


def test_provenance_records_model_licence_generators_seed_and_spec(head):
    p = head.provenance
    assert p["head_model"]["license"].startswith("CC0")
    assert p["project"]["version"] == assetgen.__version__
    assert p["seed"] == 3 and p["spec_hash"] == head.spec.hash
    assert p["spec"] == head.spec.to_dict()
    assert p["generators"]["textures"]["generator"].startswith("assetgen.textures")
    assert p["generators"]["latent_mapper"]["name"] == "procedural"
    assert head.asset.provenance["spec_hash"] == head.spec.hash


def test_same_spec_same_outputs(head):
    again = generate_head(control.spec_from_seed(3), options=SMALL)
    assert torch.equal(again.vertices, head.vertices)
    assert np.array_equal(again.textures.albedo, head.textures.albedo)
    assert torch.equal(again.preview, head.preview)
    other = generate_head(control.spec_from_seed(4), options=SMALL)
    assert not torch.equal(other.vertices, head.vertices)


def test_expression_and_pose_of_the_spec_reach_the_mesh():
    neutral = generate_head(control.spec_from_params({"identity": {"age": 40}}),
                            options=PipelineOptions(texture_size=64, lods=1, preview_size=0))
    smiling = generate_head(control.spec_from_params({"identity": {"age": 40}, "expression": {"jawOpen": 1.0}}),
                            options=PipelineOptions(texture_size=64, lods=1, preview_size=0))
    moved = (smiling.vertices - neutral.vertices).norm(dim=-1)
    assert float(moved.max()) > 0.005  # the jaw opened (meters)
    assert neutral.preview is None


def test_flame_specs_need_their_model(tmp_path):
    flame = heads.load(write_flame_folder(tmp_path / "flame").folder)
    spec = control.spec_from_seed(1, flame)
    with pytest.raises(ValueError, match="model"):
        generate_head(spec, options=SMALL)
    out = generate_head(spec, model=flame, options=PipelineOptions(texture_size=64, lods=1, preview_size=32))
    assert out.vertices.shape == (flame.num_vertices, 3)
    assert out.provenance["head_model"]["id"] == spec.model


@pytest.mark.parametrize("kwargs,field", [({"texture_size": 100}, "texture_size"), ({"texture_size": 4096}, "texture_size"),
                                          ({"lods": 0}, "lods"), ({"lods": 9}, "lods"),
                                          ({"preview_size": -1}, "preview_size")])
def test_bad_options(kwargs, field):
    with pytest.raises(ValueError, match=field):
        PipelineOptions(**kwargs)


def test_bad_spec():
    with pytest.raises(ValueError, match="spec"):
        generate_head({"model": "open"}, options=SMALL)
