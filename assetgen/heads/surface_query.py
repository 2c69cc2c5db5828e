"""Surface queries on a triangle mesh used to place landmarks: front-view ray casting and closest points.

Pure numpy; positions in meters in the model frame (+Y up, face toward +Z).
"""

from __future__ import annotations

import numpy as np


class FrontCaster:
    """Orthographic rays along −Z: the frontmost triangle of a set at a point ``(x, y)`` of the image plane.

    Triangles are bucketed in a uniform grid over XY so a cast only tests the few triangles of one cell.
    """

    def __init__(self, v: np.ndarray, tris: np.ndarray, cell: float = 0.002):
        self.v, self.tris = v, tris
        t = v[tris]  # [T, 3, 3]
        self.t = t
        lo, hi = t[:, :, :2].min(1), t[:, :, :2].max(1)
        self.origin = lo.min(0) - 1e-9
        self.cell = cell
        i0 = np.floor((lo - self.origin) / cell).astype(np.int64)
        i1 = np.floor((hi - self.origin) / cell).astype(np.int64)
        cells: dict[tuple[int, int], list[int]] = {}
        for k in range(len(tris)):
            for ix in range(i0[k, 0], i1[k, 0] + 1):
                for iy in range(i0[k, 1], i1[k, 1] + 1):
                    cells.setdefault((ix, iy), []).append(k)
        self.cells = {c: np.array(ks, dtype=np.int64) for c, ks in cells.items()}
        a, b, c = t[:, 0, :2], t[:, 1, :2], t[:, 2, :2]
        self.det = (b[:, 1] - c[:, 1]) * (a[:, 0] - c[:, 0]) + (c[:, 0] - b[:, 0]) * (a[:, 1] - c[:, 1])

    def hit(self, x: float, y: float) -> tuple[int, np.ndarray, float] | None:
        """``(triangle index into tris, barycentric [3], z)`` of the frontmost hit, or ``None``."""
        ix = int(np.floor((x - self.origin[0]) / self.cell))
        iy = int(np.floor((y - self.origin[1]) / self.cell))
        ks = self.cells.get((ix, iy))
        if ks is None:
            return None
        det = self.det[ks]
        ks = ks[np.abs(det) > 1e-16]
        if len(ks) == 0:
            return None
        t, det = self.t[ks], self.det[ks]
        a, b, c = t[:, 0], t[:, 1], t[:, 2]
        l1 = ((b[:, 1] - c[:, 1]) * (x - c[:, 0]) + (c[:, 0] - b[:, 0]) * (y - c[:, 1])) / det
        l2 = ((c[:, 1] - a[:, 1]) * (x - c[:, 0]) + (a[:, 0] - c[:, 0]) * (y - c[:, 1])) / det
        l3 = 1.0 - l1 - l2
        inside = (l1 >= -1e-12) & (l2 >= -1e-12) & (l3 >= -1e-12)
        if not inside.any():
            return None
        z = l1 * a[:, 2] + l2 * b[:, 2] + l3 * c[:, 2]
        z = np.where(inside, z, -np.inf)
        j = int(np.argmax(z))
        bary = np.clip(np.array([l1[j], l2[j], l3[j]]), 0.0, 1.0)
        return int(ks[j]), bary / bary.sum(), float(z[j])


def closest_point_on_triangles(p: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points of ``p [3]`` on each triangle ``t [T, 3, 3]``: ``(points [T, 3], bary [T, 3])``
    (Ericson, Real-Time Collision Detection §5.1.5, vectorised)."""
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(1), (ac * ap).sum(1)
    bp, cp = p - b, p - c
    d3, d4 = (ab * bp).sum(1), (ac * bp).sum(1)
    d5, d6 = (ab * cp).sum(1), (ac * cp).sum(1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    bary = np.zeros((len(t), 3))
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = va + vb + vc
        v_in, w_in = vb / denom, vc / denom
        bary[:] = np.stack([1 - v_in - w_in, v_in, w_in], 1)
        # edge regions
        v_ab = d1 / (d1 - d3)
        m = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        bary[m] = np.stack([1 - v_ab[m], v_ab[m], 0 * v_ab[m]], 1)
        w_ac = d2 / (d2 - d6)
        m2 = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        bary[m2] = np.stack([1 - w_ac[m2], 0 * w_ac[m2], w_ac[m2]], 1)
        w_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        m3 = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
        bary[m3] = np.stack([0 * w_bc[m3], 1 - w_bc[m3], w_bc[m3]], 1)
    # vertex regions (take precedence)
    for k, m in enumerate([(d1 <= 0) & (d2 <= 0), (d3 >= 0) & (d4 <= d3), (d6 >= 0) & (d5 <= d6)]):
        bary[m] = np.eye(3)[k]
    bary = np.nan_to_num(bary, nan=1.0 / 3.0)
    return (bary[:, :, None] * t).sum(1), bary


class Surface:
    """The skin surface: landmark points as ``(vertex triple, barycentric)`` of skin triangles."""

    def __init__(self, v: np.ndarray, skin_tris: np.ndarray):
        self.v, self.tris = v, skin_tris
        self.front = FrontCaster(v, skin_tris)
        verts = np.unique(skin_tris)
        # Mirror map x → −x of the skin vertices (exact for a symmetric mesh), and the triangle lookup.
        from scipy.spatial import cKDTree

        dist, idx = cKDTree(v[verts]).query(v[verts] * np.array([-1.0, 1.0, 1.0]))
        self.mirror_vertex = np.arange(len(v))
        self.mirror_vertex[verts] = verts[idx]
        self.mirror_exact = dist < 1e-7
        self.exact = np.zeros(len(v), dtype=bool)
        self.exact[verts] = self.mirror_exact
        self.face_set = {tuple(sorted(f)) for f in skin_tris.tolist()}
        n = np.cross(v[skin_tris[:, 1]] - v[skin_tris[:, 0]], v[skin_tris[:, 2]] - v[skin_tris[:, 0]])
        self.facing = np.abs(n[:, 2]) / np.maximum(np.linalg.norm(n, axis=1), 1e-30)  # |cos| to the view axis

    def frontal_facing(self, p: np.ndarray, direction: np.ndarray, max_step: float = 0.001,
                       min_facing: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
        """The first frontal skin point from ``p`` (2D) on, stepping along ``direction`` (2D unit) by 0.05 mm,
        on a triangle that faces the viewer (not the steep rim where a lid or lip curls inward); at most
        ``max_step`` away."""
        for k in range(int(round(max_step / 5e-5)) + 1):
            q = p + (1e-6 + k * 5e-5) * direction
            h = self.front.hit(float(q[0]), float(q[1]))
            if h is not None and self.facing[h[0]] >= min_facing:
                return self.tris[h[0]].copy(), h[1]
        return self.frontal(float(q[0]), float(q[1]))

    def position(self, point: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        tri, bary = point
        return bary @ self.v[tri]

    def frontal(self, x: float, y: float) -> tuple[np.ndarray, np.ndarray]:
        """The frontmost skin point at ``(x, y)``."""
        h = self.front.hit(x, y)
        if h is None:
            raise RuntimeError(f"define_landmarks: no skin in front of ({x:.4f}, {y:.4f})")
        k, bary, _ = h
        return self.tris[k].copy(), bary

    def snap(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The closest skin point to ``p``."""
        q, bary = closest_point_on_triangles(p, self.v[self.tris])
        k = int(np.argmin(((q - p) ** 2).sum(1)))
        return self.tris[k].copy(), bary[k]

    def mirror(self, point: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The mirror image (x → −x) of a surface point, on the surface."""
        tri, bary = point
        m = self.mirror_vertex[tri]
        if self.exact[tri].all() and tuple(sorted(m.tolist())) in self.face_set:
            return m, bary.copy()
        return self.snap(self.position(point) * np.array([-1.0, 1.0, 1.0]))


def bisect(inside, lo: float, hi: float, iters: int = 40) -> float:
    """Boundary parameter between ``lo`` (``inside(lo)`` true) and ``hi`` (false)."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if inside(mid):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
