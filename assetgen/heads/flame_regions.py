"""Named vertex regions and face parts of a FLAME model.

With FLAME's ``FLAME_masks.pkl`` (a dict ``name → vertex indices``) the regions are FLAME's own masks,
renamed ``left_X``/``right_X`` → ``X_left``/``X_right`` (``left_ear`` → ``ear_left``), plus ``ears`` (both
ears), ``eyelids`` and ``jaw`` derived as below. Without it every region is derived from skinning and
geometry, in the model frame (meters, +Y up, +Z forward) normalised by the eyes: ``u = (p - c) / d`` with
``c`` the midpoint of the two eye joints and ``d`` their distance (≈ 6 cm on an adult):

* ``eyeball_left`` / ``eyeball_right``: vertices skinned mostly to the left / right eye joint;
* ``jaw``: vertices skinned mostly to the jaw joint;
* ``neck``: vertices skinned mostly to the root (global) joint, or below the jaw line (``u.y`` under
  −2.1 in front, rising to −1.1 behind the jaw angle at ``u.z = −1.3``);
* ``face``: not neck or eyeball, ``u.z > −0.8``, ``u.y < 1.2``, ``|u.x| < 1.25``;
* ``forehead``: face with ``u.y > 0.45``; ``nose``: face with ``|u.x| < 0.4``, ``−1.05 < u.y < 0.15``,
  ``u.z > 0.2``; ``lips``: face with ``|u.x| < 0.65``, ``−1.75 < u.y < −1.05``, ``u.z > 0``;
* ``eyelids``: non-eyeball vertices within 1.8 eyeball radii of an eye joint and not behind it;
* ``ear_left`` / ``ear_right`` / ``ears``: not face or neck, ``|u.x| > 0.95``, ``−1.1 < u.y < 0.45``,
  ``−2 < u.z < −0.6`` (subject's left is +X);
* ``scalp``: everything else above ``u.y = −0.9``.

These geometric regions are approximations for a FLAME-like head; supply ``FLAME_masks.pkl`` for FLAME's
exact masks. Parts are face groups: ``eye_left``/``eye_right`` (triangles whose three vertices are in the
eyeball), ``teeth`` where a mask names teeth, and ``skin`` for the rest.
"""

from __future__ import annotations

import numpy as np

__all__ = ["regions_from_masks", "regions_from_geometry", "parts_from_regions"]

ROOT, NECK, JAW, EYE_LEFT, EYE_RIGHT = range(5)


def _idx(mask: np.ndarray) -> np.ndarray:
    return np.flatnonzero(mask).astype(np.int64)


def _eyelids(vertices: np.ndarray, weights: np.ndarray, joints: np.ndarray) -> np.ndarray:
    owner = weights.argmax(1)
    eyeball = (owner == EYE_LEFT) | (owner == EYE_RIGHT)
    out = np.zeros(len(vertices), bool)
    for j in (EYE_LEFT, EYE_RIGHT):
        ball = owner == j
        if not ball.any():
            continue
        radius = np.linalg.norm(vertices[ball] - joints[j], axis=1).mean()
        rel = vertices - joints[j]
        out |= (np.linalg.norm(rel, axis=1) < 1.8 * radius) & (rel[:, 2] > -0.2 * radius)
    return out & ~eyeball


def regions_from_geometry(vertices: np.ndarray, weights: np.ndarray, joints: np.ndarray) -> dict[str, np.ndarray]:
    """Regions derived from skinning and geometry (see the module docstring).

    Args:
        vertices: ``[V, 3]`` template vertices (meters); weights: ``[V, J]``; joints: ``[J, 3]`` template
            joints in FLAME order (root, neck, jaw, left eye, right eye).
    Returns:
        region name → sorted ``int64`` vertex indices.
    """
    owner = weights.argmax(1)
    centre = 0.5 * (joints[EYE_LEFT] + joints[EYE_RIGHT])
    scale = float(np.linalg.norm(joints[EYE_LEFT] - joints[EYE_RIGHT])) or 1.0
    x, y, z = ((vertices - centre) / scale).T
    eyeball_left, eyeball_right = owner == EYE_LEFT, owner == EYE_RIGHT
    eyeball = eyeball_left | eyeball_right
    jaw_line = np.interp(z, [-1.3, 0.0], [-1.1, -2.1])
    neck = ~eyeball & ((weights[:, ROOT] >= 0.5) | (y < jaw_line))
    face = ~neck & ~eyeball & (z > -0.8) & (y < 1.2) & (np.abs(x) < 1.25)
    ears = ~face & ~neck & ~eyeball & (np.abs(x) > 0.95) & (y > -1.1) & (y < 0.45) & (z > -2.0) & (z < -0.6)
    regions = {
        "face": face,
        "forehead": face & (y > 0.45),
        "nose": face & (np.abs(x) < 0.4) & (y > -1.05) & (y < 0.15) & (z > 0.2),
        "lips": face & (np.abs(x) < 0.65) & (y > -1.75) & (y < -1.05) & (z > 0.0),
        "eyelids": _eyelids(vertices, weights, joints),
        "ears": ears,
        "ear_left": ears & (x > 0),
        "ear_right": ears & (x < 0),
        "neck": neck,
        "scalp": ~face & ~neck & ~ears & ~eyeball & (y > -0.9),
        "eyeball_left": eyeball_left,
        "eyeball_right": eyeball_right,
        "jaw": (owner == JAW) & ~eyeball,
    }
    return {name: _idx(mask) for name, mask in regions.items()}


def _rename(name: str) -> str:
    for side in ("left", "right"):
        if name.startswith(side + "_"):
            return f"{name[len(side) + 1:]}_{side}"
    return name


def regions_from_masks(
    masks: object, num_vertices: int, vertices: np.ndarray, weights: np.ndarray, joints: np.ndarray, file: str
) -> dict[str, np.ndarray]:
    """Regions from FLAME's ``FLAME_masks.pkl`` contents (see the module docstring).

    Raises:
        ValueError: ``masks`` is not a dict of index arrays, or an index is outside ``[0, V)``.
    """
    if not isinstance(masks, dict) or not masks:
        raise ValueError(f"{file}: expected a dict of vertex-index arrays, got {type(masks).__name__}")
    regions: dict[str, np.ndarray] = {}
    for key, value in masks.items():
        try:
            arr = np.asarray(value)
            if arr.dtype == bool:
                arr = np.flatnonzero(arr) if arr.shape == (num_vertices,) else np.asarray([-1])
            arr = arr.astype(np.int64).ravel()
        except (TypeError, ValueError) as err:
            raise ValueError(f"{file}: key '{key}' is not an index array ({err})") from None
        if arr.size and (arr.min() < 0 or arr.max() >= num_vertices):
            raise ValueError(f"{file}: key '{key}': vertex indices must lie in [0, {num_vertices})")
        regions[_rename(str(key))] = np.unique(arr)
    derived = regions_from_geometry(vertices, weights, joints)
    if "ears" not in regions and "ear_left" in regions and "ear_right" in regions:
        regions["ears"] = np.union1d(regions["ear_left"], regions["ear_right"])
    for name in ("eyelids", "jaw", "eyeball_left", "eyeball_right"):
        regions.setdefault(name, derived[name])
    return regions


def parts_from_regions(faces: np.ndarray, regions: dict[str, np.ndarray], num_vertices: int) -> dict[str, np.ndarray]:
    """Face groups: ``eye_left``, ``eye_right``, ``teeth`` (when a region names teeth), ``skin`` (the rest).

    Args:
        faces: ``[F, 3]`` vertex indices; regions: from the functions above; num_vertices: ``V``.
    Returns:
        part name → sorted ``int64`` face indices; the parts partition ``[0, F)``.
    """
    taken = np.zeros(len(faces), bool)
    parts: dict[str, np.ndarray] = {}
    sources = [("eye_left", "eyeball_left"), ("eye_right", "eyeball_right")]
    sources += [("teeth", name) for name in sorted(regions) if "teeth" in name][:1]
    for part, region in sources:
        member = np.zeros(num_vertices, bool)
        member[regions.get(region, np.zeros(0, np.int64))] = True
        inside = member[faces].all(1) & ~taken
        if inside.any():
            parts[part] = _idx(inside)
            taken |= inside
    parts["skin"] = _idx(~taken)
    return parts
