"""The default latent mapper (assetgen.control.procedural): smooth in z, plausible joint distribution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import assetgen.heads as heads
from assetgen.control import (
    OPEN_LOCAL_CHANGES,
    TEXTURE_CONTROLS,
    interpolate_latents,
    latent_from_seed,
    latents_from_seeds,
    resolve_batch,
    specs_from_latents,
)
from assetgen.control.procedural import soft_clip, smoothstep
from flame_fixture import write_flame_folder

STEPS = 100


@pytest.fixture(scope="module")
def open_model():
    return heads.load("open", dtype=torch.float64)


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=50, num_expression=20, subdivisions=2,
                            masks=False, uv_template=False)
    return heads.load(fx.folder, dtype=torch.float64, shape_space_dim=50)


@pytest.fixture(scope="module")
def population():
    """2,000 open-head specs (seeds 0..1999)."""
    specs = specs_from_latents(latents_from_seeds(range(2000)))
    ident = {k: np.array([s.identity.get(k, 0.0) for s in specs]) for k in ("sex", "age", "muscle", "weight", "height")}
    tex = {k: np.array([s.texture[k] for s in specs]) for k in TEXTURE_CONTROLS}
    local = np.array([[s.identity.get(n, 0.0) for n in OPEN_LOCAL_CHANGES] for s in specs])
    return ident, tex, local


def path_specs(seed_a: int, seed_b: int, model, method: str, **kw):
    z = interpolate_latents(latent_from_seed(seed_a), latent_from_seed(seed_b), np.linspace(0, 1, STEPS), method)
    return specs_from_latents(z, model, texture_seeds=[0] * STEPS, **kw)


def vertex_steps(specs, model) -> torch.Tensor:
    verts = model(**resolve_batch(specs, model).forward_kwargs()).vertices
    return (verts[1:] - verts[:-1]).norm(dim=-1).max(-1).values  # [STEPS-1] max vertex displacement, meters


@pytest.mark.parametrize("seeds", [(0, 1), (4, 5), (10, 11), (20, 21)])
@pytest.mark.parametrize("method", ["slerp", "lerp"])
def test_open_head_morphs_without_jumps(open_model, seeds, method):
    steps = vertex_steps(path_specs(*seeds, open_model, method, expression_scale=1.0), open_model)
    assert steps.mean() > 1e-4  # the heads differ (≥ 1 cm over the path)
    assert steps.max() <= 3.0 * steps.mean(), f"max step {steps.max():.2e} m vs mean {steps.mean():.2e} m"


def test_flame_morphs_without_jumps(flame):
    for seeds in ((0, 1), (2, 3)):
        steps = vertex_steps(path_specs(*seeds, flame, "slerp", expression_scale=1.0), flame)
        assert steps.mean() > 0 and steps.max() <= 3.0 * steps.mean()


@pytest.mark.parametrize("seeds", [(0, 1), (4, 5), (10, 11), (20, 21), (30, 31)])
def test_texture_controls_change_smoothly(seeds):
    specs = path_specs(*seeds, "open", "slerp")
    for name, rng in TEXTURE_CONTROLS.items():
        values = np.array([s.texture[name] for s in specs]) / (rng.max - rng.min)
        steps = np.abs(np.diff(values))
        neighbours = np.maximum(np.r_[steps[1:2], steps[:-1]], np.r_[steps[1:], steps[-2:-1]])
        # a jump is a step much larger than the steps next to it (sampled smooth curves change gradually)
        assert np.all(steps <= 2.0 * neighbours + 2e-3), f"{name}: steps {steps.round(4)}"
        assert steps.max() <= 0.08  # ≤ 8% of the control's range per 1% of the path


def test_adults_and_coverage(population):
    ident, tex, _ = population
    assert ident["age"].min() >= 18 and ident["age"].max() <= 90
    assert np.median(ident["age"]) < 50 and (ident["age"] > 70).mean() > 0.05  # adult-skewed, old people too
    hist = np.histogram(tex["skin_tone"], bins=5, range=(1, 6))[0]
    assert hist.min() > 200 and tex["skin_tone"].min() < 1.1 and tex["skin_tone"].max() > 5.9
    assert (ident["sex"] < 0.2).mean() > 0.3 and (ident["sex"] > 0.8).mean() > 0.3  # mostly clearly F or M


def test_stubble_only_on_male_heads(population):
    ident, tex, _ = population
    female = ident["sex"] < 0.5
    assert tex["stubble"][female].max() == 0.0
    assert tex["stubble"][ident["sex"] > 0.9].mean() > 0.4


def test_pigmentation_correlations(population):
    _, tex, _ = population
    tone = tex["skin_tone"]
    assert np.corrcoef(tone, tex["hair_darkness"])[0, 1] > 0.4
    assert np.corrcoef(tone, tex["eye_color"])[0, 1] > 0.4
    assert np.corrcoef(tex["hair_darkness"], tex["eye_color"])[0, 1] > 0.3
    dark = tone > 4.5
    assert tex["freckles"][dark].max() == 0.0 and tex["hair_redness"][dark].max() == 0.0
    assert tex["hair_darkness"][dark].min() >= 0.85 and tex["eye_color"][dark].min() >= 0.85
    light = tone < 2
    assert tex["hair_darkness"][light].min() < 0.1 and tex["eye_color"][light].min() < 0.1  # blonds, blue eyes
    redheads = tex["hair_redness"] > 0.5
    assert 0.005 < redheads.mean() < 0.1
    assert tex["freckles"][redheads].mean() > 2 * tex["freckles"][light & ~redheads].mean()


def test_age_drives_skin(population):
    ident, tex, local = population
    age = ident["age"]
    assert np.corrcoef(age, tex["skin_age"])[0, 1] > 0.95
    assert tex["age_spots"][age < 40].max() == 0.0 and tex["age_spots"][age > 70].mean() > 0.2
    assert np.corrcoef(age, local[:, OPEN_LOCAL_CHANGES.index("head-age")])[0, 1] > 0.3


def test_build_and_face_shape_correlations(population):
    ident, _, local = population
    col = {n: local[:, i] for i, n in enumerate(OPEN_LOCAL_CHANGES)}
    assert np.corrcoef(ident["sex"], ident["height"])[0, 1] > 0.3
    assert np.corrcoef(ident["weight"], col["head-fat"])[0, 1] > 0.4
    assert np.corrcoef(ident["sex"], col["chin-width"])[0, 1] > 0.2
    assert np.corrcoef(col["l-eye-scale"], col["r-eye-scale"])[0, 1] > 0.85  # faces are nearly symmetric
    assert np.corrcoef(col["l-eye-scale"], col["r-eye-scale"])[0, 1] < 0.99  # … but not exactly
    assert np.corrcoef(col["l-ear-scale"], col["r-ear-scale"])[0, 1] > 0.85
    assert np.all(np.abs(local) < 1) and 0.1 < local.std(0).mean() < 0.45
    assert all(0.1 <= ident[k].min() and ident[k].max() <= 0.9 for k in ("muscle", "weight", "height"))


def test_helpers_are_smooth():
    x = np.linspace(-1, 2, 301)
    s = smoothstep(x)
    assert s[0] == 0 and s[-1] == 1 and np.all(np.diff(s) >= 0)
    y = np.linspace(-8, 8, 1601)
    c = soft_clip(y)
    assert np.all(np.abs(c) < 5) and np.allclose(c[np.abs(y) <= 4], y[np.abs(y) <= 4])
    assert np.abs(np.diff(np.diff(c))).max() < 1e-3  # no kink: the slope is continuous at the knee
