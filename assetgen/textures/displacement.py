"""Displacement of the procedural texture model (meters along the vertex normal, bounded to
±:data:`DISPLACEMENT_RANGE_M`): pores and micro-relief, raised moles, and the wrinkle families (forehead
lines, glabella, crow's feet, under-eye lines, nasolabial folds, neck lines) that grow with
``skin_age × wrinkles``."""

from __future__ import annotations

import torch

from assetgen.textures.anatomy import _smoothstep
from assetgen.textures.layout import ProceduralLayout

__all__ = ["DISPLACEMENT_RANGE_M", "displacement"]

#: Displacement is clamped to ±this many meters and encoded over exactly that range.
DISPLACEMENT_RANGE_M = 5e-4


def displacement(layout: ProceduralLayout, c: dict[str, torch.Tensor], n: dict[str, torch.Tensor],
                 moles: torch.Tensor) -> torch.Tensor:
    """``[B, P]`` displacement (meters) from the per-scale noise ``n`` and the albedo's mole mask."""
    maps = layout.maps
    pore, micro = n["pore"][:, 0], n["pore"][:, 2]
    warp = n["fine"][:, 2]
    col = lambda t: t[:, None]  # noqa: E731  [B] → [B, 1]
    age = col(((c["skin_age"] - 20.0) / 50.0).clamp(0.0, 1.4))
    pores = col(c["pores"]) * maps["pore"][None] * (1.0 + 0.3 * age)
    disp = -8e-5 * pores * _smoothstep(0.7, 1.9, pore) + 1.5e-5 * pores * micro
    disp = disp + 6e-5 * moles
    wr = col(c["wrinkles"])
    fams = {"forehead": (1.4e-4, 0.10), "glabella": (0.9e-4, 0.0), "crows": (1.1e-4, 0.05),
            "undereye": (0.7e-4, 0.15), "nasolabial": (2.2e-4, 0.35), "neck": (1.2e-4, 0.1)}
    for name, (amp, base) in fams.items():
        sub = layout.subsets.get(name)
        if sub is None or sub.idx.numel() == 0:
            continue
        w = warp[:, sub.idx]
        if "phase" in sub.data:
            ph = sub.data["phase"][None] + 0.22 * w
            dist = (ph - ph.round()).abs() / ph.new_tensor(1.0)  # in line spacings
            width = sub.data["width"] / _line_spacing(name)
            groove = torch.exp(-(dist / width) ** 2)
        else:
            groove = torch.exp(-((sub.data["dist"][None] + 0.0015 * w) / sub.data["width"]) ** 2)
        strength = amp * wr * (base + age).clamp_min(0.0) * (1.0 + 0.25 * n["mid"][:, 0, sub.idx])
        disp[:, sub.idx] = disp[:, sub.idx] - strength * groove * sub.data["env"][None]
    return disp.clamp(-DISPLACEMENT_RANGE_M, DISPLACEMENT_RANGE_M)


def _line_spacing(name: str) -> float:
    # spacing (m) implied by each family's phase scaling on the open head (widths are in meters)
    return {"forehead": 0.0085, "glabella": 0.004, "crows": 0.17 * 0.015, "undereye": 0.0045,
            "neck": 0.013}[name]
