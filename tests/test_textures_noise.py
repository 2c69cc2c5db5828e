"""Direct tests of the seeded band-limited noise (:mod:`assetgen.textures.noise`)."""

from __future__ import annotations

import math

import torch

from assetgen.textures import noise as nz


def test_hash_uniform_is_deterministic_in_range_and_uniform():
    seeds = torch.tensor([0, 1, 2 ** 40 + 3])
    a = nz.hash_uniform(seeds, 3, 20000)
    assert a.shape == (3, 20000) and a.dtype == torch.float32
    assert torch.equal(a, nz.hash_uniform(seeds, 3, 20000))
    assert float(a.min()) > 0.0 and float(a.max()) < 1.0
    for row in a:  # roughly uniform: mean 1/2, variance 1/12, flat histogram
        assert abs(float(row.mean()) - 0.5) < 0.01 and abs(float(row.var()) - 1 / 12) < 0.005
        hist = torch.histc(row, bins=10, min=0.0, max=1.0)
        assert float(hist.min()) > 0.9 * 2000 and float(hist.max()) < 1.1 * 2000
    assert not torch.equal(a[0], a[1]) and not torch.equal(a[0], nz.hash_uniform(seeds[:1], 4, 20000)[0])


def test_noise_volumes_unit_variance_periodic_and_seeded():
    seeds = torch.tensor([5, 5, 6])
    v = nz.noise_volumes(seeds, 1, 2, 24, 6.0)
    assert v.shape == (3, 2, 25, 25, 25) and v.dtype == torch.float32 and torch.isfinite(v).all()
    assert torch.equal(v[0], v[1])  # same seed → same volume
    core = v[..., :24, :24, :24]
    assert abs(float(core.mean())) < 0.1 and 0.8 < float(core.std()) < 1.2
    # wrap padding: the last voxel of each axis repeats the first (the tile is periodic)
    assert torch.equal(v[..., 24, :, :], v[..., 0, :, :]) and torch.equal(v[..., 24], v[..., 0])
    # different seeds / channels / streams are (nearly) uncorrelated
    for x, y in ((v[0, 0], v[2, 0]), (v[0, 0], v[0, 1]), (v[0, 0], nz.noise_volumes(seeds[:1], 2, 1, 24, 6.0)[0, 0])):
        r = torch.corrcoef(torch.stack([x.flatten(), y.flatten()]))[0, 1]
        assert abs(float(r)) < 0.1


def test_sampled_noise_is_continuous_and_band_limited():
    vol = nz.noise_volumes(torch.tensor([9]), 1, 1, 32, 8.0)  # λ = tile / 8
    tile = 0.04
    g = torch.Generator().manual_seed(0)
    p = torch.rand(4000, 3, generator=g) * 0.2 - 0.1
    f = nz.sample_volumes(vol, nz.tile_coordinates(p, tile))[0, 0]
    assert f.shape == (4000,) and torch.isfinite(f).all() and float(f.abs().max()) < 6.0
    # continuity: a step of λ/100 changes the value by a small fraction of its spread
    step = tile / 8 / 100
    d = torch.nn.functional.normalize(torch.randn(4000, 3, generator=g), dim=-1) * step
    f2 = nz.sample_volumes(vol, nz.tile_coordinates(p + d, tile))[0, 0]
    assert float((f2 - f).abs().max()) < 0.25 * float(f.std())
    # periodic in the tile, also rotated
    rot = nz.random_rotation(3)
    assert torch.allclose(rot @ rot.T, torch.eye(3), atol=1e-5) and abs(float(torch.linalg.det(rot)) - 1) < 1e-5
    a = nz.sample_volumes(vol, nz.tile_coordinates(p, tile, rot))
    shift = (torch.tensor([tile, -2 * tile, tile]) @ rot)  # a whole number of periods in the rotated frame
    b = nz.sample_volumes(vol, nz.tile_coordinates(p + shift, tile, rot))
    assert float((a - b).abs().max()) < 1e-3
    # decorrelates beyond a wavelength
    far = nz.sample_volumes(vol, nz.tile_coordinates(p + torch.tensor([tile / 8 * math.pi, 0.0, 0.0]), tile))[0, 0]
    assert abs(float(torch.corrcoef(torch.stack([f, far]))[0, 1])) < 0.5


def test_noise_is_identical_for_batched_and_single_seeds():
    both = nz.noise_volumes(torch.tensor([1, 2]), 1, 1, 16, 4.0)
    one = nz.noise_volumes(torch.tensor([2]), 1, 1, 16, 4.0)
    assert torch.allclose(both[1], one[0], atol=1e-6)
