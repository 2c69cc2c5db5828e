"""Seeded, band-limited 3D noise for procedural textures: periodic Gaussian random fields sampled in one gather.

A noise *volume* is a periodic ``N³`` grid of a Gaussian random field with a band-pass spectrum (peak
wavelength ``≥ 4`` voxels, so trilinear interpolation is smooth at the scale of the features). It is built
from white noise drawn from a counter-based integer hash (identical on CPU and CUDA, no RNG state, no
atomics), filtered with one real FFT. A volume covers a cube of ``tile`` meters and repeats; many noise
channels of one scale are sampled at once with :func:`torch.nn.functional.grid_sample` at precomputed
per-texel grid coordinates (:func:`tile_coordinates`), so per-head work is one gather per scale.

Everything is float32 and batched: ``[B, C, N, N, N]`` volumes for ``B`` seeds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["hash_uniform", "noise_volumes", "sample_volumes", "tile_coordinates"]

_MASK32 = 0xFFFFFFFF
_M1 = 0x7FEB352D
_M2 = 0x846CA68B - (1 << 32)  # as a signed int32


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer finaliser (lowbias32 by C. Wellons) on int64 tensors holding uint32 values."""
    x = x & _MASK32
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _MASK32
    return x ^ (x >> 16)


def _mix32_i32(x: torch.Tensor) -> torch.Tensor:
    """:func:`_mix32` on int32 tensors (two's-complement wrap-around; logical shifts by masking): the same
    bits, half the memory traffic of int64 on the GPU."""
    x = x ^ ((x >> 16) & 0xFFFF)
    x = x * _M1
    x = x ^ ((x >> 15) & 0x1FFFF)
    x = x * _M2
    return x ^ ((x >> 16) & 0xFFFF)


def _to_i32(x: torch.Tensor) -> torch.Tensor:
    """int64 holding a uint32 value → the int32 with the same bits."""
    return torch.where(x >= 2 ** 31, x - 2 ** 32, x).to(torch.int32)


def hash_uniform(seeds: torch.Tensor, stream: int, count: int) -> torch.Tensor:
    """``[B, count]`` float32 uniforms in (0, 1) from integer ``seeds [B]`` and a stream id (deterministic on
    every device: pure integer arithmetic; the per-element work is int32, the per-seed key int64)."""
    seeds = seeds.to(torch.int64)
    key = _mix32(_mix32(seeds ^ (seeds >> 32)) * 0x9E3779B1 + stream * 0x85EBCA77)  # [B], uint32 in int64
    idx = torch.arange(count, device=seeds.device, dtype=torch.int32)
    h = _mix32_i32(_mix32_i32(_to_i32(key)[:, None] ^ idx[None, :]) + idx[None, :] * _to_i32(
        torch.tensor(0xC2B2AE3D)).item())
    # top 24 bits → float32 exactly: (k + 0.5) / 2^24 lies in (0, 1)
    return (((h >> 8) & 0xFFFFFF).to(torch.float32) + 0.5) * (1.0 / 16777216.0)


def _band_filter(n: int, peak_cycles: float, device: torch.device, bandwidth: float = 0.45) -> torch.Tensor:
    """Amplitude filter ``[n, n, n//2+1]`` of a band-pass (log-normal in frequency, ``bandwidth`` its standard
    deviation in ln k) around ``peak_cycles`` cycles per tile."""
    f = torch.fft.fftfreq(n, d=1.0 / n, device=device)
    fr = torch.fft.rfftfreq(n, d=1.0 / n, device=device)
    k = torch.sqrt(f[:, None, None] ** 2 + f[None, :, None] ** 2 + fr[None, None, :] ** 2)
    amp = torch.exp(-0.5 * (torch.log(k.clamp_min(1e-6) / peak_cycles) / bandwidth) ** 2)
    amp[0, 0, 0] = 0.0
    return amp


def noise_volumes(seeds: torch.Tensor, stream: int, channels: int, n: int, peak_cycles: float,
                  bandwidth: float = 0.45) -> torch.Tensor:
    """``[B, C, n+1, n+1, n+1]`` float32 periodic unit-variance noise volumes (wrap-padded by one voxel).

    Args:
        seeds: ``[B]`` integer seeds (one volume set per seed), on the target device.
        stream: distinguishes independent volume sets of one seed.
        channels: independent channels per seed.
        n: voxels per side (the tile period).
        peak_cycles: spectral peak in cycles per tile; keep ``n / peak_cycles ≥ 4`` for smooth sampling.
        bandwidth: spectral width (standard deviation of ln k); narrower keeps less power above the peak
            (band-limits the field and, more so, its slopes, to the texel footprint).
    """
    device = seeds.device
    b = seeds.shape[0]
    count = channels * n * n * n
    u1 = hash_uniform(seeds, 2 * stream, count)
    u2 = hash_uniform(seeds, 2 * stream + 1, count)
    white = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)  # Box-Muller
    white = white.view(b, channels, n, n, n)
    amp = _band_filter(n, peak_cycles, device, bandwidth)
    field = torch.fft.irfftn(torch.fft.rfftn(white, dim=(-3, -2, -1)) * amp, s=(n, n, n), dim=(-3, -2, -1))
    # exact unit variance: white noise has unit power per frequency bin
    var = (2.0 * (amp ** 2).sum() - (amp[..., 0] ** 2).sum() - (amp[..., -1] ** 2).sum() * (n % 2 == 0)) / n ** 3
    field = field / var.sqrt()
    return F.pad(field.reshape(b * channels, n, n, n), (0, 1, 0, 1, 0, 1), mode="circular").view(
        b, channels, n + 1, n + 1, n + 1).contiguous()


def tile_coordinates(points: torch.Tensor, tile: float, rotation: torch.Tensor | None = None) -> torch.Tensor:
    """``grid_sample`` coordinates ``[P, 3]`` in [-1, 1] of ``points [P, 3]`` (m) in a periodic tile of
    ``tile`` meters (optionally rotated by ``rotation [3, 3]`` so the period is not axis-aligned)."""
    q = points if rotation is None else points @ rotation.T.to(points)
    g = torch.frac(q / tile)
    g = torch.where(g < 0, g + 1.0, g)
    return (2.0 * g - 1.0).flip(-1).contiguous()  # grid_sample wants (x=W, y=H, z=D) order


def sample_volumes(volumes: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Trilinear samples ``[B, C, P]`` of ``volumes [B, C, n+1, n+1, n+1]`` at ``coords [P, 3]``.

    The batch is folded into the channels of ``grid_sample`` gathers, in chunks of seeds whose volumes fit
    in a GPU's L2 cache together (~8 MB): one gather over all ``B·C`` volumes at once thrashes the cache.
    Chunking changes no value (each output element is computed the same way).
    """
    b, c = volumes.shape[:2]
    per_seed = c * volumes[0, 0].numel() * volumes.element_size()
    chunk = max(1, min(b, (8 << 20) // max(per_seed, 1)))
    grid = coords.view(1, 1, 1, -1, 3).to(volumes)
    outs = []
    for start in range(0, b, chunk):
        part = volumes[start:start + chunk]
        vol = part.reshape(1, part.shape[0] * c, *volumes.shape[2:])
        outs.append(F.grid_sample(vol, grid, mode="bilinear", padding_mode="border", align_corners=True)
                    .view(part.shape[0], c, -1))
    return outs[0] if len(outs) == 1 else torch.cat(outs, 0)


def random_rotation(seed: int) -> torch.Tensor:
    """A fixed ``[3, 3]`` rotation from an integer (deterministic), to de-align noise tiles from the axes."""
    u = hash_uniform(torch.tensor([seed]), 7, 3)[0].double()
    # uniform random unit quaternion (Shoemake)
    a, b, c = u.tolist()
    q = (math.sqrt(1 - a) * math.sin(2 * math.pi * b), math.sqrt(1 - a) * math.cos(2 * math.pi * b),
         math.sqrt(a) * math.sin(2 * math.pi * c), math.sqrt(a) * math.cos(2 * math.pi * c))
    x, y, z, w = q
    return torch.tensor([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ], dtype=torch.float32)
