"""The procedural texture model (issue 3, part 3): seeded albedo, displacement, normal and ORM maps over the
whole head UV layout, driven by the named controls of :mod:`assetgen.control.texture_controls`.

Seamless by construction: every field is a function of the texel's 3D point on the model's *neutral*
(reference) head and of smooth region weights, gathered through the UV atlas; both sides of a UV seam are
the same 3D point, so they get the same colour and displacement, and the normal map is baked from that
displacement in the exporter's tangent frames (:mod:`assetgen.textures.bake`), so shading normals agree too.
Detail sticks to the same anatomical place for every identity. Symmetry: noise is sampled at the mirrored
point ``(|x|, y, z)`` and blended with independent unmirrored noise by ``asymmetry`` (cf. the symmetric
albedo/reconstruction terms of papers 3 §4.1 and 4 §3).

Cost model: everything that depends only on (model, size) — reference texel positions, region weights,
anatomical coordinates (brows, beard, wrinkle phases, eyes), noise-tile coordinates, reference tangent
frames and AO — is built once and cached (:class:`ProceduralLayout`). Per head: a few noise volumes from the
seed (tiny FFTs), one ``grid_sample`` gather per noise scale, and a few dozen elementwise ops per map.

Displacement: meters along the vertex normal, bounded to ±:data:`DISPLACEMENT_RANGE_M` (0.5 mm): pores
(≈ 40 µm deep, deeper on nose and cheeks), skin micro-relief, moles, and wrinkles that grow with
``skin_age × wrinkles`` (forehead lines, glabella, crow's feet, under-eye lines, nasolabial folds, neck lines).
Paper 3 §4.2 bounds its displacement map the same way (``D ∈ [-0.01, 0.01]`` in FLAME units).
"""

from __future__ import annotations

import copy
import difflib
import math
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from assetgen.control.texture_controls import TEXTURE_CONTROLS, texture_defaults
from assetgen.textures import noise as nz
from assetgen.textures import skin
from assetgen.textures.bake import (BakeLayout, SurfaceFrames, bake_layout, check_size, encode_normals,
                                    surface_frames, tangent_normals, vertex_ambient_occlusion, _check_vertices)
from assetgen.textures.types import TextureSet

__all__ = ["GENERATOR_NAME", "GENERATOR_VERSION", "DISPLACEMENT_RANGE_M", "TextureBatch", "generate_textures",
           "generate_texture_batch", "resolve_controls", "describe_controls", "procedural_layout"]

GENERATOR_NAME = "assetgen.textures.procedural"
GENERATOR_VERSION = "1.0"
#: Displacement is clamped to ±this many meters and encoded over exactly that range.
DISPLACEMENT_RANGE_M = 5e-4

_REGIONS = ("lips", "ears", "eyelids", "inside_mouth", "neck", "scalp")
_PART_IDS = {"skin": 0, "eye_left": 1, "eye_right": 1, "tongue": 2, "teeth": 3}


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


# ----------------------------------------------------------------------------------------------- layout
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


@dataclass(frozen=True, eq=False)
class ProceduralLayout:
    """Everything the procedural model needs that depends only on (model, size) (see module doc)."""

    bake: BakeLayout
    coords: dict[str, torch.Tensor]  # noise-tile grid coordinates [P, 3] per scale, sym and raw
    maps: dict[str, torch.Tensor]  # [P] float32 cached per-texel maps
    subsets: dict[str, _Subset]
    ref_vertices: torch.Tensor  # [1, V, 3]
    ref_frames: SurfaceFrames
    ref_ao: torch.Tensor  # [1, P]

    @property
    def size(self) -> int:
        return self.bake.size


_SCALES = {  # name: (stream, channels, voxels, tile meters, spectral peak in cycles per tile)
    "pore": (1, 3, 48, 0.012, 8.0),    # λ ≈ 1.5 mm: pores, follicles, micro-relief
    "fine": (2, 3, 48, 0.048, 12.0),   # λ ≈ 4 mm: freckles, moles, wrinkle warp
    "mid": (3, 2, 32, 0.20, 8.0),      # λ ≈ 25 mm: mottling, age spots
}

_LAYOUTS: "weakref.WeakKeyDictionary[torch.nn.Module, dict]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def procedural_layout(model, size: int) -> ProceduralLayout:
    """The cached :class:`ProceduralLayout` of ``model`` at ``size`` texels (on the model's device)."""
    size = check_size(size)
    key = (size, str(model.device))
    with _LOCK:
        hit = _LAYOUTS.get(model, {}).get(key)
    if hit is not None:
        return hit
    layout = _build(model, size)
    with _LOCK:
        _LAYOUTS.setdefault(model, {})[key] = layout
    return layout


def _vertex_adjacency(faces: torch.Tensor, num_vertices: int) -> torch.Tensor:
    e = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], 0)
    e = torch.cat([e, e.flip(1)], 0)
    vals = torch.ones(e.shape[0], dtype=torch.float32, device=faces.device)
    a = torch.sparse_coo_tensor(e.T, vals, (num_vertices, num_vertices), check_invariants=False).coalesce()
    a = torch.sparse_coo_tensor(a.indices(), torch.ones_like(a.values()), a.shape, check_invariants=False)  # 0/1
    deg = torch.sparse.sum(a, 1).to_dense().clamp_min(1.0)
    return a, deg


def _build(model, size: int) -> ProceduralLayout:
    device = model.device
    bl = bake_layout(model, size)
    with torch.no_grad():
        out = model()
    ref = out.vertices.detach().float()  # [1, V, 3]
    v0 = ref[0]
    nv = v0.shape[0]
    # --- region weights per vertex, smoothed over the surface (soft borders), then per texel
    regions = model.regions
    onehot = torch.zeros(nv, len(_REGIONS), device=device)
    for i, name in enumerate(_REGIONS):
        if name in regions:
            onehot[regions[name], i] = 1.0
    adj, deg = _vertex_adjacency(model.faces, nv)
    w = onehot
    for _ in range(3):
        w = 0.5 * w + 0.5 * torch.sparse.mm(adj, w) / deg[:, None]
    reg = bl.sample(w).reshape(-1, len(_REGIONS)).clamp(0.0, 1.0)  # [P, R]
    r = {name: reg[:, i] for i, name in enumerate(_REGIONS)}
    pos = bl.sample(v0).reshape(-1, 3)  # [P, 3] reference texel positions (extrapolated into padding)
    # part of each texel (hard: parts are separate surfaces)
    face_part = torch.zeros(model.faces.shape[0], dtype=torch.long, device=device)
    for name, faces in model.parts.items():
        face_part[faces] = _PART_IDS.get(name, 0)
    part = face_part[bl.atlas.face].reshape(-1)
    is_skin = (part == 0).float()
    skin_w = is_skin * (1.0 - r["inside_mouth"])
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]

    maps: dict[str, torch.Tensor] = {"part": part, "skin": skin_w}
    subsets: dict[str, _Subset] = {}
    lm = out.landmarks[0].float() if out.landmarks is not None and out.landmarks.shape[1] == 68 else None
    zero = torch.zeros_like(x)
    nose = cheeks = forehead = beard = undereye = zero
    if lm is not None:
        g = lambda d, rad: torch.exp(-(d / rad) ** 2)  # noqa: E731
        face_scale = float((lm[16] - lm[0]).norm()) / 0.138  # 1 on the open head
        sc = lambda m: m * face_scale  # noqa: E731
        d1, _ = _segment_distance(pos, lm[27], lm[30])
        d2, _ = _polyline(pos, lm[31:36])
        nose = torch.maximum(g(d1, sc(0.011)), g(d2, sc(0.010))) * skin_w
        cheeks = zero
        for a, b, c in ((36, 48, 2), (45, 54, 14)):
            ctr = (lm[a] + lm[b] + lm[c]) / 3.0
            cheeks = torch.maximum(cheeks, g((pos - ctr).norm(dim=-1), sc(0.024)))
        cheeks = cheeks * skin_w * (1.0 - nose)
        brow_y = float(lm[17:27, 1].max())
        front_z = float(lm[[0, 16], 2].mean())
        half_w = float((lm[16, 0] - lm[0, 0]).abs()) / 2
        forehead = (_smoothstep(brow_y + sc(0.004), brow_y + sc(0.014), y) * _smoothstep(
            half_w * 0.95, half_w * 0.6, x.abs()) * _smoothstep(front_z - sc(0.01), front_z + sc(0.02), z)
            * _smoothstep(brow_y + sc(0.085), brow_y + sc(0.06), y) * skin_w)
        # beard: below a line from under the nose to the jaw below the ears, above the upper neck
        y_mid = float(lm[33, 1]) - sc(0.004)
        y_side = float(lm[[3, 13], 1].mean())
        y_line = y_mid + (y_side - y_mid) * (x.abs() / half_w).clamp(0.0, 1.2)
        beard = (_smoothstep(y_line + sc(0.004), y_line - sc(0.006), y)
                 * _smoothstep(float(lm[8, 1]) - sc(0.055), float(lm[8, 1]) - sc(0.035), y)
                 * _smoothstep(float(lm[[0, 16], 2].mean()) - sc(0.03), float(lm[[0, 16], 2].mean()) - sc(0.01), z)
                 * (1.0 - r["lips"]) ** 2 * skin_w)
        for lo in ((40, 41), (46, 47)):
            ctr = lm[list(lo)].mean(0) - torch.tensor([0.0, sc(0.006), 0.0], device=device)
            undereye = torch.maximum(undereye, g((pos - ctr).norm(dim=-1), sc(0.009)))
        undereye = undereye * skin_w
        subsets.update(_feature_subsets(pos, lm, skin_w, r, sc, maps))
    eye = _eye_subset(model, v0, pos, bl.atlas.face.reshape(-1))
    if eye is not None:
        subsets["eyes"] = eye

    # cached per-texel modulation maps of the skin chromophores, pore depth and roughness
    maps["mel"] = (1.0 + 0.30 * r["eyelids"] + 0.18 * undereye - 0.12 * r["lips"] + 0.06 * r["ears"]
                   - 0.05 * r["neck"] - 0.08 * r["scalp"] + 0.05 * nose)
    maps["hb"] = (1.0 + 2.6 * r["lips"] + 0.9 * cheeks + 0.7 * nose + 0.6 * r["ears"] + 0.35 * r["eyelids"]
                  + 0.25 * undereye - 0.15 * r["neck"] - 0.1 * r["scalp"])
    maps["mouth"] = (r["inside_mouth"] * is_skin).clamp(0, 1)
    maps["freckle_zone"] = ((nose + cheeks).clamp(0, 1) * 0.85 + 0.3 * forehead + 0.15) * skin_w
    maps["age_zone"] = ((cheeks + forehead + 0.5 * nose).clamp(0, 1) * 0.8 + 0.25) * skin_w * (1 - r["lips"])
    maps["mole_zone"] = skin_w * (1 - r["lips"]) * (1 - r["eyelids"])
    maps["beard"] = beard
    maps["scalp"] = r["scalp"] * skin_w
    maps["pore"] = (0.6 + 0.9 * nose + 0.6 * cheeks + 0.35 * forehead) * skin_w * (1 - 0.85 * r["lips"]) * (
        1 - 0.6 * r["eyelids"])
    maps["rough"] = (0.55 * skin_w + (0.45 - 0.55) * forehead + (0.42 - 0.55) * nose + (0.36 - 0.55) * r["lips"]
                     + (0.6 - 0.55) * (r["neck"] + r["scalp"]) + 0.32 * (1 - is_skin + maps["mouth"] * is_skin))
    maps["rough"] = torch.where(part == 1, torch.full_like(x, 0.06), maps["rough"]).clamp(0.04, 0.9)
    maps["rough"] = torch.where(part == 2, torch.full_like(x, 0.32), maps["rough"])
    # noise-tile coordinates: mirrored (|x|, y, z) and raw, each scale with its own rotation
    coords = {}
    mirrored = torch.stack([x.abs(), y, z], -1)
    for name, (stream, _c, _n, tile, _peak) in _SCALES.items():
        rot = nz.random_rotation(stream).to(device)
        coords[name + "_sym"] = nz.tile_coordinates(mirrored, tile, rot)
        coords[name + "_raw"] = nz.tile_coordinates(pos, tile, rot)
    frames = surface_frames(model, ref, bl)
    ao_v = vertex_ambient_occlusion(model, ref)
    ao = bl.sample(ao_v[..., None]).reshape(1, -1).clamp(0.0, 1.0)
    return ProceduralLayout(bake=bl, coords=coords, maps={k: v.contiguous() for k, v in maps.items()},
                            subsets=subsets, ref_vertices=ref, ref_frames=frames, ref_ao=ao)


def _feature_subsets(pos, lm, skin_w, r, sc, maps) -> dict[str, _Subset]:
    """Anatomical coordinates of brows and wrinkle families on the texels near them (cached)."""
    out: dict[str, _Subset] = {}
    x, y, z = pos[:, 0], pos[:, 1], pos[:, 2]
    # eyebrows: polyline through the brow landmarks, nudged down onto the brow's centre line
    down = torch.tensor([0.0, sc(0.002), 0.0], device=pos.device)
    for side, ids, medial_first in (("brow_r", list(range(21, 16, -1)), True), ("brow_l", list(range(22, 27)), True)):
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
    # wrinkle families: cached phase / distance and envelope
    brow_y = float(lm[17:27, 1].max())
    half_w = float((lm[16, 0] - lm[0, 0]).abs()) / 2
    fh = _smoothstep(brow_y + sc(0.008), brow_y + sc(0.016), y) * _smoothstep(brow_y + sc(0.06),
         brow_y + sc(0.045), y) * _smoothstep(half_w * 0.85, half_w * 0.5, x.abs()) * skin_w
    spacing = sc(0.0085)
    bend = 0.12 * (x / half_w) ** 2  # lines arch a little toward the temples
    _add(out, "forehead", fh, {"phase": (y - brow_y) / spacing - bend / spacing * sc(0.01), "width": spacing * 0.16})
    gl = (torch.exp(-((y - float(lm[[21, 22], 1].mean())) / sc(0.009)) ** 2)
          * _smoothstep(sc(0.012), sc(0.006), x.abs()) * skin_w)
    _add(out, "glabella", gl, {"phase": x.abs() / sc(0.004) + 0.5, "width": sc(0.0006)})
    env = zero = torch.zeros_like(x)
    phase = zero
    for corner, sign in ((36, -1.0), (45, 1.0)):
        c = lm[corner]
        rel = pos - c
        lateral = rel[:, 0] * sign
        rad = torch.sqrt(lateral ** 2 + rel[:, 1] ** 2)
        ang = torch.atan2(rel[:, 1], lateral.clamp_min(1e-6))
        e = (_smoothstep(sc(0.004), sc(0.009), rad) * _smoothstep(sc(0.028), sc(0.016), rad)
             * _smoothstep(-0.1, sc(0.004), lateral) * (ang.abs() < 1.1).float() * skin_w)
        phase = torch.where(e > env, ang / 0.17, phase)
        env = torch.maximum(env, e)
    _add(out, "crows", env, {"phase": phase, "width": sc(0.0007)})
    ue_env, ue_phase = zero, zero
    for lo in ((40, 41), (46, 47)):
        ctr = lm[list(lo)].mean(0)
        rel = pos - ctr
        dist = torch.sqrt((rel[:, 0] * 0.7) ** 2 + rel[:, 1] ** 2)
        e = (_smoothstep(sc(0.003), sc(0.006), dist) * _smoothstep(sc(0.016), sc(0.011), dist)
             * (rel[:, 1] < 0).float() * skin_w * (1 - r["eyelids"]))
        ue_phase = torch.where(e > ue_env, dist / sc(0.0045), ue_phase)
        ue_env = torch.maximum(ue_env, e)
    _add(out, "undereye", ue_env, {"phase": ue_phase, "width": sc(0.0007)})
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
    _add(out, "nasolabial", nl_env, {"dist": nl_dist, "width": sc(0.0022)})
    neck = r["neck"] * skin_w * _smoothstep(float(lm[8, 1]) - sc(0.015), float(lm[8, 1]) - sc(0.03), y)
    _add(out, "neck", neck, {"phase": y / sc(0.013) + 0.25 * torch.sin(x / sc(0.03)), "width": sc(0.0012)})
    del maps
    return out


def _add(out: dict, name: str, env: torch.Tensor, data: dict[str, Any]) -> None:
    idx = (env > 0.01).nonzero().flatten()
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
    identity vectors ``[S]`` (or a ``[B, S]`` tensor).
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
            frames, ao = layout.ref_frames, layout.ref_ao.expand(b, -1)
            frames_b = 1
        else:
            shp = shapes if isinstance(shapes, torch.Tensor) else torch.stack([torch.as_tensor(s) for s in shapes])
            if shp.ndim != 2 or shp.shape[0] != b:
                raise ValueError(f"shapes: expected {b} identity vectors of length {model.num_shape}, "
                                 f"got {tuple(shp.shape)}")
            verts = model(shape=shp.to(dev, model.dtype)).vertices.detach().float()
            verts = _check_vertices(model, verts)
            frames = surface_frames(model, verts, layout.bake)
            ao = layout.bake.sample(vertex_ambient_occlusion(model, verts)[..., None]).reshape(b, -1).clamp(0, 1)
            frames_b = b
        ctl = {k: torch.tensor([c[k] for c in resolved], device=dev, dtype=torch.float32)
               for k in TEXTURE_CONTROLS}
        seeds_t = torch.tensor(seed_list, device=dev, dtype=torch.int64)
        ctl["_seeds"] = seeds_t
        albedo, disp = _albedo_and_displacement(layout, ctl, seeds_t)
        if frames_b == 1 and b > 1:
            frames = SurfaceFrames(*(t.expand(b, *t.shape[1:]) for t in (
                frames.position, frames.normal, frames.tangent, frames.bitangent, frames.grad_to_tb)))
        s = size
        normal = tangent_normals(disp.view(b, s, s), frames, layout.bake)
        cavity = 1.0 + (disp / 2.5e-4).clamp(-1.0, 0.0) / 3.0
        occl = (ao * cavity).clamp(0.0, 1.0)
        age = ((ctl["skin_age"] - 20.0) / 50.0).clamp(0.0, 1.4)[:, None]
        rough = (layout.maps["rough"][None] * (1.0 + 0.08 * age)).clamp(0.02, 1.0)
        orm = torch.stack([occl, rough, torch.zeros_like(rough)], -1)
        code = ((disp + DISPLACEMENT_RANGE_M) / (2 * DISPLACEMENT_RANGE_M) * 65535.0).round().clamp(0, 65535)
        out = TextureBatch(
            albedo=(skin.linear_to_srgb(albedo) * 255.0).round().to(torch.uint8).view(b, s, s, 3),
            normal=encode_normals(normal),
            orm=(orm * 255.0).round().to(torch.uint8).view(b, s, s, 3),
            displacement=code.to(torch.int32).view(b, s, s),
            displacement_offset_m=-DISPLACEMENT_RANGE_M, displacement_scale_m=2 * DISPLACEMENT_RANGE_M,
            provenance=[{"generator": GENERATOR_NAME, "version": GENERATOR_VERSION, "seed": seed_list[i],
                         "controls": dict(resolved[i]), "size": size, "model": getattr(model, "model_id", ""),
                         "identity": "neutral" if shapes is None else "shape"} for i in range(b)])
    return out


def _noise(layout: ProceduralLayout, seeds: torch.Tensor, asym: torch.Tensor) -> dict[str, torch.Tensor]:
    """``[B, C, P]`` noise per scale: cos θ · mirrored + sin θ · independent unmirrored, θ = asymmetry · π/2."""
    out = {}
    theta = (asym * (math.pi / 2))[:, None, None]
    need_raw = bool((asym > 0).any())
    for name, (stream, ch, n, _tile, peak) in _SCALES.items():
        vol = nz.noise_volumes(seeds, stream, ch, n, peak)
        f = nz.sample_volumes(vol, layout.coords[name + "_sym"])
        if need_raw:
            vol_r = nz.noise_volumes(seeds, stream + 100, ch, n, peak)
            f = torch.cos(theta) * f + torch.sin(theta) * nz.sample_volumes(vol_r, layout.coords[name + "_raw"])
        out[name] = f
    return out


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


def _albedo_and_displacement(layout: ProceduralLayout, c: dict[str, torch.Tensor], seeds: torch.Tensor):
    maps = layout.maps
    n = _noise(layout, seeds, c["asymmetry"])
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

    # ---- displacement (meters)
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
    disp = disp.clamp(-DISPLACEMENT_RANGE_M, DISPLACEMENT_RANGE_M)
    return rgb.clamp(0.0, 1.0), disp


def _line_spacing(name: str) -> float:
    # spacing (m) implied by each family's phase scaling on the open head (widths are in meters)
    return {"forehead": 0.0085, "glabella": 0.004, "crows": 0.17 * 0.015, "undereye": 0.0045,
            "neck": 0.013}[name]


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
