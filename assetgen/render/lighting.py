"""Spherical-harmonics (SH) environment lighting: 9 coefficients × RGB, Lambertian.

This is the illumination model of paper 1 (3DFaceShop, §4.1: a vertex of albedo ``A`` and normal ``n`` has
colour ``A · Σ_{b=1..9} γ_b H_b(n)``) and paper 3 (AlbedoGAN, §3.2: shading ``S = Σ_b L_b H_b(N)``, texture =
albedo ⊙ shading; distant light, Lambertian reflectance). We keep the physical split of Ramamoorthi & Hanrahan,
"An Efficient Representation for Irradiance Environment Maps" (SIGGRAPH 2001):

* Coefficients ``L_lm`` (``[..., 9, 3]``, RGB) are those of the distant **radiance** environment ``L(ω)`` in the
  real SH basis :func:`sh_basis` (order: ``l=0``; ``l=1`` as ``(y, z, x)``; ``l=2`` as ``(xy, yz, 3z²−1, xz, x²−y²)``).
* Irradiance at a surface of normal ``n`` is ``E(n) = Σ_lm Â_l L_lm Y_lm(n)`` with the clamped-cosine kernel
  ``Â_0 = π, Â_1 = 2π/3, Â_2 = π/4`` (:func:`irradiance`); a Lambertian surface of albedo ``ρ`` reflects
  ``ρ E(n) / π`` (:func:`lambertian`). A constant environment ``L`` thus gives ``E = π L`` and a white
  surface reflects exactly ``L``. The papers' ``γ_b H_b`` fold ``Â_l / π`` into the basis; same model.

Presets (:data:`PRESETS`, 27 numbers each, built from an ambient term and distant lights) are defined for the
*frontal* camera (camera on +Z looking at a head that faces +Z); :func:`rotate_sh_yaw` turns them with a
camera that orbits the head, so a preset follows the camera.
"""

from __future__ import annotations

import math

import torch

__all__ = ["PRESETS", "directional_sh", "dominant_light", "irradiance", "lambertian", "rotate_sh",
           "rotate_sh_yaw", "sh_basis", "sh_from_spec"]

_C0 = 0.5 * math.sqrt(1.0 / math.pi)          # 0.282095
_C1 = math.sqrt(3.0 / (4.0 * math.pi))        # 0.488603
_C2 = 0.5 * math.sqrt(15.0 / math.pi)         # 1.092548
_C3 = 0.25 * math.sqrt(5.0 / math.pi)         # 0.315392
_C4 = 0.25 * math.sqrt(15.0 / math.pi)        # 0.546274
#: Clamped-cosine convolution weights per coefficient (Ramamoorthi & Hanrahan 2001, eq. 8).
LAMBERT_WEIGHTS = (math.pi,) + (2.0 * math.pi / 3.0,) * 3 + (math.pi / 4.0,) * 5
_LUMA = (0.2126, 0.7152, 0.0722)


def sh_basis(directions: torch.Tensor) -> torch.Tensor:
    """Real SH basis ``[..., 9]`` (bands 0–2) at unit ``directions [..., 3]`` (``x, y, z``)."""
    x, y, z = directions.unbind(-1)
    one = torch.ones_like(x)
    return torch.stack([
        _C0 * one,
        _C1 * y, _C1 * z, _C1 * x,
        _C2 * x * y, _C2 * y * z, _C3 * (3.0 * z * z - 1.0), _C2 * x * z, _C4 * (x * x - y * y),
    ], dim=-1)


def irradiance(normals: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """Irradiance ``E(n) [..., 3]`` (W/m² per unit radiance) at unit ``normals [..., 3]``.

    ``sh`` is ``[9, 3]`` or broadcastable ``[..., 9, 3]`` radiance coefficients (see module doc).
    """
    weights = torch.tensor(LAMBERT_WEIGHTS, dtype=normals.dtype, device=normals.device)
    basis = sh_basis(normals) * weights  # [..., 9]
    return (basis[..., :, None] * sh.to(normals.dtype)).sum(-2)


def lambertian(normals: torch.Tensor, sh: torch.Tensor) -> torch.Tensor:
    """Shading ``E(n) / π [..., 3]``: the radiance a white Lambertian surface reflects (paper 3 §3.2's ``S``)."""
    return irradiance(normals, sh) / math.pi


def directional_sh(direction, rgb) -> torch.Tensor:
    """``[9, 3]`` coefficients of a distant light toward unit ``direction [3]`` whose irradiance at normal
    incidence is ``π · rgb``, i.e. a white Lambertian surface facing it reflects ``rgb`` (up to the band-2
    truncation)."""
    d = torch.as_tensor(direction, dtype=torch.float64)
    d = d / d.norm()
    return sh_basis(d)[:, None] * torch.as_tensor(rgb, dtype=torch.float64)[None, :] * math.pi


def _ambient_sh(rgb) -> torch.Tensor:
    out = torch.zeros(9, 3, dtype=torch.float64)
    out[0] = torch.as_tensor(rgb, dtype=torch.float64) / _C0  # constant radiance rgb → E = π rgb
    return out


def _preset(ambient, *lights) -> torch.Tensor:
    sh = _ambient_sh(ambient)
    for direction, rgb in lights:
        sh = sh + directional_sh(direction, rgb)
    return sh.to(torch.float32)


#: Lighting presets, ``[9, 3]`` radiance coefficients each (27 numbers), for the frontal camera. Directions
#: point toward the light in the camera frame of a frontal view (+X right of the image, +Y up, +Z toward
#: the viewer); values are the reflected radiance of a white surface facing each light.
PRESETS: dict[str, torch.Tensor] = {
    # key light upper-left, weaker fill from the right, neutral ambient
    "studio": _preset((0.32, 0.32, 0.32), ((-0.45, 0.5, 0.75), (0.72, 0.70, 0.66)),
                      ((0.7, 0.1, 0.6), (0.18, 0.19, 0.21))),
    # mostly ambient, a broad light from the front-top
    "soft": _preset((0.55, 0.55, 0.55), ((0.0, 0.6, 0.8), (0.38, 0.38, 0.37))),
    # warm high sun, blue sky ambient, warm ground bounce
    "outdoor": _preset((0.26, 0.30, 0.38), ((0.35, 0.85, 0.4), (0.95, 0.88, 0.75)),
                       ((0.0, -1.0, 0.2), (0.10, 0.08, 0.06))),
    # hard side key, faint ambient, cool rim from behind
    "dramatic": _preset((0.06, 0.06, 0.07), ((-0.9, 0.3, 0.3), (1.1, 1.0, 0.9)),
                        ((0.6, 0.2, -0.75), (0.25, 0.3, 0.4))),
}


def sh_from_spec(spec, *, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Coefficients ``[B, 9, 3]`` from a preset name, ``[27]``/``[9, 3]`` numbers or a ``[B, 27]``/``[B, 9, 3]`` batch.

    Flat 27-vectors are coefficient-major (``[c0_r, c0_g, c0_b, c1_r, …]``). Raises ``ValueError`` for an unknown
    preset name (listing the known ones), a wrong shape or non-finite numbers.
    """
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise ValueError(f"lighting: unknown preset {spec!r}; known presets: {sorted(PRESETS)}")
        return PRESETS[spec].to(device=device, dtype=dtype)[None]
    t = torch.as_tensor(spec, dtype=dtype, device=device)
    if t.ndim == 1 and t.shape[0] == 27:
        t = t.reshape(1, 9, 3)
    elif t.ndim == 2 and t.shape == (9, 3):
        t = t[None]
    elif t.ndim == 2 and t.shape[1] == 27:
        t = t.reshape(-1, 9, 3)
    elif not (t.ndim == 3 and t.shape[1:] == (9, 3)):
        raise ValueError(f"lighting: expected a preset name {sorted(PRESETS)}, 27 numbers, [9, 3], [B, 27] or "
                         f"[B, 9, 3], got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("lighting: SH coefficients contain NaN or inf")
    return t


def _fibonacci_sphere(n: int) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float64) + 0.5
    phi = torch.arccos(1.0 - 2.0 * i / n)
    theta = math.pi * (1.0 + 5.0 ** 0.5) * i
    return torch.stack([torch.cos(theta) * torch.sin(phi), torch.sin(theta) * torch.sin(phi), torch.cos(phi)], -1)


_SAMPLES = _fibonacci_sphere(64)
_SAMPLES_PINV = torch.linalg.pinv(sh_basis(_SAMPLES))  # [9, 64]


def rotate_sh(sh: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    """Coefficients ``[B, 9, 3]`` of the environment turned by ``rotation [3, 3]`` or ``[B, 3, 3]``.

    The rotated environment is ``L'(ω) = L(Rᵀ ω)`` (a light toward ``d`` moves to ``R d``). Bands 0–2 are closed
    under rotation, so fitting the rotated function at 64 directions is exact (least squares, float64).
    """
    if sh.ndim == 2:
        sh = sh[None]
    r = rotation.to(torch.float64)
    if r.ndim == 2:
        r = r[None]
    samples = _SAMPLES.to(r.device)
    rotated = samples @ r  # rows: Rᵀ ω for each sample ω
    m = _SAMPLES_PINV.to(r.device) @ sh_basis(rotated)  # [B, 9, 9]
    return (m @ sh.to(torch.float64)).to(sh.dtype)


def rotate_sh_yaw(sh: torch.Tensor, yaw_deg) -> torch.Tensor:
    """Turn ``sh [B, 9, 3]`` about +Y by ``yaw_deg`` (scalar or ``[B]``, degrees), as :func:`portrait_camera`'s
    yaw turns the camera: a frontal preset then lights the head the same way from every yaw."""
    yaw = torch.deg2rad(torch.atleast_1d(torch.as_tensor(yaw_deg, dtype=torch.float64))).to(sh.device)
    c, s = torch.cos(yaw), torch.sin(yaw)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    r = torch.stack([torch.stack([c, zero, s], -1), torch.stack([zero, one, zero], -1),
                     torch.stack([-s, zero, c], -1)], -2)  # [B, 3, 3] rotation about +Y (z → x for +90°)
    return rotate_sh(sh, r)


def dominant_light(sh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distant light that explains the band-1 (linear) part of ``sh [B, 9, 3]``.

    Returns ``(direction [B, 3] unit, toward the light; rgb [B, 3] ≥ 0)`` where ``rgb`` is scaled like
    :func:`directional_sh` (a white Lambertian surface facing the light reflects ``rgb``). The direction is that
    of the luminance band-1 vector; an environment without one gives ``+Y`` (overhead) and zero colour.
    """
    if sh.ndim == 2:
        sh = sh[None]
    luma = torch.tensor(_LUMA, dtype=sh.dtype, device=sh.device)
    band1 = sh[:, 1:4]  # [B, 3(y, z, x), 3 rgb]
    vec = torch.stack([band1[:, 2], band1[:, 0], band1[:, 1]], 1)  # [B, 3 (x, y, z), 3 rgb]
    lum = vec @ luma  # [B, 3]
    length = lum.norm(dim=-1, keepdim=True)
    up = torch.zeros_like(lum)
    up[:, 1] = 1.0
    ok = length > 1e-8
    direction = torch.where(ok, lum / length.clamp_min(1e-12), up)
    rgb = (direction[:, :, None] * vec).sum(1) / (_C1 * math.pi)  # undo directional_sh's scale
    return direction, torch.where(ok, rgb.clamp_min(0.0), torch.zeros_like(rgb))
