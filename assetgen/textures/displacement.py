"""Displacement of the procedural texture model (meters along the vertex normal, bounded to
±:data:`DISPLACEMENT_RANGE_M`): pores and micro-relief, raised moles, and the wrinkle families (forehead
lines, glabella, crow's feet, under-eye lines, nasolabial folds, neck lines) that grow with
``skin_age × wrinkles``.

The same function is evaluated at the texel points and at the points offset by
:data:`~assetgen.textures.layout.SLOPE_STEP_M` along the smooth per-texel tangent and bitangent, so the normal
map takes its slopes in 3D (identical on both sides of a UV seam), not from texel differences in each flat
triangle's plane. Every term is band-limited to the pore wavelength (≈ 1.5 mm, ≥ 4 texels at 1K on the face):
soft pore shape, dome-shaped moles, grooves no narrower than ≈ 0.5 mm."""

from __future__ import annotations

import os

import torch

from assetgen.textures.layout import SLOPE_STEP_M, ProceduralLayout

__all__ = ["DISPLACEMENT_RANGE_M", "displacement"]

#: Displacement is clamped to ±this many meters and encoded over exactly that range.
DISPLACEMENT_RANGE_M = 5e-4

_FAMILIES = {"forehead": (1.6e-4, 0.10), "glabella": (1.0e-4, 0.0), "crows": (1.2e-4, 0.05),
             "undereye": (0.8e-4, 0.15), "nasolabial": (2.0e-4, 0.35), "neck": (1.3e-4, 0.1)}


def displacement(layout: ProceduralLayout, c: dict[str, torch.Tensor], n: dict[str, torch.Tensor]
                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``[B, P]`` displacement (meters) from the per-scale noise ``n``, and, where ``n`` holds the noise at the
    tangent/bitangent-offset points (``"pore_tb"``, ``"fine_tb"``: ``[B, 2, 2P]``), the slopes ``[B, 2, P]``
    (d/dT, d/dB, dimensionless) of the displacement along the reference head's smooth tangent frame."""
    pore, micro = n["pore"][:, 0], n["pore"][:, 2]
    mole, warp = n["fine"][:, 1], n["fine"][:, 2]
    mid = n["mid"][:, 0]
    d = _eval(layout, c, pore[:, None], micro[:, None], mole[:, None], warp[:, None], mid[:, None], None)[:, 0]
    if "pore_tb" not in n:
        return d, None
    b, p = pore.shape
    ptb, ftb = n["pore_tb"].view(b, 2, 2, p), n["fine_tb"].view(b, 2, 2, p)  # [B, channel, T|B, P]
    dtb = _eval(layout, c, ptb[:, 0], ptb[:, 1], ftb[:, 0], ftb[:, 1], mid[:, None], "_tb")
    return d, (dtb - d[:, None]) * (layout.maps["slope_mask"] * (1.0 / SLOPE_STEP_M))


def _eval(layout, c, pore, micro, mole, warp, mid, suffix):
    """Displacement ``[B, V, P]`` of noise ``[B, V, P]`` (V = 1 at the texels, 2 at the T/B offsets)."""
    maps = layout.maps
    col = lambda t: t[:, None, None]  # noqa: E731  [B] → [B, 1, 1]
    age = col(((c["skin_age"] - 20.0) / 50.0).clamp(0.0, 1.4))
    pores = col(c["pores"]) * maps["pore"] * (1.0 + 0.3 * age)
    thr_m = 4.4 - 1.3 * col(c["moles"])
    mole_amp = 6e-5 * maps["mole_zone"] * (col(c["moles"]) > 0)
    disp = _fused(_relief, pore.device)(pore, micro, mole, pores, mole_amp, thr_m)
    wr = col(c["wrinkles"])
    for name, (amp, base) in _FAMILIES.items():
        sub = layout.subsets.get(name)
        if sub is None or sub.idx.numel() == 0:
            continue
        if suffix is None:
            data = {k: v[None] for k, v in sub.data.items() if not k.endswith("_tb") and v.ndim == 1}
        else:
            data = {k[:-3]: v for k, v in sub.data.items() if k.endswith("_tb")}
        w = warp[..., sub.idx]
        if "phase" in data:
            ph = data["phase"] + 0.22 * w
            dist = (ph - ph.round()).abs()  # in line spacings
            width = sub.data["width"] / _line_spacing(name)
            groove = torch.exp(-(dist / width) ** 2)
        else:
            groove = torch.exp(-((data["dist"] + 0.0015 * w) / sub.data["width"]) ** 2)
        strength = amp * wr * (base + age).clamp_min(0.0) * (1.0 + 0.25 * mid[..., sub.idx])
        disp[..., sub.idx] = disp[..., sub.idx] - strength * groove * data["env"]
    return disp.clamp(-DISPLACEMENT_RANGE_M, DISPLACEMENT_RANGE_M)


def _relief(pore, micro, mole, pores, mole_amp, thr_m):
    """Pores (soft pits where the band-limited field is high, plus linear micro-relief: no sub-texel edges)
    and moles (low domes over the albedo's mole spots, with a wider, softer edge than the pigment)."""
    t = ((pore - 0.2) * (1.0 / 2.2)).clamp(0.0, 1.0)
    u = ((mole - thr_m + 0.5) * (1.0 / 1.1)).clamp(0.0, 1.0)
    return pores * (-9e-5 * (t * t * (3.0 - 2.0 * t)) + 2.5e-5 * micro) + mole_amp * (u * u * (3.0 - 2.0 * u))


_COMPILED: dict = {}


def _fused(fn, device: torch.device):
    """``fn`` compiled into one fused kernel on CUDA (elementwise chains over ``[B, V, P]`` are memory-bound);
    eager elsewhere, or with ``ASSETGEN_TEXTURES_COMPILE=0``, or where compilation is unavailable."""
    if device.type != "cuda" or os.environ.get("ASSETGEN_TEXTURES_COMPILE", "1") == "0":
        return fn
    if fn not in _COMPILED:
        try:
            _COMPILED[fn] = torch.compile(fn, dynamic=False)
        except Exception:  # noqa: BLE001  no compiler backend: stay eager
            _COMPILED[fn] = fn
    return _COMPILED[fn]


def _line_spacing(name: str) -> float:
    # spacing (m) implied by each family's phase scaling on the open head (widths are in meters)
    return {"forehead": 0.0085, "glabella": 0.004, "crows": 0.17 * 0.015, "undereye": 0.0045,
            "neck": 0.013}[name]
