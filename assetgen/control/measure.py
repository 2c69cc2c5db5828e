"""Attribute measurements on generated heads (meshes and textures), in millimetres unless noted.

These are the "attributes measured on generated data" of the InterFaceGAN recipe (paper 004 §3.2.2: label
generated samples with an attribute, fit a linear SVM, use its normal as the editing direction) and the
scores of the text evaluation (:mod:`assetgen.control.text_eval`). Everything is read from
``HeadOutput.landmarks`` (``[B, 68, 3]``, iBUG-68 order, meters; X = the head's left, Y up, Z out of the face)
and from the model's ``ears``/``face`` vertex regions, so the same code serves the open head and FLAME.

Mesh measurements (:data:`MEASURES`, all in mm): see the table's doc strings. Texture measurement:
:func:`skin_luminance` (relative luminance 0..1 of the albedo's skin, from ``assetgen.textures``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["MEASURES", "EXPRESSION_MEASURES", "measure_landmarks", "measure_output", "measure_specs",
           "skin_luminance"]

#: Mesh measurement name → what it is (every value in millimetres).
MEASURES: dict[str, str] = {
    "face_width": "jaw-contour width at cheekbone height, iBUG 1–15",
    "face_length": "brow midpoint (iBUG 19/24) to chin (8), vertical",
    "jaw_width": "lower-jaw width, iBUG 4–12",
    "chin_length": "lower-lip bottom (57) to chin (8)",
    "cheek_fullness": "width of the face region at the nose-base height (±8 mm band)",
    "nose_width": "alar width, iBUG 31–35",
    "nose_length": "nasion (27) to subnasale (33)",
    "eye_size": "mean eye width, corners 36–39 and 42–45",
    "eye_distance": "inner eye corners 39–42",
    "brow_height": "mean brow height above the mean eye height (17–26 vs 36–47)",
    "brow_furrow": "distance between the inner brow ends (21–22); smaller when frowning",
    "lip_thickness": "upper (51–62) plus lower (57–66) vermilion height",
    "mouth_width": "mouth corners 48–54",
    "mouth_open": "inner-lip gap 62–66",
    "mouth_corner": "mouth-corner height (48, 54) above the lip centre (mean of 51, 57); up when smiling",
    "eye_open": "mean eyelid aperture of both eyes (37–41, 38–40, 43–47, 44–46)",
    "eye_open_left": "eyelid aperture of the head's left eye (43–47, 44–46)",
    "eye_open_right": "eyelid aperture of the head's right eye (37–41, 38–40)",
    "upper_lip_raise": "subnasale (33) to upper-lip top (51), negated: larger when the upper lip is raised",
    "ear_size": "mean vertical extent of the two ears (the model's 'ears' region)",
}
#: Measurements that expressions move (used for FLAME's expression-space directions).
EXPRESSION_MEASURES = ("mouth_corner", "mouth_open", "brow_height", "brow_furrow", "eye_open", "eye_open_left",
                       "eye_open_right", "upper_lip_raise", "mouth_width")


def _d(lm: np.ndarray, i: int, j: int) -> np.ndarray:
    return np.linalg.norm(lm[:, i] - lm[:, j], axis=-1)


def measure_landmarks(landmarks, vertices=None, regions: dict | None = None) -> dict[str, np.ndarray]:
    """Measurements of :data:`MEASURES` for a batch of heads.

    Args:
        landmarks: ``[B, 68, 3]`` iBUG-68 landmarks in meters (torch or numpy).
        vertices: ``[B, V, 3]`` meters (needed for ``ear_size`` and ``cheek_fullness``; else those are NaN).
        regions: the model's region name → vertex indices (``HeadModel.regions``).
    Returns:
        name → ``[B]`` float64 millimetres.
    Raises:
        ValueError: ``landmarks`` not of shape ``[B, 68, 3]``.
    """
    lm = landmarks.detach().cpu().double().numpy() if isinstance(landmarks, torch.Tensor) else np.asarray(
        landmarks, np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (68, 3):
        raise ValueError(f"landmarks: expected shape [B, 68, 3], got {list(lm.shape)}")
    lm = lm * 1000.0
    y = lm[..., 1]
    lip_centre = 0.5 * (y[:, 51] + y[:, 57])
    out = {
        "face_width": _d(lm, 1, 15),
        "face_length": 0.5 * (y[:, 19] + y[:, 24]) - y[:, 8],
        "jaw_width": _d(lm, 4, 12),
        "chin_length": _d(lm, 57, 8),
        "nose_width": _d(lm, 31, 35),
        "nose_length": _d(lm, 27, 33),
        "eye_size": 0.5 * (_d(lm, 36, 39) + _d(lm, 42, 45)),
        "eye_distance": _d(lm, 39, 42),
        "brow_height": y[:, 17:27].mean(1) - y[:, 36:48].mean(1),
        "brow_furrow": _d(lm, 21, 22),
        "lip_thickness": _d(lm, 51, 62) + _d(lm, 57, 66),
        "mouth_width": _d(lm, 48, 54),
        "mouth_open": _d(lm, 62, 66),
        "mouth_corner": 0.5 * (y[:, 48] + y[:, 54]) - lip_centre,
        "eye_open_right": 0.5 * (_d(lm, 37, 41) + _d(lm, 38, 40)),
        "eye_open_left": 0.5 * (_d(lm, 43, 47) + _d(lm, 44, 46)),
        "upper_lip_raise": -_d(lm, 33, 51),
    }
    out["eye_open"] = 0.5 * (out["eye_open_left"] + out["eye_open_right"])
    nan = np.full(lm.shape[0], np.nan)
    out["ear_size"], out["cheek_fullness"] = nan, nan.copy()
    if vertices is not None and regions:
        v = vertices.detach().cpu().double().numpy() if isinstance(vertices, torch.Tensor) else np.asarray(
            vertices, np.float64)
        v = v * 1000.0
        ears = regions.get("ears")
        if ears is not None and len(ears):
            e = v[:, np.asarray(ears, np.int64)]
            sizes = []
            for side in (1.0, -1.0):
                mask = (e[..., 0] * side) > 0
                ys = np.where(mask, e[..., 1], np.nan)
                sizes.append(np.nanmax(ys, 1) - np.nanmin(ys, 1))
            out["ear_size"] = 0.5 * (sizes[0] + sizes[1])
        face = regions.get("face")
        if face is not None and len(face):
            f = v[:, np.asarray(face, np.int64)]
            band = np.abs(f[..., 1] - y[:, 33:34]) < 8.0
            xs = f[..., 0]
            hi = np.where(band, xs, -np.inf).max(1)
            lo = np.where(band, xs, np.inf).min(1)
            out["cheek_fullness"] = np.where(np.isfinite(hi - lo), hi - lo, np.nan)
    return out


def measure_output(output, model) -> dict[str, np.ndarray]:
    """:func:`measure_landmarks` of a ``HeadOutput`` of ``model`` (``ValueError`` naming ``model`` when it
    has no landmarks)."""
    if output.landmarks is None or output.landmarks.shape[1] != 68:
        raise ValueError("model: the head model has no iBUG-68 landmarks (FLAME needs flame_static_embedding.pkl)")
    regions = {k: v.cpu().numpy() for k, v in model.regions.items()}
    return measure_landmarks(output.landmarks, output.vertices, regions)


@torch.no_grad()
def measure_specs(specs: Sequence, model, chunk: int = 256) -> dict[str, np.ndarray]:
    """Mesh measurements (mm) of specs generated with ``model`` (batched forward passes of ``chunk`` heads)."""
    from assetgen.control.resolve import resolve_batch

    parts: list[dict[str, np.ndarray]] = []
    for start in range(0, len(specs), chunk):
        inputs = resolve_batch(list(specs[start:start + chunk]), model)
        parts.append(measure_output(model(**inputs.forward_kwargs()), model))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def skin_luminance(spec, model, size: int = 64) -> float:
    """Mean relative luminance (0 black … 1 white, linear-light Rec. 709 weights) of the albedo's central
    region, from ``assetgen.textures.generate_textures`` at ``size`` texels a side.

    Raises:
        RuntimeError: ``assetgen.textures`` has no ``generate_textures``.
    """
    try:
        from assetgen.textures import generate_textures
    except ImportError as exc:  # pragma: no cover - depends on the textures package
        raise RuntimeError(f"skin_luminance needs assetgen.textures.generate_textures ({exc})") from None
    from assetgen.control.resolve import resolve

    shape = resolve(spec, model).shape
    tex = generate_textures(model, controls=dict(spec.texture), seed=spec.texture_seed, size=size, shape=shape)
    srgb = tex.albedo.astype(np.float64) / 255.0
    lin = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    lum = lin @ np.array([0.2126, 0.7152, 0.0722])
    h, w = lum.shape
    return float(lum[h // 4:3 * h // 4, w // 4:3 * w // 4].mean())
