"""Levels of detail: quadric edge-collapse decimation (``fast_simplification``) that carries every attribute.

The decimator runs on the seam-split mesh of a part with its open borders locked (``preserve_border``):
UV seams are borders of the split mesh, so they survive intact on both sides, the LOD has no cracks and no
triangle spans two UV islands, and the neck opening keeps its outline.

Each collapse ``(i0, i1)`` merges vertex ``i1`` into ``i0``, so every surviving vertex stands for a
*cluster* of input vertices. The decimator places it at the quadric-optimal point, which on smooth regions
slides along the surface by centimetres (its quadric is nearly singular there); keeping that point while
keeping a vertex's UV would smear the textures, and keeping the survivor's own position instead flips about
2 % of the triangles. So each LOD vertex is the *input vertex of its cluster nearest the optimal point*,
with all of its attributes — position, UV, normal, skin weights, morph deltas — taken exactly
(``MeshPart.lod0_vertex``); a local pass then re-picks cluster members around the few triangles that still
face away from their vertex normals. Only tangents are recomputed on the new triangles.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import fast_simplification
import numpy as np
import torch

from assetgen.asset.types import MeshPart
from assetgen.geometry import vertex_tangents

__all__ = ["Decimation", "decimate", "decimate_part"]

#: fast_simplification keeps its mesh in module-global state: one decimation at a time per process.
_SIMPLIFY_LOCK = threading.Lock()
#: Rounds of the local pass that re-picks cluster representatives around flipped triangles.
_REPAIR_ROUNDS = 4
#: A decimated triangle whose normal is further than this (cosine) from its vertex normals counts as flipped.
_FLIP_COS = 0.2


@dataclass(frozen=True)
class Decimation:
    """Result of :func:`decimate`.

    Attributes:
        keep: ``[M]`` int64, the input vertex each decimated vertex is (distinct; all attributes of a
            decimated vertex are those of ``keep[i]``).
        faces: ``[F', 3]`` int64 triangles over the ``M`` decimated vertices (``keep[faces]`` indexes the
            input), with the input's winding.
    """

    keep: np.ndarray
    faces: np.ndarray


def decimate(positions: np.ndarray, faces: np.ndarray, target_triangles: int, *, normals: np.ndarray | None = None,
             aggressiveness: float = 7.0) -> Decimation:
    """Decimate a triangle mesh to about ``target_triangles``, keeping a subset of its vertices unmoved.

    Args:
        positions: ``[N, 3]`` vertex positions (m).
        faces: ``[F, 3]`` triangle indices.
        target_triangles: wanted triangle count (at least 1); ``>= F`` returns the mesh unchanged.
        normals: ``[N, 3]`` unit vertex normals used to detect flipped triangles (default: area-weighted
            normals of the input).
        aggressiveness: ``fast_simplification``'s ``agg`` (higher: faster, rougher).
    Returns:
        :class:`Decimation`. Vertices on open borders (UV seams of a split mesh, mesh holes) are never
        collapsed, so the count can stay above the target when a mesh is mostly border.
    """
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    n, f = positions.shape[0], faces.shape[0]
    if target_triangles < 1:
        raise ValueError(f"target_triangles: expected at least 1, got {target_triangles}")
    if target_triangles >= f:
        used = np.unique(faces)
        remap = np.full(n, -1, dtype=np.int64)
        remap[used] = np.arange(used.shape[0])
        return Decimation(keep=used, faces=remap[faces])
    if normals is None:
        normals = _vertex_normals(positions, faces)
    with _SIMPLIFY_LOCK:
        optimal, _, collapses = fast_simplification.simplify(
            positions, faces.astype(np.int32), target_count=int(target_triangles), agg=aggressiveness,
            return_collapses=True, preserve_border=True)
    collapses = np.asarray(collapses, dtype=np.int64).reshape(-1, 2)
    rep = np.arange(n, dtype=np.int64)
    rep[collapses[:, 1]] = collapses[:, 0]  # each vertex is removed at most once
    while True:  # follow chains (i0 collapsed later into another vertex) to the final survivor
        nxt = rep[rep]
        if np.array_equal(nxt, rep):
            break
        rep = nxt
    mapped = rep[faces]
    alive = (mapped[:, 0] != mapped[:, 1]) & (mapped[:, 1] != mapped[:, 2]) & (mapped[:, 2] != mapped[:, 0])
    mapped = mapped[alive]
    # Two triangles folded onto the same three vertices would z-fight; keep the first of each.
    _, first = np.unique(np.sort(mapped, axis=1), axis=0, return_index=True)
    mapped = mapped[np.sort(first)]
    survivors = np.unique(mapped)
    cluster_of = np.full(n, -1, dtype=np.int64)
    cluster_of[survivors] = np.arange(survivors.shape[0])
    out_faces = cluster_of[mapped]
    # The decimator's compacted output lists the surviving vertices in index order.
    optimal = np.asarray(optimal, dtype=np.float64)
    if optimal.shape != (survivors.shape[0], 3):  # not expected; fall back to the survivors' own positions
        optimal = positions[survivors]
    members = np.flatnonzero(cluster_of[rep] >= 0)
    member_cluster = cluster_of[rep[members]]
    dist = np.linalg.norm(positions[members] - optimal[member_cluster], axis=1)
    order = np.lexsort((members, dist, member_cluster))  # per cluster: nearest to the optimum, then index
    head = np.r_[True, member_cluster[order][1:] != member_cluster[order][:-1]]
    keep = np.empty(survivors.shape[0], dtype=np.int64)
    keep[member_cluster[order][head]] = members[order][head]
    keep = _repair_flips(keep, out_faces, positions, normals, optimal, members, member_cluster)
    return Decimation(keep=keep, faces=out_faces)


def _vertex_normals(positions: np.ndarray, faces: np.ndarray) -> np.ndarray:
    p = positions[faces]
    fn = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    out = np.zeros_like(positions)
    for k in range(3):
        np.add.at(out, faces[:, k], fn)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-20)


def _flipped(faces: np.ndarray, keep: np.ndarray, positions: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """``[F]`` bool: the triangle's geometric normal points away from the mean of its vertex normals, or
    nearly so (more than ~78°: slivers standing on edge)."""
    return _flipped_corners(keep[faces], positions, normals)


def _flipped_corners(corners: np.ndarray, positions: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """:func:`_flipped` for triangles given as input-vertex indices ``[..., 3]``."""
    p = positions[corners]
    a, b = p[..., 1, :] - p[..., 0, :], p[..., 2, :] - p[..., 0, :]
    fn = np.cross(a, b)
    vn = normals[corners].sum(-2)
    cos = (fn * vn).sum(-1) / np.maximum(np.linalg.norm(fn, axis=-1) * np.linalg.norm(vn, axis=-1), 1e-30)
    return cos < _FLIP_COS


def _repair_flips(keep: np.ndarray, faces: np.ndarray, positions: np.ndarray, normals: np.ndarray,
                  optimal: np.ndarray, members: np.ndarray, member_cluster: np.ndarray) -> np.ndarray:
    """Re-pick cluster representatives around flipped triangles: per vertex of a flipped triangle, the
    member with the fewest flipped incident triangles, then nearest the optimum (deterministic)."""
    keep = keep.copy()
    bad = _flipped(faces, keep, positions, normals)
    if not bad.any():
        return keep
    order = np.argsort(member_cluster, kind="stable")
    starts = np.searchsorted(member_cluster[order], np.arange(keep.shape[0] + 1))
    incident_order = np.argsort(faces.reshape(-1), kind="stable")
    incident_start = np.searchsorted(faces.reshape(-1)[incident_order], np.arange(keep.shape[0] + 1))
    for _ in range(_REPAIR_ROUNDS):
        before = keep.copy()
        for v in np.unique(faces[bad]):
            cands = members[order[starts[v]:starts[v + 1]]]
            if cands.shape[0] < 2:
                continue
            around = faces[incident_order[incident_start[v]:incident_start[v + 1]] // 3]  # [f, 3]
            corners = np.where(around == v, cands[:, None, None], keep[around][None])  # [C, f, 3]
            flips = _flipped_corners(corners, positions, normals).sum(1)
            dist = np.linalg.norm(positions[cands] - optimal[v], axis=1)
            keep[v] = cands[np.lexsort((cands, dist, flips))[0]]
        bad = _flipped(faces, keep, positions, normals)
        if not bad.any() or np.array_equal(keep, before):
            break
    return keep


def decimate_part(part: MeshPart, target_triangles: int) -> MeshPart:
    """A LOD of a LOD-0 ``part`` with about ``target_triangles`` triangles (see the module docstring).

    Every attribute is gathered from ``part`` at ``Decimation.keep``; tangents are recomputed with
    :func:`assetgen.geometry.vertex_tangents` on the decimated triangles.
    """
    dec = decimate(part.positions, part.faces, target_triangles, normals=part.normals.astype(np.float64))
    k = dec.keep
    positions, normals, uvs = part.positions[k], part.normals[k], part.uvs[k]
    tangents = vertex_tangents(torch.from_numpy(positions).double(), torch.from_numpy(normals).double(),
                               torch.from_numpy(uvs).double(), torch.from_numpy(dec.faces)).float().numpy()
    return MeshPart(
        name=part.name, material=part.material, positions=positions, normals=normals, tangents=tangents, uvs=uvs,
        faces=dec.faces.astype(np.uint32), joints=part.joints[k], weights=part.weights[k],
        morph_positions=np.ascontiguousarray(part.morph_positions[:, k]),
        morph_normals=np.ascontiguousarray(part.morph_normals[:, k]),
        model_vertex=part.model_vertex[k], lod0_vertex=part.lod0_vertex[k],
    )
