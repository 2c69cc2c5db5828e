"""Skin colour from chromophores: melanin, haemoglobin and carotene absorbance → linear-sRGB albedo.

A two-layer Beer–Lambert model in the spirit of Donner & Jensen (2006) and Jimenez et al. (2010, "A Practical
Appearance Model for Dynamic Facial Color"): light scattered back by the dermis (reflectance ``R0`` per
channel, pale bloodless tissue) crosses the epidermis twice, attenuated by melanin (absorption falling
steeply with wavelength), oxy-haemoglobin (absorbing green and blue, transparent in red) and carotene (blue).
The per-channel absorbance coefficients are effective values for the sRGB primaries' bands, calibrated so
the continuous Fitzpatrick type maps onto measured skin albedo (linear green reflectance about 0.55 for
type I down to about 0.05 for type VI; see :func:`fitzpatrick_reference`).

All functions are plain torch, broadcastable, and work on any device.
"""

from __future__ import annotations

import torch

__all__ = ["R0", "MELANIN_ABS", "HEMOGLOBIN_ABS", "CAROTENE_ABS", "melanin_for_type", "chromophores",
           "reflectance", "linear_to_srgb", "srgb_to_linear", "fitzpatrick_reference"]

#: Bloodless, melanin-free dermal backscatter (linear sRGB).
R0 = (0.86, 0.80, 0.74)
#: Effective absorbance per unit concentration in the R, G, B bands (double pass included).
MELANIN_ABS = (0.72, 1.0, 1.32)
HEMOGLOBIN_ABS = (0.04, 1.0, 0.62)
CAROTENE_ABS = (0.0, 0.12, 1.0)

_M1, _M6 = 0.16, 2.75  # melanin at Fitzpatrick I and VI (log-linear in between)
_H0 = 0.12  # baseline haemoglobin
_C0 = 0.06  # baseline carotene


def melanin_for_type(skin_tone: torch.Tensor) -> torch.Tensor:
    """Epidermal melanin concentration for a continuous Fitzpatrick type in [1, 6] (log-linear)."""
    return _M1 * (_M6 / _M1) ** ((skin_tone - 1.0) / 5.0)


def chromophores(skin_tone: torch.Tensor, undertone: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(melanin, haemoglobin, carotene)`` of a skin type and undertone (−1 olive/yellow … +1 pink/red)."""
    m = melanin_for_type(skin_tone)
    h = _H0 * (1.0 + 0.45 * undertone) * (1.0 + 0.15 * (skin_tone - 1.0) / 5.0)
    c = _C0 * (1.0 + 1.6 * (-undertone).clamp_min(0.0) - 0.5 * undertone.clamp_min(0.0))
    return m, h, c


def _vec(values, like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def reflectance(melanin: torch.Tensor, hemoglobin: torch.Tensor, carotene: torch.Tensor) -> torch.Tensor:
    """Linear-sRGB albedo ``[..., 3]`` of concentrations broadcast to ``[...]``."""
    a = (melanin[..., None] * _vec(MELANIN_ABS, melanin) + hemoglobin[..., None] * _vec(HEMOGLOBIN_ABS, melanin)
         + carotene[..., None] * _vec(CAROTENE_ABS, melanin))
    return _vec(R0, melanin) * torch.exp(-a)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """IEC 61966-2-1 transfer function (input clamped to [0, 1])."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(1e-8) ** (1.0 / 2.4) - 0.055)


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def fitzpatrick_reference() -> dict[int, tuple[float, float, float]]:
    """Linear-sRGB albedo of the model at Fitzpatrick I…VI, neutral undertone (for docs and tests)."""
    t = torch.arange(1, 7, dtype=torch.float64)
    m, h, c = chromophores(t, torch.zeros_like(t))
    rgb = reflectance(m, h, c)
    return {int(k): tuple(float(v) for v in rgb[i]) for i, k in enumerate(t.tolist())}
