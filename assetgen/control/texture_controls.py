"""Texture controls of a :class:`~assetgen.control.HeadSpec`: the single source of truth for their names,
ranges, defaults and units.

The texture generators (``assetgen.textures``) read ``spec.texture`` (a mapping holding *every* name of
:data:`TEXTURE_CONTROLS`, defaults filled in) and ``spec.texture_seed``; nothing else defines these names.
This module imports nothing from the rest of ``assetgen`` so any module can depend on it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["ControlRange", "TEXTURE_CONTROLS", "SKIN_AGE_DEFAULT_FLAME", "texture_defaults"]


@dataclass(frozen=True)
class ControlRange:
    """Range and meaning of one scalar control.

    Attributes:
        min, max: inclusive bounds.
        default: value used when the control is not given.
        unit: unit or scale name shown in error messages and docs (``"years"``, ``"Fitzpatrick type"``…).
        doc: one line on what the control does (direction of the scale).
    """

    min: float
    max: float
    default: float
    unit: str
    doc: str

    def check(self, field: str, value: object) -> float:
        """``value`` as a float, or ``ValueError`` naming ``field`` (not a number, NaN/inf, out of range)."""
        if isinstance(value, bool) or not isinstance(value, numbers.Real):  # numpy scalars are Real too
            raise ValueError(f"{field}: expected a number, got {type(value).__name__} {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{field}: expected a finite number, got {value}")
        if not (self.min <= value <= self.max):
            unit = f" {self.unit}" if self.unit else ""
            raise ValueError(f"{field}: {value:g} is out of range [{self.min:g}, {self.max:g}]{unit}")
        return value

    def clamp(self, value: float) -> float:
        return min(self.max, max(self.min, float(value)))


#: The texture controls (name → range). Every spec carries all of them.
TEXTURE_CONTROLS: dict[str, ControlRange] = {
    "skin_tone": ControlRange(1.0, 6.0, 3.0, "Fitzpatrick type",
                              "continuous Fitzpatrick skin type: 1 very light … 6 very dark"),
    "undertone": ControlRange(-1.0, 1.0, 0.0, "", "-1 olive/yellow … 0 neutral … +1 pink/red"),
    "freckles": ControlRange(0.0, 1.0, 0.0, "", "freckle density: 0 none … 1 dense"),
    "moles": ControlRange(0.0, 1.0, 0.3, "", "mole density: 0 none … 1 many"),
    "age_spots": ControlRange(0.0, 1.0, 0.0, "", "solar lentigines: 0 none … 1 many"),
    "stubble": ControlRange(0.0, 1.0, 0.0, "", "beard stubble: 0 clean-shaven … 1 dense stubble"),
    "hair_darkness": ControlRange(0.0, 1.0, 0.7, "",
                                  "eyebrow/stubble colour: 0 platinum blond … 1 black"),
    "hair_redness": ControlRange(0.0, 1.0, 0.0, "", "red pigment of eyebrows/stubble: 0 none … 1 red"),
    "eyebrow_density": ControlRange(0.0, 1.0, 0.6, "", "0 sparse … 1 dense eyebrows"),
    "eye_color": ControlRange(0.0, 1.0, 0.7, "",
                              "iris: 0 light blue, 0.33 green/grey, 0.66 hazel, 1 dark brown"),
    "wrinkles": ControlRange(0.0, 2.0, 1.0, "×", "multiplier on the age-driven wrinkles (1 = typical)"),
    "pores": ControlRange(0.0, 2.0, 1.0, "×", "multiplier on pore depth/density (1 = typical)"),
    "asymmetry": ControlRange(0.0, 1.0, 0.2, "", "left/right asymmetry of skin detail: 0 mirrored … 1 strong"),
    "skin_age": ControlRange(18.0, 90.0, 35.0, "years",
                             "apparent skin age; default: the identity age (open head), 35 (FLAME)"),
}

#: ``skin_age`` default for models without an age control (FLAME).
SKIN_AGE_DEFAULT_FLAME = 35.0


def texture_defaults(identity_age: float | None = None) -> dict[str, float]:
    """Default value of every texture control; ``skin_age`` follows ``identity_age`` (years) when given."""
    out = {name: r.default for name, r in TEXTURE_CONTROLS.items()}
    out["skin_age"] = SKIN_AGE_DEFAULT_FLAME if identity_age is None else TEXTURE_CONTROLS["skin_age"].clamp(
        identity_age)
    return out
