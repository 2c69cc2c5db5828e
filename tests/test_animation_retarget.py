"""assetgen.animation.retarget: the ARKit → FLAME map (self-check, open head → FLAME fixture, cache, convert).

The FLAME model is the test fixture (tests/flame_fixture.py): its expression basis is a seeded random field, so
only the fitter's exactness (self-check), determinism and plumbing are checked, not how well a real FLAME file
reproduces ARKit motion.
"""

from __future__ import annotations

import numpy as np
import pytest
from flame_fixture import write_flame_folder

import assetgen.heads
from assetgen.animation import from_keyframes, preset
from assetgen.animation import retarget as R
from assetgen.control import ARKIT_52


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=10, num_expression=16, seed=2)
    return assetgen.heads.load(fx.folder, shape_space_dim=10)


@pytest.fixture(scope="module")
def open_src():
    return R.open_source()


def test_self_transfer_is_identity(flame):
    """FLAME's own expression basis transferred onto FLAME: exact correspondence, identity map."""
    m = R.fit_mapping(R.flame_source(flame), flame, ridge=1e-8, model_id="self")
    np.testing.assert_allclose(m.matrix, np.eye(16), atol=1e-4)
    assert m.explained.min() > 0.9999
    assert m.card["correspondence"].startswith("landmarks") and m.card["scale"] == pytest.approx(1.0)


def test_open_head_to_flame(flame, open_src):
    assert open_src.names == tuple(ARKIT_52) and open_src.deltas.shape == (52, 4538, 3)
    m = R.fit_mapping(open_src, flame, model_id="fixture")
    assert m.matrix.shape == (52, 16) and np.isfinite(m.matrix).all()
    assert ((m.explained >= -1e-9) & (m.explained <= 1 + 1e-9)).all()
    assert m.explained.mean() > 0.05  # a random 16-component basis still reproduces part of the motion
    assert np.abs(m.matrix[ARKIT_52.index("jawOpen")]).sum() > 0
    again = R.fit_mapping(open_src, flame, model_id="fixture")
    np.testing.assert_array_equal(m.matrix, again.matrix)  # deterministic
    # a larger ridge shrinks the coefficients
    assert np.abs(R.fit_mapping(open_src, flame, ridge=10.0, model_id="f").matrix).sum() < np.abs(m.matrix).sum()


def test_without_landmarks_bounding_boxes_align(tmp_path, open_src):
    fx = write_flame_folder(tmp_path, num_shape=5, num_expression=6, landmarks=False, contour=False)
    model = assetgen.heads.load(fx.folder, shape_space_dim=5)
    m = R.fit_mapping(open_src, model, model_id="nolm")
    assert m.card["correspondence"] == "face bounding boxes" and m.matrix.shape == (52, 6)


def test_convert_and_coefficients(flame, open_src):
    m = R.fit_mapping(open_src, flame, model_id="fixture")
    seq = from_keyframes({"jawOpen": [(0, 0), (1, 1)], "eyeBlinkLeft": [(0, 1), (1, 0)]},
                         {"neck": [(0, (0, 0, 0)), (1, (0.1, 0, 0))]}, fps=10)
    out = m.convert(seq)
    assert out.channels == tuple(f"expr{i:03d}" for i in range(16))
    cols = [ARKIT_52.index("jawOpen"), ARKIT_52.index("eyeBlinkLeft")]
    np.testing.assert_allclose(out.weights, seq.weights @ m.matrix[cols])
    np.testing.assert_array_equal(out.rotation("neck"), seq.rotation("neck"))
    np.testing.assert_allclose(m.coefficients({"jawOpen": 0.5}), 0.5 * m.matrix[cols[0]])
    with pytest.raises(ValueError, match="unknown ARKit names"):
        m.coefficients({"jawOpn": 1})
    with pytest.raises(ValueError, match="seq: expected a Sequence"):
        m.convert("smile")
    assert m.convert(out) is out


def test_cache_round_trip(flame, monkeypatch, tmp_path):
    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path))
    R.clear_memory()
    m = R.arkit_mapping(flame)
    files = list((tmp_path / "arkit_flame").glob("*-e16-v*.npz"))
    assert len(files) == 1
    R.clear_memory()
    loaded = R.arkit_mapping(flame)
    np.testing.assert_array_equal(loaded.matrix, m.matrix)
    assert loaded.card == m.card
    files[0].write_bytes(b"not an npz")  # a corrupt cache file is refitted, never trusted
    R.clear_memory()
    np.testing.assert_array_equal(R.arkit_mapping(flame).matrix, m.matrix)
    assert R.arkit_mapping(assetgen.heads.load("open")) is None
    smile = preset("smile", flame)
    np.testing.assert_allclose(smile.weights, R.arkit_mapping(flame).convert(preset("smile")).weights)


def test_bad_arguments(flame, open_src):
    with pytest.raises(ValueError, match="ridge"):
        R.fit_mapping(open_src, flame, ridge=-1)
    with pytest.raises(ValueError, match="do not correspond"):
        R.fit_mapping(open_src, flame, max_distance=1e-9)


def test_pipeline_maps_arkit_clips_and_records_it(flame, monkeypatch, tmp_path):
    from assetgen import control
    from assetgen.pipeline import PipelineOptions, generate_head

    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path))
    R.clear_memory()
    spec = control.spec_from_seed(1, flame)
    head = generate_head(spec, model=flame, animations=[preset("smile")],
                         options=PipelineOptions(texture_size=64, lods=1, preview_size=0))
    (clip,) = head.asset.animations
    np.testing.assert_allclose(clip.morph_weights, R.arkit_mapping(flame).convert(preset("smile")).weights,
                               atol=1e-6)
    assert head.asset.provenance["arkit_mapping"]["fitter_version"] == R.FITTER_VERSION
    plain = generate_head(spec, model=flame, animations=[preset("nod", flame)],
                          options=PipelineOptions(texture_size=64, lods=1, preview_size=0))
    assert "arkit_mapping" not in plain.asset.provenance
