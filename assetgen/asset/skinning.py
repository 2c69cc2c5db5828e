"""Skin weights as engines take them: at most four influences per vertex, normalised, no dead references."""

from __future__ import annotations

import numpy as np

from assetgen.asset.types import MAX_INFLUENCES

__all__ = ["limit_influences"]


def limit_influences(weights: np.ndarray, max_influences: int = MAX_INFLUENCES) -> tuple[np.ndarray, np.ndarray]:
    """Keep the ``max_influences`` largest skin weights of each vertex and renormalise them.

    Args:
        weights: ``[V, J]`` non-negative skinning weights (any float dtype; rows need not sum to one, but
            each row needs a positive weight).
        max_influences: slots per vertex (4 for glTF ``JOINTS_0``/``WEIGHTS_0``).
    Returns:
        ``(joints [V, k] uint16, weights [V, k] float32)`` with ``k = max_influences``: weights sorted
        descending (ties by joint index), rows summing to 1 in float32 to within half an ulp of the largest
        weight, and every slot with weight 0 holding joint 0 (the glTF validator flags a zero weight with a
        non-zero joint).
    Raises:
        ValueError: ``weights`` is not ``[V, J]``, has NaN or negative entries, or a row without weight.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] == 0:
        raise ValueError(f"weights: expected a [V, J] array, got shape {list(w.shape)}")
    if w.shape[1] > np.iinfo(np.uint16).max:
        raise ValueError(f"weights: at most 65535 joints, got {w.shape[1]}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights: expected finite, non-negative values")
    k = min(max_influences, w.shape[1])
    order = np.argsort(-w, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(w, order, axis=1)
    total = top.sum(1, keepdims=True)
    if (total <= 0).any():
        bad = int(np.flatnonzero(total[:, 0] <= 0)[0])
        raise ValueError(f"weights: vertex {bad} has no positive weight")
    top32 = (top / total).astype(np.float32)
    # Put the float32 rounding residual on the largest weight so rows sum to one as closely as float32 allows.
    residual = 1.0 - top32.astype(np.float64).sum(1)
    top32[:, 0] = (top32[:, 0].astype(np.float64) + residual).astype(np.float32)
    joints = np.where(top32 > 0, order, 0).astype(np.uint16)
    if k < max_influences:  # fewer joints than slots: pad with (joint 0, weight 0)
        pad = max_influences - k
        joints = np.pad(joints, ((0, 0), (0, pad)))
        top32 = np.pad(top32, ((0, 0), (0, pad)))
    return joints, top32
