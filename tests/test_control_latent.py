"""Latent door (assetgen.control.latent): seed generator, batched path, truncation, mapper interface, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch

import assetgen.heads as heads
from assetgen.control import (
    LATENT_DIM,
    TEXTURE_CONTROLS,
    HeadSpec,
    LatentMapper,
    MappedBatch,
    ModelInfo,
    interpolate_latents,
    latent_from_seed,
    latents_from_seeds,
    model_info,
    resolve_batch,
    spec_from_latent,
    spec_from_seed,
    specs_from_latents,
)
from assetgen.control import controls as C
from flame_fixture import write_flame_folder


@pytest.fixture(scope="module")
def flame(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=50, num_expression=20, subdivisions=2,
                            masks=False, uv_template=False)
    return heads.load(fx.folder, shape_space_dim=50)


def test_seed_generator_is_documented_inverse_cdf():
    z = latent_from_seed(5)
    u = np.random.Generator(np.random.PCG64(np.random.SeedSequence(5))).random(LATENT_DIM)
    assert z.shape == (LATENT_DIM,) and z.dtype == np.float64
    assert np.array_equal(z, scipy.special.ndtri(u + 2.0**-54))
    assert not np.allclose(z, latent_from_seed(6))
    big = latents_from_seeds(range(400)).ravel()
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1) < 0.01
    assert np.array_equal(latents_from_seeds([5, 6])[0], z)


def test_golden_values():
    """The generator and the default mapper must not change silently (bump the mapper version if they must)."""
    assert np.allclose(latent_from_seed(0)[:4], [0.350349227, -0.613458179, -1.739498887, -2.131411321], atol=1e-9)
    assert np.allclose(latent_from_seed(2**40)[:2], [-0.356295676, 0.327196187], atol=1e-9)
    assert spec_from_seed(0).hash == "5cde61a59d96d8ac29b9dba84b042033466e42ef2a6db0de96cf106536d146fc"


def test_batched_equals_single_and_is_deterministic():
    z = latents_from_seeds(range(8))
    batch = specs_from_latents(z, psi=0.8, seeds=list(range(8)))
    for i in (0, 7):
        one = spec_from_latent(z[i], psi=0.8, seed=i)
        assert one == batch[i] and one.to_json() == batch[i].to_json()
        assert spec_from_seed(i, psi=0.8) == one
    assert specs_from_latents(torch.from_numpy(z), psi=0.8, seeds=list(range(8))) == batch
    assert len({s.hash for s in batch}) == 8


def test_batched_specs_are_canonical_specs():
    """The trusted fast path builds exactly what validation would build."""
    for spec in specs_from_latents(latents_from_seeds(range(5)), expression_scale=1.0, seeds=list(range(5))):
        again = HeadSpec.from_dict(spec.to_dict())
        assert again == spec and again.to_json() == spec.to_json()
        assert spec.origin.door == "latent" and spec.origin.mapper == "procedural" and spec.origin.mapper_version == 1
        assert spec.origin.details == {"psi": 1.0, "expression_scale": 1.0}
        assert len(spec.texture_latent) == 64 and set(spec.texture) == set(TEXTURE_CONTROLS)


def test_neutral_expression_and_pose_by_default():
    spec = spec_from_seed(3)
    assert spec.expression == {} and spec.pose == {}
    expressive = [spec_from_seed(s, expression_scale=1.0) for s in range(30)]
    assert sum(bool(s.expression) for s in expressive) >= 25
    assert all(0 <= w <= 1 for s in expressive for w in s.expression.values())


def test_truncation_reduces_variance():
    z = latents_from_seeds(range(600))
    spread = {}
    for psi in (1.0, 0.5, 0.0):
        specs = specs_from_latents(z, psi=psi)
        ident = np.array([[s.identity.get(n, 0.0) for n in C.OPEN_IDENTITY_CONTROLS] for s in specs])
        tex = np.array([[s.texture[n] for n in TEXTURE_CONTROLS] for s in specs])
        spread[psi] = (ident.std(0).sum(), tex.std(0).sum())
    assert spread[1.0][0] > spread[0.5][0] * 1.5 > 0 and spread[1.0][1] > spread[0.5][1] * 1.3
    assert max(spread[0.0]) < 1e-9  # ψ = 0: every latent gives the average head


def test_flame_prior(flame):
    info = model_info(flame)
    z = latents_from_seeds(range(300))
    specs = specs_from_latents(z, flame, expression_scale=0.5)
    assert all(s.model == info.id and s.identity == {} and len(s.shape) <= 50 for s in specs)
    beta = np.array([list(s.shape) + [0.0] * (50 - len(s.shape)) for s in specs])
    inside = np.abs(z[:, 40:90]) < 4  # beyond ±4σ a C¹ shoulder keeps values inside ±5σ
    assert np.allclose(beta[inside], np.round(z[:, 40:90], 6)[inside])  # N(0, I) prior, in σ units
    assert inside.mean() > 0.999 and np.all(np.abs(beta) < 5)
    psi_ = np.array([list(s.expression_coefficients) + [0.0] * (20 - len(s.expression_coefficients)) for s in specs])
    assert np.allclose(psi_, np.round(0.5 * z[:, 340:360], 6), atol=1e-6)
    inputs = resolve_batch(specs[:4], flame)
    assert inputs.shape.shape == (4, 50) and inputs.expression.shape == (4, 20)
    assert torch.isfinite(flame(**inputs.forward_kwargs()).vertices).all()
    # more components than the latent carries: the rest stay 0; extreme latents stay inside ±5 σ
    wide = ModelInfo(info.id, "flame", 400, 150)
    extreme = specs_from_latents(np.full((1, LATENT_DIM), 30.0), wide, expression_scale=2.0)[0]
    assert len(extreme.shape) == 300 and len(extreme.expression_coefficients) == 100
    assert max(map(abs, extreme.shape)) <= 5 and max(map(abs, extreme.expression_coefficients)) <= 5


def test_interpolate_latents():
    z0, z1 = latent_from_seed(1), latent_from_seed(2)
    for method in ("slerp", "lerp"):
        path = interpolate_latents(z0, z1, np.linspace(0, 1, 5), method=method)
        assert path.shape == (5, LATENT_DIM)
        assert np.allclose(path[0], z0) and np.allclose(path[-1], z1)
    mid = interpolate_latents(z0, z1, 0.5)
    assert mid.shape == (LATENT_DIM,)
    norm = (np.linalg.norm(z0) + np.linalg.norm(z1)) / 2
    assert np.isclose(np.linalg.norm(mid), norm)  # slerp keeps typical norms (lerp would shrink it)
    with pytest.raises(ValueError, match=r"method: expected 'slerp' or 'lerp'"):
        interpolate_latents(z0, z1, 0.5, method="cubic")
    with pytest.raises(ValueError, match=r"z0, z1: expected two vectors"):
        interpolate_latents(z0, z1[:10], 0.5)


@pytest.mark.parametrize("z, kwargs, match", [
    (np.zeros((2, 511)), {}, r"latent: expected shape \[N, 512\], got \[2, 511\]"),
    (np.zeros(512), {}, r"latent: expected shape \[N, 512\], got \[512\]"),
    (np.zeros((0, 512)), {}, r"latent: expected at least one"),
    (np.where(np.arange(1024).reshape(2, 512) == 700, np.nan, 0.0), {}, r"latent: row 1, entry 188 is nan"),
    (np.full((1, 512), np.inf), {}, r"latent: row 0, entry 0 is inf"),
    ("abc", {}, r"latent: expected an array of numbers of shape \[N, 512\]"),
    (np.zeros((1, 512)), {"psi": 3.0}, r"psi: 3 is out of range \[0, 2\]"),
    (np.zeros((1, 512)), {"psi": float("nan")}, r"psi: nan is out of range"),
    (np.zeros((1, 512)), {"expression_scale": -1}, r"expression_scale: -1 is out of range"),
    (np.zeros((2, 512)), {"seeds": [1]}, r"seeds: expected 2 values"),
    (np.zeros((1, 512)), {"seeds": [-3]}, r"seeds\[0\]: -3 is out of range"),
    (np.zeros((1, 512)), {"texture_seeds": [1.5]}, r"texture_seeds\[0\]: expected an integer"),
])
def test_bad_latent_input(z, kwargs, match):
    with pytest.raises(ValueError, match=match):
        specs_from_latents(z, **kwargs)


def test_spec_from_latent_and_seed_errors():
    with pytest.raises(ValueError, match=r"latent: expected shape \[512\]"):
        spec_from_latent(np.zeros((1, 512)))
    with pytest.raises(ValueError, match=r"seed: expected an integer"):
        spec_from_seed("7")


class ConstantMapper(LatentMapper):
    """A stand-in for a learned mapper: the interface is all callers need."""

    name, version, latent_dim = "constant", 3, 16

    def __init__(self, age: float = 40.0):
        self.age = age

    def map(self, z, model, *, psi=1.0, expression_scale=0.0):
        n = z.shape[0]
        identity = np.zeros((n, 145))
        identity[:, :6] = [0.5, self.age, 0.5, 0.5, 0.5, 0.5]
        texture = np.array([[r.default for r in TEXTURE_CONTROLS.values()]] * n)
        return MappedBatch(identity=identity, shape=None, expression=np.zeros((n, 52)), texture=texture,
                           texture_latent=psi * z[:, :4])


def test_custom_mapper_plugs_in_and_is_checked():
    specs = specs_from_latents(np.ones((2, 16)), mapper=ConstantMapper(), psi=0.5)
    assert specs[0].origin.mapper == "constant" and specs[0].origin.mapper_version == 3
    assert specs[0].identity["age"] == 40.0 and specs[0].texture_latent == (0.5,) * 4
    with pytest.raises(ValueError, match=r"latent: expected shape \[N, 16\]"):
        specs_from_latents(np.ones((2, 512)), mapper=ConstantMapper())
    with pytest.raises(ValueError, match=r"mapper 'constant': identity\.age = 95.0 \(row 0\) is out of range"):
        specs_from_latents(np.ones((1, 16)), mapper=ConstantMapper(age=95.0))
