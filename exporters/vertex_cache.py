"""Baked per-frame vertex caches (PC2) of an asset's animation clips, for tools that do not play morph targets
or skins (Alembic-style point caches in 3ds Max, Blender's Mesh Cache modifier, Houdini, custom engines).

Each clip of a :class:`~assetgen.asset.HeadAsset` is evaluated the way a glTF player evaluates it — morph
targets first, then linear blend skinning with the clip's joint rotations (glTF 2.0 §3.7.3.3 and §3.7.4) —
at uniform frames ``0, 1/fps, 2/fps, …`` up to the clip's end (its last key is always included as the last
frame), on LOD ``lod``'s mesh: every part (skin, eyes, tongue, teeth) concatenated in the asset's part order,
which is the vertex order of that LOD's mesh in the glb (one primitive per part). Positions are meters in the
glTF frame (+Y up, face toward +Z).

PC2 ("POINTCACHE2") layout, little-endian: ``char[12] "POINTCACHE2\\0"``, ``int32 version = 1``,
``int32 num_points``, ``float32 start_frame``, ``float32 sample_rate`` (frames between samples),
``int32 num_samples``, then ``num_samples × num_points × 3`` float32 positions.

    files = vertex_cache_files(asset, fps=30)   # {"cache/blink.pc2": bytes, …, "cache/vertex_cache.json": bytes}
"""

from __future__ import annotations

import re
import struct

import numpy as np

from assetgen.asset.types import Animation, HeadAsset
from assetgen.io import json_bytes

__all__ = ["BLENDER_MESH_CACHE", "PC2_MAGIC", "decode_pc2", "encode_pc2", "pose_frames", "sample_animation",
           "vertex_cache_files"]

PC2_MAGIC = b"POINTCACHE2\x00"
#: Settings of Blender's Mesh Cache modifier that play a cache on the glb's imported LOD mesh exactly (checked
#: with Blender 3.4.1 in tests/test_vertex_cache.py): the file is +Y up, Blender's importer turns it +Z up. Remove
#: the mesh's Armature modifier and shape keys first (the cache already holds skinning and blendshapes).
BLENDER_MESH_CACHE = {"cache_format": "PC2", "forward_axis": "POS_Z", "up_axis": "NEG_Y", "frame_start": 0.0,
                      "remove": ["Armature modifier", "shape keys"]}
_HEADER = struct.Struct("<12siiffi")


def encode_pc2(frames: np.ndarray, *, start_frame: float = 0.0, sample_rate: float = 1.0) -> bytes:
    """``frames [K, N, 3]`` (meters) → PC2 bytes."""
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.shape[2] != 3 or frames.shape[0] < 1 or frames.shape[1] < 1:
        raise ValueError(f"frames: expected shape [K >= 1, N >= 1, 3], got {list(frames.shape)}")
    if not np.isfinite(frames).all():
        raise ValueError("frames: contains NaN or inf")
    head = _HEADER.pack(PC2_MAGIC, 1, frames.shape[1], float(start_frame), float(sample_rate), frames.shape[0])
    return head + np.ascontiguousarray(frames, dtype="<f4").tobytes()


def decode_pc2(data: bytes) -> tuple[np.ndarray, float, float]:
    """PC2 bytes → ``(frames [K, N, 3] float32, start_frame, sample_rate)``; ``ValueError`` when malformed."""
    if len(data) < _HEADER.size:
        raise ValueError(f"data: {len(data)} bytes is shorter than a PC2 header ({_HEADER.size})")
    magic, version, points, start, rate, samples = _HEADER.unpack_from(data)
    if magic != PC2_MAGIC or version != 1:
        raise ValueError("data: not a PC2 (POINTCACHE2, version 1) file")
    expected = _HEADER.size + points * samples * 12
    if points < 1 or samples < 1 or len(data) != expected:
        raise ValueError(f"data: expected {expected} bytes for {samples} samples of {points} points, got {len(data)}")
    frames = np.frombuffer(data, "<f4", offset=_HEADER.size).reshape(samples, points, 3).astype(np.float32)
    return frames, float(start), float(rate)


def _slerp(q0: np.ndarray, q1: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise spherical interpolation of unit quaternions ``[K, 4]`` (shortest arc), ``u [K]`` in [0, 1]."""
    dot = (q0 * q1).sum(1)
    q1 = np.where(dot[:, None] < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    small = theta < 1e-6
    s = np.where(small, 1.0, np.sin(theta))
    a = np.where(small, 1 - u, np.sin((1 - u) * theta) / s)
    b = np.where(small, u, np.sin(u * theta) / s)
    q = a[:, None] * q0 + b[:, None] * q1
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def sample_animation(anim: Animation, fps: float) -> tuple[np.ndarray, np.ndarray | None, dict[str, np.ndarray]]:
    """``anim`` at uniform frames from 0 s: ``(times [K], weights [K, T] | None, {joint: [K, 4] quaternions})``,
    linear weights and slerped rotations (glTF LINEAR); the clip's last key is the last frame."""
    fps = float(fps)
    if not np.isfinite(fps) or not 1 <= fps <= 240:
        raise ValueError(f"fps: expected 1..240 frames per second, got {fps:g}")
    keys = anim.times.astype(np.float64)
    end = float(keys[-1])
    n = int(np.floor(end * fps + 1e-6))
    times = np.arange(n + 1) / fps
    if end - times[-1] > 1e-6:
        times = np.append(times, end)
    weights = None
    if anim.morph_weights is not None:
        w = anim.morph_weights.astype(np.float64)
        weights = np.stack([np.interp(times, keys, w[:, t]) for t in range(w.shape[1])], 1) if w.shape[1] else \
            np.zeros((times.size, 0))
    i = np.clip(np.searchsorted(keys, times, side="right") - 1, 0, max(keys.size - 2, 0))
    j = np.minimum(i + 1, keys.size - 1)
    span = np.where(j > i, keys[j] - keys[i], 1.0)
    u = np.clip((times - keys[i]) / span, 0.0, 1.0)
    rots = {name: _slerp(q.astype(np.float64)[i], q.astype(np.float64)[j], u) for name, q in anim.joint_rotations.items()}
    return times, weights, rots


def _quat_matrices(q: np.ndarray) -> np.ndarray:
    """``[K, 4]`` (x, y, z, w) → ``[K, 3, 3]`` rotation matrices."""
    x, y, z, w = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], 1)


def pose_frames(asset: HeadAsset, anim: Animation, *, fps: float = 30.0, lod: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(times [K] s, positions [K, N, 3] float32 m)`` of LOD ``lod`` (parts concatenated) playing ``anim``."""
    if not isinstance(asset, HeadAsset):
        raise ValueError(f"asset: expected a HeadAsset, got {type(asset).__name__}")
    if not 0 <= lod < len(asset.lods):
        raise ValueError(f"lod: expected 0..{len(asset.lods) - 1}, got {lod}")
    times, weights, rots = sample_animation(anim, fps)
    sk = asset.skeleton
    unknown = sorted(set(rots) - set(sk.names))
    if unknown:
        raise ValueError(f"anim: joints {unknown} are not in the skeleton")
    k, nj = times.size, sk.num_joints
    glob = np.zeros((k, nj, 4, 4))
    for jnt in range(nj):
        local = np.tile(np.eye(4), (k, 1, 1))
        local[:, :3, 3] = sk.local_translations[jnt]
        if sk.names[jnt] in rots:
            local[:, :3, :3] = _quat_matrices(rots[sk.names[jnt]])
        p = sk.parents[jnt]
        glob[:, jnt] = local if p < 0 else glob[:, p] @ local
    skin = (glob @ sk.inverse_bind_matrices.astype(np.float64)[None])[:, :, :3, :]  # [K, J, 3, 4]
    out = []
    for part in asset.lods[lod].parts:
        rest = part.positions.astype(np.float64)
        morphs = part.morph_positions.astype(np.float64).reshape(part.morph_positions.shape[0], -1)
        joints, w = part.joints.astype(np.int64), part.weights.astype(np.float64)
        res = np.empty((k, rest.shape[0], 3))
        for start in range(0, k, 16):  # frame chunks keep the [k, N, 3, 4] blend small
            sl = slice(start, min(start + 16, k))
            pos = np.broadcast_to(rest, (sl.stop - sl.start, *rest.shape))
            if weights is not None and morphs.shape[0]:
                pos = pos + (weights[sl] @ morphs).reshape(-1, *rest.shape)
            mats = sum(w[None, :, c, None, None] * skin[sl][:, joints[:, c]] for c in range(joints.shape[1]))
            res[sl] = (mats[..., 0] * pos[..., 0, None] + mats[..., 1] * pos[..., 1, None]
                       + mats[..., 2] * pos[..., 2, None] + mats[..., 3])
        out.append(res)
    return times, np.concatenate(out, 1).astype(np.float32)


def _file_name(clip: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", clip).strip("._") or "clip"


def vertex_cache_files(asset: HeadAsset, *, fps: float = 30.0, lod: int = 0) -> dict[str, bytes]:
    """One PC2 per clip (``cache/<clip>.pc2``, sample ``k`` = frame ``k`` at ``fps``) plus
    ``cache/vertex_cache.json`` (fps, mesh name, point count, the parts' vertex ranges ``[first, end)`` in
    order, per-clip samples and duration, Blender Mesh Cache settings). ``ValueError`` when the asset has no animation."""
    if not asset.animations:
        raise ValueError("asset: has no animation clips to bake (add some with --animation / animations=)")
    files, clips = {}, []
    used: set[str] = set()
    for anim in asset.animations:
        times, frames = pose_frames(asset, anim, fps=fps, lod=lod)
        name = _file_name(anim.name)
        while name in used:
            name += "_"
        used.add(name)
        files[f"cache/{name}.pc2"] = encode_pc2(frames)
        clips.append({"clip": anim.name, "file": f"{name}.pc2", "samples": int(times.size),
                      "duration_s": round(float(times[-1]), 6)})
    ranges, start = [], 0
    for part in asset.lods[lod].parts:
        ranges.append({"part": part.name, "first": start, "end": start + int(part.positions.shape[0])})
        start += int(part.positions.shape[0])
    files["cache/vertex_cache.json"] = json_bytes({
        "format": "pc2", "fps": float(fps), "mesh": f"{asset.name}_LOD{asset.lods[lod].level}", "points": start,
        "parts": ranges, "units": "meters, glTF frame (+Y up, face +Z)", "clips": clips,
        "blender_mesh_cache": BLENDER_MESH_CACHE})
    return files
