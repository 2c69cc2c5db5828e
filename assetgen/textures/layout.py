"""The cached per-(model, size) reference data of the procedural texture model (:class:`ProceduralLayout`):
reference texel positions, smoothed region weights, per-texel modulation maps, anatomical subsets, noise-tile
coordinates, reference tangent frames and AO. Built once and reused for every head (see
:mod:`assetgen.textures.procedural`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from assetgen.textures import noise as nz
from assetgen.textures.anatomy import _Subset, _eye_subset, _feature_subsets, _polyline, _segment_distance, _smoothstep
from assetgen.textures.bake import BakeLayout, ModelCache, SurfaceFrames, bake_layout, surface_frames, \
    vertex_ambient_occlusion

__all__ = ["ProceduralLayout", "procedural_layout"]

_REGIONS = ("lips", "ears", "eyelids", "inside_mouth", "neck", "scalp")
_PART_IDS = {"skin": 0, "eye_left": 1, "eye_right": 1, "tongue": 2, "teeth": 3}


@dataclass(frozen=True, eq=False)
class ProceduralLayout:
    """Everything the procedural model needs that depends only on (model, size) (see module doc)."""

    bake: BakeLayout
    coords: dict[str, torch.Tensor]  # noise-tile grid coordinates [P, 3] per scale, sym and raw; "_tb": [2P, 3]
    # at the points offset by SLOPE_STEP_M along the reference tangent, then bitangent (normal-map slopes)
    maps: dict[str, torch.Tensor]  # [P] float32 cached per-texel maps
    subsets: dict[str, _Subset]
    ref_vertices: torch.Tensor  # [1, V, 3]
    ref_frames: SurfaceFrames
    ref_ao: torch.Tensor  # [1, P]

    @property
    def size(self) -> int:
        return self.bake.size


_SCALES = {  # name: (stream, channels, voxels, tile meters, spectral peak in cycles per tile)
    "pore": (1, 3, 48, 0.012, 5.0),    # λ ≈ 2.4 mm: pores, follicles, micro-relief (≈ 4 texels at 1K on the face)
    "fine": (2, 3, 48, 0.048, 12.0),   # λ ≈ 4 mm: freckles, moles, wrinkle warp
    "mid": (3, 2, 32, 0.20, 8.0),      # λ ≈ 25 mm: mottling, age spots
}

#: Spectral width (std of ln k) per scale; the pore scale is narrow so its slopes stay ≥ ~4 texels at 1K.
BANDWIDTH = {"pore": 0.28, "fine": 0.45, "mid": 0.45}
#: The normal map's slopes are forward differences of the displacement over this step (m) along the smooth
#: per-texel tangent and bitangent, in 3D (so both sides of a UV seam take the same slope at the same point).
SLOPE_STEP_M = 5e-5
#: Noise channels (per scale) the displacement reads, also sampled at the offset points.
DISP_CHANNELS = {"pore": (0, 2), "fine": (1, 2)}

_LAYOUTS = ModelCache()


def procedural_layout(model, size: int) -> ProceduralLayout:
    """The cached :class:`ProceduralLayout` of ``model`` at ``size`` texels (on the model's device)."""
    return _LAYOUTS.get(model, size, _build)


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
    # band-limit the pore scale to the texel footprint: fade it where a texel is wider than ~0.3-0.5 of its
    # wavelength (low-resolution maps, sparse UV regions); per model vertex (largest adjacent footprint), so
    # both sides of a UV seam fade alike
    fv = model.faces
    area3 = torch.linalg.cross(v0[fv[:, 1]] - v0[fv[:, 0]], v0[fv[:, 2]] - v0[fv[:, 0]], dim=-1).norm(dim=-1)
    uvt = model.uvs.to(device, torch.float32)[model.uv_faces]
    e1, e2 = uvt[:, 1] - uvt[:, 0], uvt[:, 2] - uvt[:, 0]
    area_uv = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]).abs()
    fp_face = torch.where(area_uv > 1e-14, (area3 / area_uv.clamp_min(1e-14)).sqrt() / size, torch.zeros_like(area3))
    fp_vert = torch.zeros(nv, device=device).scatter_reduce(0, fv.reshape(-1), fp_face.repeat_interleave(3),
                                                            reduce="amax")
    fp = bl.sample(fp_vert[:, None]).reshape(-1)
    lam = _SCALES["pore"][3] / _SCALES["pore"][4]
    maps["footprint"] = fp
    # slopes continue a few texels into the padding (mip-map filtering), then fade to flat
    maps["slope_mask"] = _smoothstep(6.0, 4.0, bl.atlas.distance.reshape(-1).to(fp))
    maps["pore"] = maps["pore"] * _smoothstep(0.5 * lam, 0.3 * lam, fp)
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
    # the same fields at the points offset along the reference tangent / bitangent (normal-map slopes)
    off = [pos + SLOPE_STEP_M * frames.tangent[0].reshape(-1, 3), pos + SLOPE_STEP_M * frames.bitangent[0].reshape(-1, 3)]
    both = torch.cat(off, 0)
    mirrored_tb = torch.stack([both[:, 0].abs(), both[:, 1], both[:, 2]], -1)
    for name in DISP_CHANNELS:
        _stream, _c, _n, tile, _peak = _SCALES[name]
        rot = nz.random_rotation(_stream).to(device)
        coords[name + "_sym_tb"] = nz.tile_coordinates(mirrored_tb, tile, rot)
        coords[name + "_raw_tb"] = nz.tile_coordinates(both, tile, rot)
    if lm is not None:
        shifted = [_feature_subsets(q, lm, skin_w, r, sc, maps, fixed=subsets, brows=False) for q in off]
        for name, sub in shifted[0].items():
            for k in ("phase", "dist", "env"):
                if k in sub.data:
                    subsets[name].data[k + "_tb"] = torch.stack([sub.data[k], shifted[1][name].data[k]])
    ao_v = vertex_ambient_occlusion(model, ref)
    ao = bl.sample(ao_v[..., None]).reshape(1, -1).clamp(0.0, 1.0)
    return ProceduralLayout(bake=bl, coords=coords, maps={k: v.contiguous() for k, v in maps.items()},
                            subsets=subsets, ref_vertices=ref, ref_frames=frames, ref_ao=ao)
