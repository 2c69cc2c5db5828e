"""The latent front door: ``z ∈ R^512``, ``z ~ N(0, I)``, mapped to a :class:`~assetgen.control.HeadSpec`.

* :func:`latent_from_seed`: the documented generator (inverse-CDF of PCG64 uniforms, no platform-dependent
  sampling algorithm), so the same seed gives the same ``z`` everywhere.
* :class:`LatentMapper`: the mapping interface. The learned mappers to come (paper 001 §4.1 samples identity,
  expression and illumination codes from VAE-GAN decoders; paper 004 §3.2.1 maps a StyleGAN2 stylecode to
  3DMM coefficients with an MLP) implement :meth:`LatentMapper.map` and replace the default
  :class:`~assetgen.control.procedural.ProceduralMapper` without changing callers.
* :func:`specs_from_latents`: the batched path ``Z [N, 512] → list[HeadSpec]`` (10,000 in well under a
  second on one CPU core, see ``benchmarks/bench_control.py``); :func:`spec_from_latent`,
  :func:`spec_from_seed` for one head; :func:`interpolate_latents` (slerp or lerp).

Truncation ψ (StyleGAN, Karras et al. 2019 §"truncation trick"): ``w' = w̄ + ψ (w − w̄)``. A mapper applies
it in its own intermediate space; the procedural mapper has no separate W (``W = Z``, ``w̄ = 0``), so
``z' = ψ · z``: ψ = 1 samples the full distribution, ψ → 0 gives the average head.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.special
import torch

from assetgen.control import controls as C
from assetgen.control.spec import (SPEC_VERSION, FrozenDict, HeadSpec, Lighting, Origin, canon_array, check_int,
                                   derive_texture_seed)
from assetgen.control.texture_controls import TEXTURE_CONTROLS

__all__ = ["LATENT_DIM", "TEXTURE_LATENT_DIM", "MappedBatch", "LatentMapper", "latent_from_seed",
           "latents_from_seeds", "specs_from_latents", "spec_from_latent", "spec_from_seed", "interpolate_latents",
           "default_mapper", "PSI_RANGE", "EXPRESSION_SCALE_RANGE"]

LATENT_DIM = 512
#: Length of ``HeadSpec.texture_latent`` written by the procedural mapper (``z[448:512]``).
TEXTURE_LATENT_DIM = 64
PSI_RANGE = (0.0, 2.0)
EXPRESSION_SCALE_RANGE = (0.0, 2.0)
_TEXTURE_NAMES = tuple(TEXTURE_CONTROLS)


def latents_from_seeds(seeds: Sequence[int], dim: int = LATENT_DIM) -> np.ndarray:
    """``[N, dim]`` float64 standard-normal latents, one row per seed.

    Generator (documented, platform-independent): ``numpy.random.Generator(PCG64(SeedSequence(seed)))``
    draws ``dim`` uniforms with ``random()`` (53-bit: ``(next_uint64 >> 11) · 2⁻⁵³``), shifted by half a step
    (``u + 2⁻⁵⁴``, so never 0 or 1), and ``z = Φ⁻¹(u)`` (``scipy.special.ndtri``).
    """
    out = np.empty((len(seeds), dim))
    for i, seed in enumerate(seeds):
        seed = check_int(f"seeds[{i}]" if len(seeds) > 1 else "seed", seed)
        u = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed))).random(dim)
        out[i] = scipy.special.ndtri(u + 2.0**-54)
    return out


def latent_from_seed(seed: int, dim: int = LATENT_DIM) -> np.ndarray:
    """``[dim]`` standard-normal latent of ``seed`` (see :func:`latents_from_seeds`)."""
    return latents_from_seeds([seed], dim)[0]


@dataclass(frozen=True)
class MappedBatch:
    """What a :class:`LatentMapper` returns for ``N`` latents: spec values as float64 arrays.

    Attributes:
        identity: open head: ``[N, 145]`` — :data:`~assetgen.control.controls.OPEN_PHENOTYPES` in spec units
            (sex 0..1, age years, sliders 0..1) then the 139 local changes (−1..1); FLAME: ``None``.
        shape: FLAME: ``[N, S]`` β in σ units (within ±5); open: ``None``.
        expression: open: ``[N, 52]`` ARKit weights 0..1; FLAME: ``[N, E]`` ψ in σ units.
        texture: ``[N, 14]`` texture controls in :data:`TEXTURE_CONTROLS` order, within their ranges.
        texture_latent: ``[N, T]`` (T may be 0).
    """

    identity: np.ndarray | None
    shape: np.ndarray | None
    expression: np.ndarray
    texture: np.ndarray
    texture_latent: np.ndarray


class LatentMapper(abc.ABC):
    """Maps latents ``z [N, latent_dim]`` to spec values (:class:`MappedBatch`).

    Subclasses set :attr:`name` and :attr:`version` (recorded in every spec's origin; bump the version when
    the mapping changes) and implement :meth:`map`, vectorised over ``N``. The map must be smooth in ``z``
    (interpolated latents must morph one head into the other without jumps) and stay inside every range.
    """

    name: str = ""
    version: int = 0
    latent_dim: int = LATENT_DIM

    @abc.abstractmethod
    def map(self, z: np.ndarray, model: C.ModelInfo, *, psi: float = 1.0,
            expression_scale: float = 0.0) -> MappedBatch:
        """Map ``z [N, latent_dim]`` (float64, finite) for ``model`` with truncation ``psi`` and expression
        sampling scale ``expression_scale`` (0: neutral expression)."""


def default_mapper() -> LatentMapper:
    """The default mapper: :class:`~assetgen.control.procedural.ProceduralMapper`."""
    from assetgen.control.procedural import ProceduralMapper

    return ProceduralMapper()


def _check_latents(z, dim: int) -> np.ndarray:
    if isinstance(z, torch.Tensor):
        z = z.detach().cpu().numpy()
    try:
        z = np.asarray(z, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"latent: expected an array of numbers of shape [N, {dim}], got {type(z).__name__}") from None
    if z.ndim != 2 or z.shape[1] != dim:
        raise ValueError(f"latent: expected shape [N, {dim}], got {list(z.shape)}")
    if z.shape[0] == 0:
        raise ValueError("latent: expected at least one latent (N ≥ 1)")
    finite = np.isfinite(z)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        raise ValueError(f"latent: row {row}, entry {col} is {z[row, col]} (NaN or inf)")
    return z


def _check_scalar(field: str, value, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{field}: expected a number in [{lo:g}, {hi:g}], got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and lo <= value <= hi):
        raise ValueError(f"{field}: {value:g} is out of range [{lo:g}, {hi:g}]")
    return value


def _check_mapped(out: MappedBatch, n: int, info: C.ModelInfo, mapper: LatentMapper) -> None:
    """Vectorised range checks of a mapper's output (a learned mapper must not write invalid specs)."""
    who = f"mapper {mapper.name!r}"
    checks = [("texture", out.texture, list(TEXTURE_CONTROLS.values()), list(TEXTURE_CONTROLS))]
    if info.kind == "open":
        names = list(C.OPEN_PHENOTYPES + C.OPEN_LOCAL_CHANGES)
        checks.append(("identity", out.identity, [C.OPEN_IDENTITY_CONTROLS[k] for k in names], names))
        checks.append(("expression", out.expression, [C.EXPRESSION_WEIGHT] * len(C.ARKIT_52), list(C.ARKIT_52)))
    else:
        s, e = out.shape.shape[1], out.expression.shape[1]
        checks.append(("identity.shape", out.shape, [C.FLAME_COEFFICIENT] * s, [str(i) for i in range(s)]))
        checks.append(("expression.coefficients", out.expression, [C.FLAME_COEFFICIENT] * e,
                       [str(i) for i in range(e)]))
    for field, arr, rngs, names in checks:
        if arr is None or arr.shape != (n, len(rngs)):
            raise ValueError(f"{who}: {field} has shape {None if arr is None else list(arr.shape)}, "
                             f"expected [{n}, {len(rngs)}]")
        lo = np.array([r.min for r in rngs])
        hi = np.array([r.max for r in rngs])
        bad = ~(np.isfinite(arr) & (arr >= lo) & (arr <= hi))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(f"{who}: {field}.{names[col]} = {arr[row, col]} (row {row}) is out of range "
                             f"[{lo[col]:g}, {hi[col]:g}]")
    if out.texture_latent.ndim != 2 or out.texture_latent.shape[0] != n or not np.isfinite(out.texture_latent).all():
        raise ValueError(f"{who}: texture_latent must be a finite [{n}, T] array")


def specs_from_latents(
    z,
    model=C.OPEN_INFO,
    *,
    psi: float = 1.0,
    expression_scale: float = 0.0,
    seeds: Sequence[int] | None = None,
    texture_seeds: Sequence[int] | None = None,
    mapper: LatentMapper | None = None,
) -> list[HeadSpec]:
    """Batched latent door: ``z [N, 512]`` (numpy or torch) → ``N`` specs.

    Args:
        z: latents, ``z ~ N(0, I)`` (e.g. :func:`latents_from_seeds`).
        model: a loaded head model or a :class:`~assetgen.control.controls.ModelInfo` (default: the open head).
        psi: truncation ψ in [0, 2] (1: full distribution; smaller: closer to the average head).
        expression_scale: 0 (default) gives neutral expressions; > 0 samples expressions with this scale.
        seeds: request seed per row (recorded in the spec; texture seeds are derived from them).
        texture_seeds: explicit texture seed per row (default: derived from ``seeds``, else 0 — keep it fixed
            when interpolating so the procedural texture detail does not jump).
        mapper: a :class:`LatentMapper` (default: :func:`default_mapper`).
    Raises:
        ValueError: wrong latent shape, NaN/inf, ψ/scale out of range, seeds of the wrong length.
    """
    mapper = mapper if mapper is not None else default_mapper()
    z = _check_latents(z, mapper.latent_dim)
    n = z.shape[0]
    info = C.model_info(model)
    psi = _check_scalar("psi", psi, *PSI_RANGE)
    expression_scale = _check_scalar("expression_scale", expression_scale, *EXPRESSION_SCALE_RANGE)
    for field, values in (("seeds", seeds), ("texture_seeds", texture_seeds)):
        if values is not None and len(values) != n:
            raise ValueError(f"{field}: expected {n} values (one per latent), got {len(values)}")
    seeds = [None] * n if seeds is None else [check_int(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if texture_seeds is None:
        texture_seeds = [derive_texture_seed(s) for s in seeds]
    else:
        texture_seeds = [check_int(f"texture_seeds[{i}]", s) for i, s in enumerate(texture_seeds)]

    out = mapper.map(z, info, psi=psi, expression_scale=expression_scale)
    _check_mapped(out, n, info, mapper)
    origin = Origin(door="latent", mapper=mapper.name, mapper_version=mapper.version,
                    details={"psi": psi, "expression_scale": expression_scale})
    texture = canon_array(out.texture).tolist()
    tex_latent = canon_array(out.texture_latent).tolist()
    expression = canon_array(out.expression).tolist()
    lighting, empty = Lighting(), FrozenDict()
    common = dict(model=info.id, lighting=lighting, origin=origin, pose=empty, spec_version=SPEC_VERSION)
    specs = []
    if info.kind == "open":
        identity_arr = canon_array(out.identity)
        dense = (identity_arr[:, 6:] != 0.0).all(1).tolist()  # rows without zero local changes (almost all)
        identity = identity_arr.tolist()
        pheno_names, local_names = C.OPEN_PHENOTYPES, C.OPEN_LOCAL_CHANGES
        names = pheno_names + local_names
        arkit = C.ARKIT_52
        for i in range(n):
            row = identity[i]
            if dense[i]:
                ident = dict(zip(names, row))
            else:  # canonical form drops zero local changes
                ident = dict(zip(pheno_names, row[:6]))
                ident.update((k, v) for k, v in zip(local_names, row[6:]) if v != 0.0)
            expr = FrozenDict((k, v) for k, v in zip(arkit, expression[i]) if v != 0.0) if expression_scale else empty
            specs.append(HeadSpec._trusted(
                identity=FrozenDict(ident), shape=(), expression=expr, expression_coefficients=(),
                texture=FrozenDict(zip(_TEXTURE_NAMES, texture[i])), texture_latent=tuple(tex_latent[i]),
                texture_seed=texture_seeds[i], seed=seeds[i], **common))
    else:
        shape = canon_array(out.shape).tolist()
        for i in range(n):
            specs.append(HeadSpec._trusted(
                identity=empty, shape=_trim(shape[i]), expression=empty,
                expression_coefficients=_trim(expression[i]),
                texture=FrozenDict(zip(_TEXTURE_NAMES, texture[i])), texture_latent=tuple(tex_latent[i]),
                texture_seed=texture_seeds[i], seed=seeds[i], **common))
    return specs


def _trim(values: list) -> tuple:
    end = len(values)
    while end and values[end - 1] == 0.0:
        end -= 1
    return tuple(values[:end])


def spec_from_latent(z, model=C.OPEN_INFO, *, psi: float = 1.0, expression_scale: float = 0.0,
                     seed: int | None = None, texture_seed: int | None = None,
                     mapper: LatentMapper | None = None) -> HeadSpec:
    """One spec from ``z [512]`` (the batched path with ``N = 1``, so results are identical)."""
    if isinstance(z, torch.Tensor):
        z = z.detach().cpu().numpy()
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1:
        raise ValueError(f"latent: expected shape [{LATENT_DIM}], got {list(z.shape)}")
    return specs_from_latents(z[None], model, psi=psi, expression_scale=expression_scale,
                              seeds=None if seed is None else [seed],
                              texture_seeds=None if texture_seed is None else [texture_seed], mapper=mapper)[0]


def spec_from_seed(seed: int, model=C.OPEN_INFO, *, psi: float = 1.0, expression_scale: float = 0.0,
                   mapper: LatentMapper | None = None) -> HeadSpec:
    """The spec of ``seed``: ``z = latent_from_seed(seed)``, texture seed derived from ``seed``."""
    mapper = mapper if mapper is not None else default_mapper()
    z = latent_from_seed(seed, mapper.latent_dim)
    return specs_from_latents(z[None], model, psi=psi, expression_scale=expression_scale, seeds=[seed],
                              mapper=mapper)[0]


def interpolate_latents(z0, z1, t, method: str = "slerp") -> np.ndarray:
    """Latents between ``z0`` and ``z1`` (``[D]`` each) at ``t`` (scalar → ``[D]``, ``[T]`` → ``[T, D]``).

    ``"slerp"`` (default) interpolates on the great circle with the norm interpolated linearly, which keeps
    intermediate latents typical of ``N(0, I)`` (a linear midpoint has a norm ~√½ too small); ``"lerp"`` is
    ``(1 − t) z0 + t z1``. Both are smooth in ``t``.
    """
    z0, z1 = (np.asarray(v, dtype=np.float64) for v in (z0, z1))
    if z0.ndim != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0, z1: expected two vectors of the same length, got {list(z0.shape)} and {list(z1.shape)}")
    if not (np.isfinite(z0).all() and np.isfinite(z1).all()):
        raise ValueError("z0, z1: contain NaN or inf")
    tt = np.asarray(t, dtype=np.float64)
    if not np.isfinite(tt).all():
        raise ValueError("t: contains NaN or inf")
    ts = np.atleast_1d(tt)[:, None]
    if method == "lerp":
        out = (1.0 - ts) * z0 + ts * z1
    elif method == "slerp":
        n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
        if n0 == 0.0 or n1 == 0.0:
            out = (1.0 - ts) * z0 + ts * z1
        else:
            u0, u1 = z0 / n0, z1 / n1
            omega = math.acos(float(np.clip(u0 @ u1, -1.0, 1.0)))
            if omega < 1e-6:
                direction = (1.0 - ts) * u0 + ts * u1
            else:
                direction = (np.sin((1.0 - ts) * omega) * u0 + np.sin(ts * omega) * u1) / math.sin(omega)
            out = direction * ((1.0 - ts) * n0 + ts * n1)
    else:
        raise ValueError(f"method: expected 'slerp' or 'lerp', got {method!r}")
    return out[0] if tt.ndim == 0 else out
