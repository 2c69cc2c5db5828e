"""SH lighting: basis, Lambertian irradiance (Ramamoorthi & Hanrahan), presets, rotation, bad specs."""

import math

import pytest
import torch

from assetgen.render.lighting import (PRESETS, directional_sh, dominant_light, irradiance, lambertian, rotate_sh,
                                      rotate_sh_yaw, sh_basis, sh_from_spec)


def _dirs(n=2000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=torch.float64), dim=-1)


def test_basis_orthonormal_on_the_sphere():
    d = _dirs(200_000)
    y = sh_basis(d)
    gram = 4 * math.pi * (y.T @ y) / d.shape[0]  # Monte Carlo ∫ Y_i Y_j dω
    assert torch.allclose(gram, torch.eye(9, dtype=torch.float64), atol=0.02)
    assert torch.allclose(sh_basis(torch.tensor([0.0, 0.0, 1.0]))[:4],
                          torch.tensor([0.282095, 0.0, 0.488603, 0.0]), atol=1e-6)  # band 1 order: y, z, x


def test_constant_environment_gives_pi_l():
    sh = torch.zeros(9, 3, dtype=torch.float64)
    radiance = torch.tensor([0.2, 0.5, 1.0], dtype=torch.float64)
    sh[0] = radiance * math.sqrt(4 * math.pi)  # L(ω) = radiance everywhere
    e = irradiance(_dirs(), sh)
    assert torch.allclose(e, math.pi * radiance.expand_as(e), atol=1e-9)
    assert torch.allclose(lambertian(_dirs(), sh), radiance.expand_as(e), atol=1e-9)


def test_linear_environment_and_directional_light():
    # L(ω) = ω_z (a "band-1" sky): E(n) = ∫ max(n·ω, 0) ω_z dω = (2π/3) n_z
    sh = torch.zeros(9, 3, dtype=torch.float64)
    sh[2] = 1.0 / 0.4886025119029199
    n = _dirs()
    assert torch.allclose(irradiance(n, sh), (2 * math.pi / 3 * n[:, 2:3]).expand(-1, 3), atol=1e-9)
    # a distant light: the band-2 approximation of max(n·d, 0) (R&H: under ~10% error)
    d = torch.tensor([0.3, 0.5, 0.8124], dtype=torch.float64)
    d = d / d.norm()
    sh_d = directional_sh(d, (1.0, 1.0, 1.0)).double()
    exact = (n @ d).clamp_min(0)[:, None]
    assert float((lambertian(n, sh_d) - exact).abs().max()) < 0.12
    # facing the light, the truncated series sums to Σ_l Â_l (2l + 1) / (4π) = 1/4 + 1/2 + 5/16 = 1.0625
    assert abs(float(lambertian(d[None], sh_d)[0, 0]) - 1.0625) < 1e-9


def test_presets_are_27_numbers_and_plausible():
    assert set(PRESETS) == {"studio", "soft", "outdoor", "dramatic"}
    front = torch.tensor([[0.0, 0.0, 1.0]])
    for name, sh in PRESETS.items():
        assert sh.shape == (9, 3) and sh.numel() == 27
        s = lambertian(front, sh)
        assert (s > 0.05).all() and (s < 1.3).all(), name
    assert torch.equal(sh_from_spec("studio")[0], PRESETS["studio"])
    flat = PRESETS["soft"].reshape(27).tolist()
    assert torch.allclose(sh_from_spec(flat)[0], PRESETS["soft"])
    assert sh_from_spec(torch.zeros(4, 27)).shape == (4, 9, 3)


def test_rotation_moves_the_environment():
    sh = PRESETS["dramatic"].double()
    g = torch.Generator().manual_seed(3)
    q = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64))[0]
    r = q * torch.sign(torch.det(q))
    rot = rotate_sh(sh, r)[0]
    n = _dirs(500)
    # the rotated environment at R n equals the original at n
    assert torch.allclose(irradiance(n @ r.T, rot), irradiance(n, sh), atol=1e-9)
    # yaw +90°: a light toward +Z moves to +X
    light = directional_sh(torch.tensor([0.0, 0.0, 1.0]), (1.0, 1.0, 1.0)).double()
    turned = rotate_sh_yaw(light[None], 90.0)
    direction, rgb = dominant_light(turned)
    assert torch.allclose(direction[0], torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), atol=1e-9)
    assert torch.allclose(rgb[0], torch.ones(3, dtype=torch.float64), atol=1e-9)


def test_bad_specs():
    with pytest.raises(ValueError, match="unknown preset"):
        sh_from_spec("disco")
    with pytest.raises(ValueError, match="27"):
        sh_from_spec(torch.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        sh_from_spec(torch.full((9, 3), math.nan))
