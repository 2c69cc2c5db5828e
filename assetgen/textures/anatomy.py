"""Anatomical coordinates of the procedural texture model: distance helpers and the cached texel subsets of
brows, wrinkle families and eyes (built once per (model, size) by :mod:`assetgen.textures.layout`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

def _smoothstep(e0: float, e1: float, x: torch.Tensor) -> torch.Tensor:
    t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _segment_distance(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance of points ``p [P, 3]`` to segment a–b and the segment parameter in [0, 1]."""
    ab = b - a
    t = (((p - a) * ab).sum(-1) / (ab * ab).sum().clamp_min(1e-12)).clamp(0.0, 1.0)
    return (p - (a + t[:, None] * ab)).norm(dim=-1), t


def _polyline(p: torch.Tensor, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to a polyline ``pts [K, 3]`` and the arc-length parameter (0..1) of the closest point."""
    seg = (pts[1:] - pts[:-1]).norm(dim=-1)
    cum = torch.cat([seg.new_zeros(1), seg.cumsum(0)])
    best = torch.full((p.shape[0],), float("inf"), device=p.device)
    s = torch.zeros_like(best)
    for k in range(len(pts) - 1):
        d, t = _segment_distance(p, pts[k], pts[k + 1])
        closer = d < best
        best = torch.where(closer, d, best)
        s = torch.where(closer, (cum[k] + t * seg[k]) / cum[-1], s)
    return best, s


@dataclass(frozen=True, eq=False)
class _Subset:
    """Texels (flat indices) where an anatomical feature lives, with its cached coordinates."""

    idx: torch.Tensor
    data: dict[str, torch.Tensor]


def _feature_subsets(pos, lm, skin_w, r, sc, maps, fixed: dict[str, _Subset] | None = None,
                     brows: bool = True) -> dict[str, _Subset]:
    """Anatomical coordinates of brows and wrinkle families on the texels near them (cached).

    ``fixed``: reuse these subsets' texels (the wrinkle data evaluated at other points ``pos`` of the same
    texels, e.g. offset along the tangents for the normal map's slopes)."""
    out: dict[str, _Subset] = {}
    x, y = pos[:, 0], pos[:, 1]
    # eyebrows: polyline through the brow landmarks, nudged down onto the brow's centre line
    down = torch.tensor([0.0, sc(0.002), 0.0], device=pos.device)
    for side, ids, medial_first in ((("brow_r", list(range(21, 16, -1)), True), ("brow_l", list(range(22, 27)), True))
                                    if brows else ()):
        d, s = _polyline(pos, lm[ids] - down)
        sel = (d < sc(0.014)) & (skin_w > 0.5)
        idx = sel.nonzero().flatten()
        p = pos[idx]
        pts = lm[ids] - down
        # signed offset across the brow: + above the centre line
        dd, ss = d[idx], s[idx]
        centre_y = torch.from_numpy(np.interp(ss.cpu().numpy(), np.linspace(0, 1, len(ids)),
                                              pts[:, 1].cpu().numpy())).to(p)
        across = torch.where(p[:, 1] >= centre_y, dd, -dd)
        out[side] = _Subset(idx, {"s": ss, "t": across, "p": p})
    # wrinkle families: cached phase / distance and envelope. The facial families are placed by (x, y)
    # around landmarks, so they are limited to the front of the head (in front of the jaw's ends, iBUG 0
    # and 16, near the ears): without this the forehead lines reappeared at the same height on the back.
    z_ears = float(lm[[0, 16], 2].mean())
    face_w = skin_w * _smoothstep(z_ears - sc(0.005), z_ears + sc(0.015), pos[:, 2])
    brow_y = float(lm[17:27, 1].max())
    half_w = float((lm[16, 0] - lm[0, 0]).abs()) / 2
    fh = _smoothstep(brow_y + sc(0.008), brow_y + sc(0.016), y) * _smoothstep(brow_y + sc(0.06),
         brow_y + sc(0.045), y) * _smoothstep(half_w * 0.85, half_w * 0.5, x.abs()) * face_w
    spacing = sc(0.0085)
    bend = 0.12 * (x / half_w) ** 2  # lines arch a little toward the temples
    _add(out, "forehead", fh, {"phase": (y - brow_y) / spacing - bend / spacing * sc(0.01), "width": spacing * 0.16}, fixed)
    gl = (torch.exp(-((y - float(lm[[21, 22], 1].mean())) / sc(0.009)) ** 2)
          * _smoothstep(sc(0.012), sc(0.006), x.abs()) * face_w)
    _add(out, "glabella", gl, {"phase": x.abs() / sc(0.004) + 0.5, "width": sc(0.0008)}, fixed)
    env = zero = torch.zeros_like(x)
    phase = zero
    for corner, sign in ((36, -1.0), (45, 1.0)):
        c = lm[corner]
        rel = pos - c
        lateral = rel[:, 0] * sign
        rad = torch.sqrt(lateral ** 2 + rel[:, 1] ** 2)
        ang = torch.atan2(rel[:, 1], lateral.clamp_min(1e-6))
        e = (_smoothstep(sc(0.004), sc(0.009), rad) * _smoothstep(sc(0.028), sc(0.016), rad)
             * _smoothstep(-0.1, sc(0.004), lateral) * (ang.abs() < 1.1).float() * face_w)
        phase = torch.where(e > env, ang / 0.17, phase)
        env = torch.maximum(env, e)
    _add(out, "crows", env, {"phase": phase, "width": sc(0.0009)}, fixed)
    ue_env, ue_phase = zero, zero
    for lo in ((40, 41), (46, 47)):
        ctr = lm[list(lo)].mean(0)
        rel = pos - ctr
        dist = torch.sqrt((rel[:, 0] * 0.7) ** 2 + rel[:, 1] ** 2)
        e = (_smoothstep(sc(0.003), sc(0.006), dist) * _smoothstep(sc(0.016), sc(0.011), dist)
             * (rel[:, 1] < 0).float() * face_w * (1 - r["eyelids"]))
        ue_phase = torch.where(e > ue_env, dist / sc(0.0045), ue_phase)
        ue_env = torch.maximum(ue_env, e)
    _add(out, "undereye", ue_env, {"phase": ue_phase, "width": sc(0.00085)}, fixed)
    nl_env, nl_dist = zero, torch.full_like(x, 1.0)
    for wing, mouth, sign in ((31, 48, -1.0), (35, 54, 1.0)):
        a = lm[wing] + torch.tensor([sign * sc(0.007), sc(0.002), -sc(0.004)], device=pos.device)
        b = lm[mouth] + torch.tensor([sign * sc(0.006), -sc(0.010), -sc(0.004)], device=pos.device)
        ctrl = (a + b) / 2 + torch.tensor([sign * sc(0.006), 0.0, 0.0], device=pos.device)
        curve = torch.stack([(1 - t) ** 2 * a + 2 * (1 - t) * t * ctrl + t ** 2 * b for t in torch.linspace(0, 1, 8).tolist()])
        d, s = _polyline(pos, curve)
        e = torch.exp(-(d / sc(0.006)) ** 2) * torch.sin(math.pi * s).clamp_min(0) ** 0.5 * skin_w * (1 - r["lips"])
        nl_dist = torch.where(e > nl_env, d, nl_dist)
        nl_env = torch.maximum(nl_env, e)
    _add(out, "nasolabial", nl_env, {"dist": nl_dist, "width": sc(0.0022)}, fixed)
    neck = r["neck"] * skin_w * _smoothstep(float(lm[8, 1]) - sc(0.015), float(lm[8, 1]) - sc(0.03), y)
    _add(out, "neck", neck, {"phase": y / sc(0.013) + 0.25 * torch.sin(x / sc(0.03)), "width": sc(0.0012)}, fixed)
    del maps
    return out


def _add(out: dict, name: str, env: torch.Tensor, data: dict[str, Any], fixed: dict | None = None) -> None:
    idx = (env > 0.01).nonzero().flatten() if fixed is None else fixed[name].idx
    d = {k: (v[idx] if isinstance(v, torch.Tensor) else torch.tensor(float(v))) for k, v in data.items()}
    d["env"] = env[idx]
    out[name] = _Subset(idx, d)


def _eye_subset(model, v0: torch.Tensor, pos: torch.Tensor, texel_face: torch.Tensor) -> _Subset | None:
    """Eye texels with their polar coordinates around each eyeball's forward (+Z) axis."""
    parts = model.parts
    idx_all, theta_all = [], []
    for name in ("eye_left", "eye_right"):
        if name not in parts or parts[name].numel() == 0:
            continue
        vid = model.faces[parts[name]].unique()
        p = v0[vid].double()
        # least-squares sphere |p|^2 = 2 c.p + k (eyeball meshes may be partial spheres)
        a = torch.cat([2 * p, torch.ones_like(p[:, :1])], 1)
        sol = torch.linalg.lstsq(a, (p * p).sum(1, keepdim=True)).solution[:, 0]
        ctr = sol[:3].float()
        face_ids = parts[name]
        mask = torch.zeros(model.faces.shape[0], dtype=torch.bool, device=pos.device)
        mask[face_ids] = True
        return_idx = mask[texel_face].nonzero().flatten()
        q = pos[return_idx] - ctr
        theta = torch.atan2(torch.sqrt(q[:, 0] ** 2 + q[:, 1] ** 2), q[:, 2])  # 0 at the front pole
        phi = torch.atan2(q[:, 1], q[:, 0])
        idx_all.append(return_idx)
        theta_all.append(torch.stack([theta, phi], -1))
    if not idx_all:
        return None
    idx = torch.cat(idx_all)
    tp = torch.cat(theta_all)
    return _Subset(idx, {"theta": tp[:, 0], "phi": tp[:, 1]})
