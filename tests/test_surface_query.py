"""Surface queries used by the landmark definition."""

from __future__ import annotations

import numpy as np


def test_closest_point_on_triangles():
    """The snapping helper (used to mirror points off exact symmetry) agrees with dense sampling."""
    from assetgen.heads.surface_query import closest_point_on_triangles

    rng = np.random.default_rng(0)
    tris = rng.normal(size=(200, 3, 3))
    u, w = np.meshgrid(np.linspace(0, 1, 121), np.linspace(0, 1, 121))
    keep = u + w <= 1
    grid = np.stack([1 - u[keep] - w[keep], u[keep], w[keep]], 1)  # [S, 3] barycentric samples
    for p in rng.normal(size=(20, 3)) * 2:
        q, bary = closest_point_on_triangles(p, tris)
        assert (bary >= -1e-12).all() and np.allclose(bary.sum(1), 1.0)
        assert np.allclose((bary[:, :, None] * tris).sum(1), q)
        dense = np.einsum("sk,tkd->tsd", grid, tris)  # [T, S, 3]
        best = np.linalg.norm(dense - p, axis=2).min(1)
        got = np.linalg.norm(q - p, axis=1)
        assert (got <= best + 1e-12).all() and (best - got < 0.05).all()
