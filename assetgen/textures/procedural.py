"""The procedural texture model (issue 3, part 3): seeded albedo, displacement, normal and ORM maps over the
whole head UV layout, driven by the named controls of :mod:`assetgen.control.texture_controls`.

Seamless by construction: every field is a function of the texel's 3D point on the model's *neutral*
(reference) head and of smooth region weights, gathered through the UV atlas; both sides of a UV seam are
the same 3D point, so they get the same colour and displacement. The normal map's slopes are forward
differences of the same displacement function in 3D, along each texel's smooth tangent and bitangent (the
exporter's frames, :mod:`assetgen.textures.bake`), so both sides of a seam shade alike; the pore scale is
band-limited to the texel footprint (narrow spectrum, faded where texels are coarse).
Detail sticks to the same anatomical place for every identity. Symmetry: noise is sampled at the mirrored
point ``(|x|, y, z)`` and blended with independent unmirrored noise by ``asymmetry`` (cf. the symmetric
albedo/reconstruction terms of papers 3 §4.1 and 4 §3).

Cost model: everything that depends only on (model, size) — reference texel positions, region weights,
anatomical coordinates (brows, beard, wrinkle phases, eyes), noise-tile coordinates, reference tangent
frames and AO — is built once and cached (:class:`~assetgen.textures.layout.ProceduralLayout`). Per head: a few noise volumes from the
seed (tiny FFTs), one ``grid_sample`` gather per noise scale, and a few dozen elementwise ops per map.

Displacement: meters along the vertex normal, bounded to ±:data:`DISPLACEMENT_RANGE_M` (0.5 mm): pores
(≈ 40 µm deep, deeper on nose and cheeks), skin micro-relief, moles, and wrinkles that grow with
``skin_age × wrinkles`` (forehead lines, glabella, crow's feet, under-eye lines, nasolabial folds, neck lines).
Paper 3 §4.2 bounds its displacement map the same way (``D ∈ [-0.01, 0.01]`` in FLAME units).

Modules: :mod:`~assetgen.textures.layout` (cached reference data), :mod:`~assetgen.textures.anatomy`
(anatomical coordinates), :mod:`~assetgen.textures.albedo`, :mod:`~assetgen.textures.displacement`; this one
holds the controls, the per-head noise and the public entry points.
"""


import copy
import difflib
import math
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from assetgen.control.texture_controls import TEXTURE_CONTROLS, texture_defaults
from assetgen.textures import noise as nz
from assetgen.textures import skin
from assetgen.textures.albedo import albedo as _albedo
from assetgen.textures.bake import (SurfaceFrames, check_size, surface_frames, vertex_ambient_occlusion,
                                    _check_vertices)
from assetgen.textures.displacement import DISPLACEMENT_RANGE_M, _fused, displacement as _displacement
from assetgen.textures.layout import _SCALES, BANDWIDTH, DISP_CHANNELS, ProceduralLayout, procedural_layout
from assetgen.textures.types import TextureSet

__all__ = ["GENERATOR_NAME", "GENERATOR_VERSION", "DISPLACEMENT_RANGE_M", "TextureBatch", "generate_textures",
           "generate_texture_batch", "resolve_controls", "describe_controls", "procedural_layout",
           "ProceduralLayout"]

GENERATOR_NAME = "assetgen.textures.procedural"
GENERATOR_VERSION = "1.2"

# ----------------------------------------------------------------------------------------------- controls
def resolve_controls(controls: dict[str, Any] | None) -> dict[str, float]:
    """All texture controls with defaults filled in; ``ValueError`` on an unknown name (with the closest
    valid names) or an out-of-range / non-numeric value (with the range)."""
    out = texture_defaults()
    if controls is None:
        return out
    if not isinstance(controls, dict):
        raise ValueError(f"controls: expected a dict of name → number, got {type(controls).__name__}")
    for name, value in controls.items():
        if name not in TEXTURE_CONTROLS:
            close = difflib.get_close_matches(str(name), list(TEXTURE_CONTROLS), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ValueError(f"controls: unknown texture control {name!r}{hint} (valid: {', '.join(TEXTURE_CONTROLS)})")
        out[name] = TEXTURE_CONTROLS[name].check(f"controls[{name!r}]", value)
    return out


def describe_controls() -> str:
    """A Markdown table of the texture controls (name, range, default, unit, meaning)."""
    rows = ["| control | range | default | unit | meaning |", "|---|---|---|---|---|"]
    for name, r in TEXTURE_CONTROLS.items():
        rows.append(f"| `{name}` | {r.min:g} … {r.max:g} | {r.default:g} | {r.unit} | {r.doc} |")
    rows.append("| `texture_seed` | any integer ≥ 0 | 0 | | seeds every noise field (same seed → same maps) |")
    return "\n".join(rows)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2 ** 62:
        raise ValueError(f"seed: expected an integer in [0, 2**62), got {seed!r}")
    return int(seed)

# ----------------------------------------------------------------------------------------------- generation
@dataclass(frozen=True, eq=False)
class TextureBatch:
    """``B`` texture sets as device tensors (row 0 = top of the texture).

    Attributes:
        albedo, normal, orm: ``[B, S, S, 3]`` uint8. displacement: ``[B, S, S]`` uint16 codes stored as
        int32 (torch has no uint16 arithmetic on every device); meters = ``offset + code / 65535 · scale``.
        provenance: one dict per set.
    """

    albedo: torch.Tensor
    normal: torch.Tensor
    orm: torch.Tensor
    displacement: torch.Tensor
    displacement_offset_m: float
    displacement_scale_m: float
    provenance: list[dict[str, Any]] = field(default_factory=list)

    def texture_sets(self) -> list[TextureSet]:
        """The batch as :class:`TextureSet` objects (copies to host memory)."""
        alb, nor, orm = self.albedo.cpu().numpy(), self.normal.cpu().numpy(), self.orm.cpu().numpy()
        disp = self.displacement.cpu().numpy().astype(np.uint16)
        return [TextureSet(albedo=alb[i], normal=nor[i], orm=orm[i], displacement=disp[i],
                           displacement_offset_m=self.displacement_offset_m,
                           displacement_scale_m=self.displacement_scale_m, provenance=self.provenance[i])
                for i in range(alb.shape[0])]


_DEVICE_MODELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _model_on(model, device) -> torch.nn.Module:
    if device is None or torch.device(device) == model.device:
        return model
    dev = torch.device(device)
    cache = _DEVICE_MODELS.setdefault(model, {})
    if str(dev) not in cache:
        cache[str(dev)] = copy.deepcopy(model).to(dev)
    return cache[str(dev)]


def generate_textures(model, *, controls: dict[str, Any] | None = None, seed: int = 0, size: int = 1024,
                      shape: torch.Tensor | None = None, device: torch.device | str | None = None) -> TextureSet:
    """One head's texture set (albedo, normal, ORM, displacement) from the procedural model.

    Args:
        model: a :class:`~assetgen.heads.base.HeadModel` (open or FLAME).
        controls: texture controls by name (see :func:`describe_controls`); missing ones take their default.
        seed: ``texture_seed``, an integer in [0, 2**62).
        size: texels a side, 1..4096 (1024 for game assets).
        shape: ``[S]`` identity of the head (the normal map's tangent frames and AO follow it); ``None``:
            the neutral head.
        device: where to compute (default: the model's device).
    Raises ``ValueError`` naming the bad argument.
    """
    batch = generate_texture_batch(model, [controls], [seed], size=size,
                                   shapes=None if shape is None else [shape], device=device)
    return batch.texture_sets()[0]


def generate_texture_batch(model, controls_list: Sequence[dict[str, Any] | None], seeds: Sequence[int], *,
                           size: int = 1024, shapes: Sequence[torch.Tensor] | torch.Tensor | None = None,
                           device: torch.device | str | None = None) -> TextureBatch:
    """``B`` texture sets at once (``B = len(seeds)``), as device tensors: the GPU throughput path.

    ``controls_list`` and ``seeds`` have one entry per set; ``shapes`` is ``None`` (neutral heads) or ``B``
    identity vectors ``[S]`` (or a ``[B, S]`` tensor). On the CPU each set is byte-identical to the same head's
    :func:`generate_textures` whatever else is in the batch (the identity meshes are computed one head at a time
    there); on CUDA the batched identity forward may round differently (a few codes in a few texels).
    """
    if len(controls_list) != len(seeds) or len(seeds) == 0:
        raise ValueError(f"controls_list and seeds: expected the same non-zero length, got {len(controls_list)} "
                         f"and {len(seeds)}")
    size = check_size(size)
    resolved = [resolve_controls(c) for c in controls_list]
    seed_list = [_check_seed(s) for s in seeds]
    model = _model_on(model, device)
    layout = procedural_layout(model, size)
    dev = model.device
    b = len(seed_list)
    with torch.no_grad():
        if shapes is None:
            frames, ao = None, layout.ref_ao.expand(b, -1)
        else:
            shp = shapes if isinstance(shapes, torch.Tensor) else torch.stack([torch.as_tensor(s) for s in shapes])
            if shp.ndim != 2 or shp.shape[0] != b:
                raise ValueError(f"shapes: expected {b} identity vectors of length {model.num_shape}, "
                                 f"got {tuple(shp.shape)}")
            shp = shp.to(dev, model.dtype)
            if dev.type == "cpu":  # one forward per head: a batched forward rounds differently from batch 1
                # (other BLAS kernels), and on the CPU a head's maps must not depend on the batch it is made in
                verts = torch.cat([model(shape=shp[i:i + 1]).vertices for i in range(b)]).detach().float()
            else:
                verts = model(shape=shp).vertices.detach().float()
            verts = _check_vertices(model, verts)
            frames = surface_frames(model, verts, layout.bake)
            ao = layout.bake.sample(vertex_ambient_occlusion(model, verts)[..., None]).reshape(b, -1).clamp(0, 1)
        ctl = {k: torch.tensor([c[k] for c in resolved], device=dev, dtype=torch.float32)
               for k in TEXTURE_CONTROLS}
        seeds_t = torch.tensor(seed_list, device=dev, dtype=torch.int64)
        ctl["_seeds"] = seeds_t
        albedo, disp, slopes = _albedo_and_displacement(layout, ctl, seeds_t,
                                                        need_raw=any(c["asymmetry"] > 0 for c in resolved))
        s = size
        normal = _slope_normals(slopes, layout, frames).view(b, s, s, 3)
        cavity = 1.0 + (disp / 2.5e-4).clamp(-1.0, 0.0) / 3.0
        occl = (ao * cavity).clamp(0.0, 1.0)
        age = ((ctl["skin_age"] - 20.0) / 50.0).clamp(0.0, 1.4)[:, None]
        rough = (layout.maps["rough"][None] * (1.0 + 0.08 * age)).clamp(0.02, 1.0)
        u8 = lambda x: (x * 255.0).round().to(torch.uint8)  # noqa: E731
        orm = torch.stack([u8(occl), u8(rough).expand(b, -1), torch.zeros_like(occl, dtype=torch.uint8)], -1)
        code = ((disp + DISPLACEMENT_RANGE_M) / (2 * DISPLACEMENT_RANGE_M) * 65535.0).round().clamp(0, 65535)
        out = TextureBatch(
            albedo=(skin.linear_to_srgb(albedo) * 255.0).round().to(torch.uint8).view(b, s, s, 3),
            normal=normal,
            orm=orm.view(b, s, s, 3),
            displacement=code.to(torch.int32).view(b, s, s),
            displacement_offset_m=-DISPLACEMENT_RANGE_M, displacement_scale_m=2 * DISPLACEMENT_RANGE_M,
            provenance=[{"generator": GENERATOR_NAME, "version": GENERATOR_VERSION, "seed": seed_list[i],
                         "controls": dict(resolved[i]), "size": size, "model": getattr(model, "model_id", ""),
                         "identity": "neutral" if shapes is None else "shape"} for i in range(b)])
    return out


def _noise(layout: ProceduralLayout, seeds: torch.Tensor, asym: torch.Tensor,
           need_raw: bool | None = None) -> dict[str, torch.Tensor]:
    """``[B, C, P]`` noise per scale: cos θ · mirrored + sin θ · independent unmirrored, θ = asymmetry · π/2;
    ``"pore_tb"``, ``"fine_tb"``: ``[B, 2, 2P]`` the displacement's channels at the tangent/bitangent-offset
    points. ``need_raw``: whether any asymmetry is > 0 (pass it to spare a device sync)."""
    out = {}
    theta = (asym * (math.pi / 2))[:, None, None, None, None]
    if need_raw is None:
        need_raw = bool((asym > 0).any())
    for name, (stream, ch, n, _tile, peak) in _SCALES.items():
        # the mix weights scale the (small) volumes, not the (large) samples: f = S(cos θ·V) + S(sin θ·V')
        vol = nz.noise_volumes(seeds, stream, ch, n, peak, BANDWIDTH[name])
        if need_raw:
            vol = vol * torch.cos(theta)
            vol_r = nz.noise_volumes(seeds, stream + 100, ch, n, peak, BANDWIDTH[name]) * torch.sin(theta)
        sel = DISP_CHANNELS.get(name)
        f = nz.sample_volumes(vol, layout.coords[name + "_sym"])
        tb = nz.sample_volumes(vol[:, list(sel)], layout.coords[name + "_sym_tb"]) if sel else None
        if need_raw:
            f = f + nz.sample_volumes(vol_r, layout.coords[name + "_raw"])
            if sel:
                tb = tb + nz.sample_volumes(vol_r[:, list(sel)], layout.coords[name + "_raw_tb"])
        out[name] = f
        if sel:
            out[name + "_tb"] = tb
    return out


def _slope_normals(slopes: torch.Tensor, layout: ProceduralLayout, frames: SurfaceFrames | None) -> torch.Tensor:
    """uint8 tangent-space normals ``[B, P, 3]`` of displacement slopes ``[B, 2, P]`` along the reference
    head's smooth (T, B); ``frames`` of another identity re-express them in its frames through the texture
    parameterisation (``G_id · G_ref⁻¹``; the identity on the neutral head)."""
    st, sb = slopes[:, 0], slopes[:, 1]
    if frames is not None:
        b = st.shape[0]
        g_ref = layout.ref_frames.grad_to_tb.reshape(1, -1, 2, 2)
        g_id = frames.grad_to_tb.reshape(b, -1, 2, 2)
        det = g_ref[..., 0, 0] * g_ref[..., 1, 1] - g_ref[..., 0, 1] * g_ref[..., 1, 0]
        ok = det.abs() > 1e-12
        det = torch.where(ok, det, torch.ones_like(det))
        # texture-space differences (Δu d, Δv d) = G_ref⁻¹ (d_T, d_B), then (d_T', d_B') = G_id (Δu d, Δv d)
        du = (g_ref[..., 1, 1] * st - g_ref[..., 0, 1] * sb) / det
        dv = (g_ref[..., 0, 0] * sb - g_ref[..., 1, 0] * st) / det
        st = torch.where(ok, g_id[..., 0, 0] * du + g_id[..., 0, 1] * dv, st)
        sb = torch.where(ok, g_id[..., 1, 0] * du + g_id[..., 1, 1] * dv, sb)
    return _fused(_encode_slopes, st.device)(st, sb)


def _encode_slopes(st: torch.Tensor, sb: torch.Tensor) -> torch.Tensor:
    """uint8 codes ``[..., 3]`` of the unit normal ``(-st, -sb, 1) / |·|`` (as :func:`encode_normals`)."""
    inv = torch.rsqrt(st * st + sb * sb + 1.0)
    enc = lambda x: ((x.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)  # noqa: E731
    return torch.stack([enc(-st * inv), enc(-sb * inv), enc(inv)], -1)


def _albedo_and_displacement(layout: ProceduralLayout, c: dict[str, torch.Tensor], seeds: torch.Tensor,
                             need_raw: bool | None = None):
    """Linear-RGB albedo ``[B, P, 3]`` in [0, 1], displacement ``[B, P]`` (meters) and its slopes
    ``[B, 2, P]`` along the reference tangent frame, of a batch."""
    n = _noise(layout, seeds, c["asymmetry"], need_raw)
    rgb, _moles = _albedo(layout, c, n)
    disp, slopes = _displacement(layout, c, n)
    return rgb.clamp(0.0, 1.0), disp, slopes
