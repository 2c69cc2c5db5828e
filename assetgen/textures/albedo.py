"""Albedo of the procedural texture model: skin chromophores (melanin, haemoglobin, carotene) modulated by
region maps and noise (mottling, freckles, age spots, moles), mucosa, tongue, teeth, stubble and scalp
follicles, eyebrows and eyes. Linear RGB; :mod:`assetgen.textures.procedural` encodes it as sRGB."""

from __future__ import annotations

import torch

from assetgen.textures import noise as nz
from assetgen.textures import skin
from assetgen.textures.anatomy import _smoothstep
from assetgen.textures.layout import ProceduralLayout

__all__ = ["albedo"]


def _hair_colour(dark: torch.Tensor, red: torch.Tensor) -> torch.Tensor:
    """Linear RGB ``[B, 3]`` of hair from darkness (0 platinum … 1 black) and redness."""
    blond = torch.tensor([0.62, 0.52, 0.34], device=dark.device)
    black = torch.tensor([0.012, 0.010, 0.009], device=dark.device)
    base = blond[None] * (black[None] / blond[None]) ** dark[:, None]
    ginger = torch.tensor([0.50, 0.16, 0.05], device=dark.device)[None] * (1.0 - 0.85 * dark[:, None])
    return base + (ginger - base) * (0.8 * red[:, None])


def _iris_colour(eye: torch.Tensor) -> torch.Tensor:
    keys = torch.tensor([0.0, 0.33, 0.66, 1.0], device=eye.device)
    cols = torch.tensor([[0.22, 0.36, 0.55], [0.20, 0.25, 0.18], [0.22, 0.13, 0.045], [0.045, 0.022, 0.010]],
                        device=eye.device)
    i = torch.bucketize(eye.clamp(0, 1), keys[1:-1])
    t = ((eye - keys[i]) / (keys[i + 1] - keys[i])).clamp(0, 1)[:, None]
    return cols[i] * (1 - t) + cols[i + 1] * t


def albedo(layout: ProceduralLayout, c: dict[str, torch.Tensor], n: dict[str, torch.Tensor]):
    """Linear-RGB albedo ``[B, P, 3]`` (unclamped) and the mole mask ``[B, P]`` (moles are raised a little in
    the displacement) from the per-scale noise ``n`` of :func:`assetgen.textures.procedural.sample_noise`."""
    maps = layout.maps
    pore, foll, micro = n["pore"].unbind(1)
    frk, mole, warp = n["fine"].unbind(1)
    mottle, agef = n["mid"].unbind(1)
    col = lambda t: t[:, None]  # noqa: E731  [B] → [B, 1]
    age = col(((c["skin_age"] - 20.0) / 50.0).clamp(0.0, 1.4))

    # ---- albedo: chromophores → linear RGB
    mel, hb, car = skin.chromophores(c["skin_tone"], c["undertone"])
    mel_map = col(mel) * maps["mel"][None] * (1.0 + 0.05 * mottle)
    # freckles: excursions of a band-limited field; density sets the threshold (paper-free: ephelides)
    thr_f = 2.6 - 1.7 * col(c["freckles"])
    freckle = _smoothstep(0.0, 0.5, frk - thr_f) * maps["freckle_zone"][None] * (col(c["freckles"]) > 0)
    age_amt = col(c["age_spots"]) * (0.35 + age)
    spots = _smoothstep(0.0, 0.35, agef + 0.35 * mottle - (3.1 - 1.6 * age_amt)) * maps["age_zone"][None] * (age_amt > 0)
    thr_m = 4.4 - 1.3 * col(c["moles"])
    moles = _smoothstep(0.0, 0.15, mole - thr_m) * maps["mole_zone"][None] * (col(c["moles"]) > 0)
    mel_map = mel_map + (0.35 + 0.35 * col(mel)) * freckle + (0.4 + 0.3 * col(mel)) * spots + (1.6 + col(mel)) * moles
    hb_map = col(hb) * maps["hb"][None] * (1.0 + 0.10 * mottle + 0.04 * micro)
    car_map = col(car).expand_as(hb_map)
    rgb = skin.reflectance(mel_map, hb_map, car_map)  # [B, P, 3]
    # inside of the mouth: moist mucosa, pigmented a little with the skin tone
    mucosa = torch.tensor([0.42, 0.09, 0.08], device=rgb.device) * torch.exp(
        -0.35 * col(mel)[..., None] * torch.tensor(skin.MELANIN_ABS, device=rgb.device))
    m = maps["mouth"][None, :, None]
    rgb = rgb * (1 - m) + mucosa * (1.0 + 0.1 * mottle[..., None]) * m
    part = maps["part"]
    tongue = (part == 2)[None, :, None]
    tongue_rgb = torch.tensor([0.55, 0.16, 0.15], device=rgb.device) * (1.0 + 0.12 * pore[..., None])
    rgb = torch.where(tongue, tongue_rgb, rgb)
    teeth = (part == 3)[None, :, None]
    rgb = torch.where(teeth, torch.tensor([0.78, 0.72, 0.60], device=rgb.device).expand_as(rgb), rgb)
    hair = _hair_colour(c["hair_darkness"], c["hair_redness"])  # [B, 3]
    # stubble and scalp follicles: short hairs over skin, alpha-blended toward the hair colour
    stub = col(c["stubble"])
    alpha = maps["beard"][None] * stub * (0.28 + 0.55 * _smoothstep(0.2, 1.2, foll))
    alpha = alpha + maps["scalp"][None] * 0.18 * _smoothstep(0.4, 1.4, foll) * col(c["hair_darkness"])
    rgb = rgb + (hair[:, None] - rgb) * alpha[..., None].clamp(0, 0.9)
    _eyebrows(layout, c, hair, rgb, n)
    _eyes(layout, c, rgb, n)
    return rgb, moles


def _eyebrows(layout, c, hair, rgb, n) -> None:
    for side in ("brow_r", "brow_l"):
        sub = layout.subsets.get(side)
        if sub is None or sub.idx.numel() == 0:
            continue
        s, t = sub.data["s"], sub.data["t"]
        half = 0.0062 * (1.0 - 0.5 * s) + 0.0015  # thick medial head, thin tail
        body = _smoothstep(1.0, 0.55, (t - 0.001 * (s - 0.3)).abs() / half) * _smoothstep(0.0, 0.08, s) \
            * _smoothstep(1.05, 0.85, s)
        # strands: noise stretched along the hair direction (up at the head, lateral/down at the tail)
        ang = 1.1 * (1.0 - s) - 0.2
        along = s * 0.055
        u = along * torch.cos(ang) + t * torch.sin(ang)
        v = -along * torch.sin(ang) + t * torch.cos(ang)
        pts = torch.stack([u * 0.25, v * 6.0, sub.data["p"][:, 2] * 0.1], -1)
        coords = nz.tile_coordinates(pts, 0.048)
        vol = nz.noise_volumes(_brow_seeds(c), 4, 1, 48, 12.0)
        strands = nz.sample_volumes(vol, coords)[:, 0]  # [B, n]
        dens = c["eyebrow_density"][:, None]
        alpha = body[None] * (_smoothstep(0.6 - 1.8 * dens, 1.3 - 1.8 * dens, strands) * (0.6 + 0.35 * dens)
                             + 0.25 * dens)
        cur = rgb[:, sub.idx]
        rgb[:, sub.idx] = cur + (hair[:, None] - cur) * alpha[..., None].clamp(0, 0.95)


def _brow_seeds(c) -> torch.Tensor:
    return c["_seeds"] if "_seeds" in c else torch.zeros(c["skin_tone"].shape[0], dtype=torch.int64,
                                                           device=c["skin_tone"].device)


def _eyes(layout, c, rgb, n) -> None:
    sub = layout.subsets.get("eyes")
    if sub is None:
        return
    th, ph = sub.data["theta"], sub.data["phi"]
    iris_r, pupil_r = 0.42, 0.14
    r = th / iris_r
    idx = sub.idx
    pore = n["pore"][:, 0, idx]
    fine = n["fine"][:, 2, idx]
    sclera = torch.tensor([0.80, 0.76, 0.72], device=rgb.device)
    veins = _smoothstep(1.2, 2.4, pore) * _smoothstep(1.2, 2.5, r)[None]
    sclera_rgb = sclera * (1 - 0.35 * veins[..., None] * torch.tensor([0.2, 1.0, 1.0], device=rgb.device))
    iris = _iris_colour(c["eye_color"])[:, None]  # [B, 1, 3]
    fib = 0.5 + 0.5 * torch.sin(ph * 60.0 + 3.0 * fine)  # radial fibres
    shade = (0.75 + 0.35 * fib[..., None]) * (1.0 + 0.25 * _smoothstep(0.6, 0.35, (r - 0.5).abs())[None, :, None])
    iris_rgb = iris * shade
    limbal = _smoothstep(0.75, 1.0, r)[None, :, None]
    iris_rgb = iris_rgb * (1 - 0.6 * limbal)
    in_iris = _smoothstep(1.03, 0.97, r)[None, :, None]
    out = sclera_rgb + (iris_rgb - sclera_rgb) * in_iris
    pupil = _smoothstep(pupil_r / iris_r + 0.03, pupil_r / iris_r - 0.03, r)[None, :, None]
    out = out * (1 - pupil) + 0.01 * pupil
    rgb[:, idx] = out
