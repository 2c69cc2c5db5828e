"""``ProceduralMapper``: the default, hand-built latent → spec mapping (no training data needed).

It draws a *plausible joint distribution* rather than independent uniform sliders: sex, an adult-skewed age,
build correlated with sex and age, skin tone with hair/eye colour, freckles and red hair tied to light skin,
stubble only on male-ish heads, wrinkles/age spots and skin age following age, and face-shape local changes
as correlated Gaussians (left/right pairs share a factor, a few semantic factors couple features, sex, age
and weight shift their means). Every output is a smooth function of ``z`` — standard-normal CDF ``Φ``,
``tanh`` and C¹ smoothsteps of smooth quantities, never a threshold on ``z`` — so interpolating two latents
morphs one head into the other without jumps. Truncation: ``z' = ψ · z`` (see :mod:`assetgen.control.latent`).

Latent layout (version 1; entries not listed are reserved and ignored):

====================  ==========================================================================
``z[0:6]``            sex, age, muscle, weight, height, proportions
``z[8:22]``           texture controls, in :data:`~assetgen.control.texture_controls.TEXTURE_CONTROLS` order
``z[24:32]``          shared face-shape factors (:data:`FACE_FACTORS`)
``z[40:179]``         open head: one own factor per local change (pairs: common + difference)
``z[192:200]``        open head: expression archetype intensities (:data:`EXPRESSION_ARCHETYPES`)
``z[40:340]``         FLAME: shape β₀…β₂₉₉ (σ units; the Gaussian prior N(0, I); more components stay 0)
``z[340:440]``        FLAME: expression ψ₀…ψ₉₉ (× ``expression_scale``)
``z[448:512]``        ``texture_latent`` (64 values, for the learned texture generators)
====================  ==========================================================================

For FLAME the sex and age entries drive only texture controls (stubble, skin age…): FLAME's PCA space has no
labelled sex or age direction; a learned mapper (paper 004 §3.2.1) can couple them.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import ndtr

from assetgen.control import controls as C
from assetgen.control.latent import LATENT_DIM, TEXTURE_LATENT_DIM, LatentMapper, MappedBatch
from assetgen.control.texture_controls import TEXTURE_CONTROLS

__all__ = ["ProceduralMapper", "FACE_FACTORS", "EXPRESSION_ARCHETYPES"]

Z_TEXTURE = 8
Z_FACTORS = 24
Z_LOCAL = 40
Z_EXPRESSION = 192
Z_FLAME_SHAPE, FLAME_SHAPE_MAX = 40, 300
Z_FLAME_EXPRESSION, FLAME_EXPRESSION_MAX = 340, 100
Z_TEXTURE_LATENT = LATENT_DIM - TEXTURE_LATENT_DIM

#: Shared face-shape factors: name → (local change, loading). Each loads ~0.45 on its features.
FACE_FACTORS: dict[str, dict[str, float]] = {
    "width": {"head-scale-horiz": 0.5, "chin-width": 0.4, "l-cheek-bones": 0.4, "r-cheek-bones": 0.4,
              "mouth-scale-horiz": 0.3, "neck-scale-horiz": 0.3},
    "length": {"head-scale-vert": 0.5, "chin-height": 0.45, "forehead-scale-vert": 0.45, "nose-scale-vert": 0.3},
    "robust": {"chin-prominent": 0.45, "chin-bones": 0.45, "eyebrows-trans-forward": 0.45, "nose-scale-depth": 0.3,
               "forehead-trans-forward": 0.3},
    "fleshy": {"head-fat": 0.5, "l-cheek-volume": 0.45, "r-cheek-volume": 0.45, "neck-double": 0.4},
    "nose": {"nose-scale-horiz": 0.45, "nose-volume": 0.45, "nose-point-width": 0.35, "nose-nostrils-width": 0.35,
             "nose-width1": 0.3, "nose-width2": 0.3},
    "eyes": {"l-eye-scale": 0.5, "r-eye-scale": 0.5, "l-eye-height2": 0.35, "r-eye-height2": 0.35},
    "lips": {"mouth-upperlip-volume": 0.5, "mouth-lowerlip-volume": 0.5, "mouth-upperlip-height": 0.35,
             "mouth-lowerlip-height": 0.35},
    "ears": {"l-ear-scale": 0.5, "r-ear-scale": 0.5, "l-ear-scale-vert": 0.4, "r-ear-scale-vert": 0.4,
             "l-ear-lobe": 0.3, "r-ear-lobe": 0.3},
}
#: Mean shifts of local changes: name → (per unit of 2(sex − ½), of (age − 45 years)/45, of 2(weight − ½)).
MEAN_SHIFTS: dict[str, tuple[float, float, float]] = {
    "chin-width": (0.25, 0.0, 0.1), "chin-prominent": (0.2, 0.0, 0.0), "chin-bones": (0.2, 0.0, 0.0),
    "eyebrows-trans-forward": (0.25, 0.0, 0.0), "nose-scale-horiz": (0.12, 0.05, 0.0),
    "nose-scale-depth": (0.12, 0.0, 0.0), "nose-scale-vert": (0.05, 0.15, 0.0),
    "mouth-upperlip-volume": (-0.2, -0.2, 0.0), "mouth-lowerlip-volume": (-0.15, -0.15, 0.0),
    "l-eye-scale": (-0.08, 0.0, 0.0), "r-eye-scale": (-0.08, 0.0, 0.0),
    "neck-scale-horiz": (0.2, 0.0, 0.2), "measure-neck-circ": (0.25, 0.05, 0.35), "head-scale-horiz": (0.08, 0.0, 0.1),
    "head-age": (0.0, 0.35, 0.0), "l-eye-bag": (0.0, 0.35, 0.05), "r-eye-bag": (0.0, 0.35, 0.05),
    "mouth-laugh-lines-out": (0.0, 0.3, 0.0), "l-ear-lobe": (0.0, 0.25, 0.0), "r-ear-lobe": (0.0, 0.25, 0.0),
    "l-ear-scale-vert": (0.05, 0.12, 0.0), "r-ear-scale-vert": (0.05, 0.12, 0.0),
    "neck-double": (0.0, 0.15, 0.45), "head-fat": (0.0, 0.05, 0.5), "l-cheek-volume": (-0.05, -0.05, 0.35),
    "r-cheek-volume": (-0.05, -0.05, 0.35),
}
#: Local changes sampled with a small spread (odd or position-shifting modifiers).
_SUBTLE = ("-trans-", "-rot-", "angle", "nubian", "greek", "cleft", "epicanthus", "wing", "flap", "dimples",
           "compression", "septum", "prognathism", "jaw-drop")
#: Expression archetypes (ARKit weights); one latent entry drives each archetype's intensity.
EXPRESSION_ARCHETYPES: dict[str, dict[str, float]] = {
    "smile": {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "cheekSquintLeft": 0.35, "cheekSquintRight": 0.35,
              "eyeSquintLeft": 0.2, "eyeSquintRight": 0.2},
    "open": {"jawOpen": 0.45, "mouthLowerDownLeft": 0.2, "mouthLowerDownRight": 0.2, "mouthUpperUpLeft": 0.1,
             "mouthUpperUpRight": 0.1},
    "surprise": {"browInnerUp": 0.8, "browOuterUpLeft": 0.7, "browOuterUpRight": 0.7, "eyeWideLeft": 0.6,
                 "eyeWideRight": 0.6, "jawOpen": 0.2},
    "anger": {"browDownLeft": 0.8, "browDownRight": 0.8, "noseSneerLeft": 0.4, "noseSneerRight": 0.4,
              "mouthPressLeft": 0.4, "mouthPressRight": 0.4, "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3},
    "sad": {"browInnerUp": 0.6, "mouthFrownLeft": 0.6, "mouthFrownRight": 0.6, "mouthShrugLower": 0.3},
    "pucker": {"mouthPucker": 0.6, "mouthFunnel": 0.3},
    "blink": {"eyeBlinkLeft": 0.6, "eyeBlinkRight": 0.6},
    "smirk": {"mouthSmileLeft": 0.5, "mouthDimpleLeft": 0.3, "cheekSquintLeft": 0.15},
}


def smoothstep(x: np.ndarray) -> np.ndarray:
    """C¹ ramp: 0 for x ≤ 0, 1 for x ≥ 1, ``3x² − 2x³`` between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def soft_clip(x: np.ndarray, knee: float = 4.0, limit: float = 5.0) -> np.ndarray:
    """Identity for ``|x| ≤ knee``, then a C¹ tanh shoulder that never reaches ``±limit``."""
    a = np.abs(x)
    return np.where(a <= knee, x, np.sign(x) * (knee + (limit - knee) * np.tanh((a - knee) / (limit - knee))))


@functools.lru_cache(maxsize=1)
def _local_structure() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(own ``[139, 139]`` map of ``z[40:179]``, factor loadings ``[139, F]``, mean shifts ``[139, 3]``,
    spreads ``[139]``) of the open head's local changes (fixed, rule-based; no random numbers)."""
    names = list(C.OPEN_LOCAL_CHANGES)
    index = {n: i for i, n in enumerate(names)}
    k = len(names)
    own = np.zeros((k, k))
    seen = set()
    slot = 0
    for i, name in enumerate(names):  # pairs: (common, difference) slots; singles: one slot
        if i in seen:
            continue
        other = None
        if name.startswith(("l-", "r-")):
            other = index.get(("r-" if name[0] == "l" else "l-") + name[2:])
        if other is None:
            own[i, slot] = 1.0
            slot += 1
        else:
            asym = 0.25  # natural left/right asymmetry
            norm = np.sqrt(1.0 + asym * asym)
            own[i, slot], own[i, slot + 1] = 1.0 / norm, asym / norm
            own[other, slot], own[other, slot + 1] = 1.0 / norm, -asym / norm
            seen.add(other)
            slot += 2
        seen.add(i)
    assert slot == k
    loadings = np.zeros((k, len(FACE_FACTORS)))
    for f, members in enumerate(FACE_FACTORS.values()):
        for name, w in members.items():
            loadings[index[name], f] = w
    # Unit variance per feature: own part scaled by sqrt(1 − Σ loading²).
    own *= np.sqrt(np.clip(1.0 - (loadings**2).sum(1), 0.05, 1.0))[:, None]
    shifts = np.zeros((k, 3))
    for name, s in MEAN_SHIFTS.items():
        shifts[index[name]] = s
    spread = np.array([0.18 if any(t in n for t in _SUBTLE) else 0.32 for n in names])
    return own, loadings, shifts, spread


@functools.lru_cache(maxsize=1)
def _archetypes() -> np.ndarray:
    table = np.zeros((len(EXPRESSION_ARCHETYPES), len(C.ARKIT_52)))
    for a, recipe in enumerate(EXPRESSION_ARCHETYPES.values()):
        for name, w in recipe.items():
            table[a, C.ARKIT_52.index(name)] = w
    return table


def _slider(x: np.ndarray) -> np.ndarray:
    """A MakeHuman slider in (0.1, 0.9) from a Gaussian-scaled quantity (0 ↦ 0.5)."""
    return 0.5 + 0.8 * (ndtr(x) - 0.5)


class ProceduralMapper(LatentMapper):
    """The default :class:`~assetgen.control.latent.LatentMapper` (see the module docstring)."""

    name = "procedural"
    version = 1

    def map(self, z: np.ndarray, model: C.ModelInfo, *, psi: float = 1.0,
            expression_scale: float = 0.0) -> MappedBatch:
        z = psi * np.asarray(z, dtype=np.float64)  # truncation in Z (= W here, mean 0)
        n = z.shape[0]
        sex = ndtr(2.5 * z[:, 0])
        age = 18.0 + 72.0 * ndtr(z[:, 1]) ** 1.5  # adult-skewed: median ≈ 43, ψ = 0 → 43.5
        old = smoothstep((age - 50.0) / 35.0)
        muscle = _slider(0.6 * z[:, 2] + 0.5 * (sex - 0.5) - 0.4 * old)
        weight = _slider(0.6 * (0.3 * z[:, 2] + 0.954 * z[:, 3]) + 0.6 * (smoothstep((age - 18.0) / 37.0) - 0.5))
        height = _slider(0.6 * z[:, 4] + 0.8 * (sex - 0.5))
        proportions = _slider(0.6 * z[:, 5])
        texture = self._texture(z, sex, age)
        tex_latent = z[:, Z_TEXTURE_LATENT:Z_TEXTURE_LATENT + TEXTURE_LATENT_DIM].copy()
        if model.kind == "open":
            own, loadings, shifts, spread = _local_structure()
            k = own.shape[0]
            g = z[:, Z_LOCAL:Z_LOCAL + k] @ own.T + z[:, Z_FACTORS:Z_FACTORS + loadings.shape[1]] @ loadings.T
            covariates = np.stack([2.0 * (sex - 0.5), (age - 45.0) / 45.0, 2.0 * (weight - 0.5)], 1)
            local = np.tanh(covariates @ shifts.T + spread * g)
            pheno = np.stack([sex, age, muscle, weight, height, proportions], 1)
            arche = z[:, Z_EXPRESSION:Z_EXPRESSION + len(EXPRESSION_ARCHETYPES)]
            intensity = expression_scale * ndtr(2.0 * arche - 2.5)  # sparse: most archetypes near 0
            expression = np.clip(intensity @ _archetypes(), 0.0, 1.0)
            return MappedBatch(identity=np.concatenate([pheno, local], 1), shape=None, expression=expression,
                               texture=texture, texture_latent=tex_latent)
        num_s = model.num_shape if model.num_shape is not None else FLAME_SHAPE_MAX
        num_e = model.num_expression if model.num_expression is not None else FLAME_EXPRESSION_MAX
        shape = np.zeros((n, num_s))
        s = min(num_s, FLAME_SHAPE_MAX)
        shape[:, :s] = soft_clip(z[:, Z_FLAME_SHAPE:Z_FLAME_SHAPE + s])
        expression = np.zeros((n, num_e))
        e = min(num_e, FLAME_EXPRESSION_MAX)
        expression[:, :e] = soft_clip(expression_scale * z[:, Z_FLAME_EXPRESSION:Z_FLAME_EXPRESSION + e])
        return MappedBatch(identity=None, shape=shape, expression=expression, texture=texture,
                           texture_latent=tex_latent)

    @staticmethod
    def _texture(z: np.ndarray, sex: np.ndarray, age: np.ndarray) -> np.ndarray:
        """``[N, 14]`` texture controls (order of TEXTURE_CONTROLS) with their correlations."""
        t = {name: z[:, Z_TEXTURE + i] for i, name in enumerate(TEXTURE_CONTROLS)}
        skin_tone = 1.0 + 5.0 * ndtr(t["skin_tone"])
        light = 1.0 - smoothstep((skin_tone - 1.5) / 3.0)  # 1 for types ≤ 1.5, 0 for ≥ 4.5
        dark_hair = (1.0 - light) * (0.85 + 0.15 * ndtr(t["hair_darkness"])) + light * ndtr(1.3 * t["hair_darkness"])
        redness = light * ndtr(1.6 * t["hair_redness"] - 2.3)
        eye_mix = 0.6 * t["hair_darkness"] + 0.8 * t["eye_color"]  # eye colour correlates with hair colour
        eye = (1.0 - light) * (0.85 + 0.15 * ndtr(t["eye_color"])) + light * ndtr(1.3 * eye_mix)
        out = {
            "skin_tone": skin_tone,
            "undertone": np.tanh(0.7 * t["undertone"] + 0.3 * (light - 0.5)),
            "freckles": light * ndtr(1.3 * t["freckles"] - 1.3 + 3.0 * redness),
            "moles": 0.6 * ndtr(t["moles"]) * (0.6 + 0.4 * light),
            "age_spots": smoothstep((age - 40.0) / 40.0) * ndtr(t["age_spots"] + 0.5) * (0.4 + 0.6 * light),
            "stubble": smoothstep((sex - 0.5) / 0.4) * ndtr(1.2 * t["stubble"] + 0.3),
            "hair_darkness": dark_hair,
            "hair_redness": redness,
            "eyebrow_density": 0.25 + 0.45 * ndtr(t["eyebrow_density"]) + 0.25 * sex,
            "eye_color": eye,
            "wrinkles": 2.0 * ndtr(0.55 * t["wrinkles"] - 0.3 * (1.0 - light)),
            "pores": 2.0 * ndtr(0.5 * t["pores"] + 0.3 * (sex - 0.5)),
            "asymmetry": ndtr(0.7 * t["asymmetry"] - 0.85),
            "skin_age": np.clip(age + 6.0 * np.tanh(0.6 * t["skin_age"]) + 2.0 * (light - 0.5), 18.0, 90.0),
        }
        return np.stack([out[name] for name in TEXTURE_CONTROLS], 1)
