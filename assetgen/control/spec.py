"""``HeadSpec``: everything that determines one head, as frozen, versioned, JSON-round-trippable data.

Every front door (latent, parameters, edits, later text) produces a :class:`HeadSpec`; the pipeline consumes
only this, through :func:`assetgen.control.resolve`. The readable JSON form (``to_dict``/``to_json``) is what an
exported head's manifest records, for example::

    {"model": "open", "identity": {"age": 60.0, "sex": 0.5, …, "nose-scale-horiz": 0.4},
     "expression": {"mouthSmileLeft": 0.7, "mouthSmileRight": 0.7}, "pose": {"jaw": [10.0, 0.0, 0.0]},
     "texture": {"skin_tone": 4.0, …}, "texture_latent": [], "texture_seed": 0,
     "lighting": {"preset": "studio", "camera_yaw": 0.0, "camera_pitch": 0.0}, "seed": null,
     "origin": {"door": "params", "mapper": null, "mapper_version": null}, "spec_version": 1}

Canonical form (applied on construction, so ``spec == HeadSpec.from_json(spec.to_json())`` and the JSON
bytes round-trip identically): every float rounded to :data:`FLOAT_DECIMALS` decimals (numpy
``round``, then ``+ 0.0`` so ``-0.0`` becomes ``0.0``); the open head's six phenotypes always present and
its local changes / ARKit weights only when non-zero; FLAME coefficient lists without trailing zeros; pose
joints only when non-zero; every texture control present (defaults filled in, ``skin_age`` = identity age
for the open head). JSON: ``sort_keys``, separators ``(",", ":")``, ASCII, Python's shortest float ``repr``.
:attr:`HeadSpec.hash` is the sha256 of those bytes: stable across processes and platforms.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from assetgen.control import controls as C
from assetgen.control.texture_controls import SKIN_AGE_DEFAULT_FLAME, TEXTURE_CONTROLS

__all__ = ["SPEC_VERSION", "FLOAT_DECIMALS", "MAX_SEED", "MAX_TEXTURE_SEED", "FrozenDict", "Lighting", "Origin", "HeadSpec",
           "canon_array", "canon_float", "derive_texture_seed"]

#: Bump when the meaning or layout of a spec changes (defaults, units, field names).
SPEC_VERSION = 1
#: Decimals kept for every float of a spec (1e-6 years, degrees, σ …).
FLOAT_DECIMALS = 6
MAX_SEED = 2**63 - 1
MAX_TEXTURE_SEED = 2**62 - 1
"""Texture seeds are 62-bit (the procedural texture model hashes them with 2-bit headroom)."""
#: Longest accepted ``texture_latent``.
TEXTURE_LATENT_MAX = 4096
_TOP_KEYS = ("spec_version", "model", "identity", "expression", "pose", "texture", "texture_latent",
             "texture_seed", "lighting", "seed", "origin")


def canon_array(values) -> np.ndarray:
    """``values`` as float64 rounded to :data:`FLOAT_DECIMALS` decimals, ``-0.0`` → ``0.0``."""
    return np.round(np.asarray(values, dtype=np.float64), FLOAT_DECIMALS) + 0.0


def canon_float(value) -> float:
    return float(canon_array(float(value)))


def derive_texture_seed(seed: int | None) -> int:
    """Texture seed derived from a request seed (sha256 of ``"texture:<seed>"``, 62 bits); 0 without one."""
    return 0 if seed is None else C.stable_int(f"assetgen.texture:{int(seed)}") % (MAX_TEXTURE_SEED + 1)


class FrozenDict(Mapping):
    """An immutable, hashable, picklable mapping (spec fields must not change after construction)."""

    __slots__ = ("_d",)

    def __init__(self, items: Mapping | Any = ()) -> None:
        object.__setattr__(self, "_d", dict(items))

    def __getitem__(self, key):
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._d.items())))

    def __setattr__(self, name, value):
        raise AttributeError("FrozenDict is immutable")

    def __reduce__(self):
        return FrozenDict, (self._d,)

    def __repr__(self) -> str:
        return f"FrozenDict({self._d!r})"


# ------------------------------------------------------------------------------------------ validation
def check_int(field: str, value, lo: int = 0, hi: int = MAX_SEED) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{field}: expected an integer in [{lo}, {hi}], got {type(value).__name__} {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{field}: {int(value)} is out of range [{lo}, {hi}]")
    return int(value)


def check_mapping(field: str, value) -> Mapping:
    if not isinstance(value, Mapping):
        raise ValueError(f"{field}: expected a mapping of names to values, got {type(value).__name__}")
    return value


def check_vector(field: str, value, length: int | None = None, rng=None, max_length: int | None = None) -> tuple:
    """A finite float vector (list/tuple/array) as a canonical tuple; ``rng`` checks every entry."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__"):
        raise ValueError(f"{field}: expected a list of numbers, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise ValueError(f"{field}: expected {length} numbers, got {len(value)}")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{field}: expected at most {max_length} numbers, got {len(value)}")
    out = []
    for i, v in enumerate(value):
        name = f"{field}[{i}]"
        if rng is not None:
            out.append(rng.check(name, v))
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise ValueError(f"{name}: expected a number, got {type(v).__name__} {v!r}")
        if not math.isfinite(float(v)):
            raise ValueError(f"{name}: expected a finite number, got {float(v)}")
        out.append(float(v))
    return tuple(canon_array(out).tolist()) if out else ()


def _trim(values: tuple) -> tuple:
    end = len(values)
    while end and values[end - 1] == 0.0:
        end -= 1
    return values[:end]


def _named(field: str, value, table: Mapping, drop_default: bool) -> dict[str, float]:
    out = {}
    for name, v in check_mapping(field, value).items():
        if name not in table:
            raise ValueError(f"{field}.{name}: unknown name{C.suggest(str(name), table)}")
        out[name] = canon_float(table[name].check(f"{field}.{name}", v))
    return {k: v for k, v in out.items() if not (drop_default and v == table[k].default)}


# ------------------------------------------------------------------------------------------ parts
@dataclass(frozen=True)
class Lighting:
    """Portrait lighting and camera (data only: the renderer turns presets into SH coefficients).

    Attributes:
        preset: one of :data:`~assetgen.control.controls.LIGHTING_PRESETS`, or ``None`` when ``sh`` is given.
        sh: 9 × RGB real spherical-harmonics coefficients (linear radiance), rows in the usual real-SH order:
            band 0 (``Y00``), band 1 (``Y1-1 ∝ y``, ``Y10 ∝ z``, ``Y11 ∝ x``), band 2 (``Y2-2 ∝ xy``,
            ``Y2-1 ∝ yz``, ``Y20 ∝ 3z² − 1``, ``Y21 ∝ xz``, ``Y22 ∝ x² − y²``), with x, y, z the model
            frame
            (X right, Y up, Z out of the face); or ``None``.
        camera_yaw, camera_pitch: portrait camera angles in degrees (0, 0: frontal).
    """

    preset: str | None = "studio"
    sh: tuple[tuple[float, float, float], ...] | None = None
    camera_yaw: float = 0.0
    camera_pitch: float = 0.0

    def __post_init__(self) -> None:
        if self.sh is not None:
            if self.preset is not None:
                raise ValueError("lighting: give either a preset or sh coefficients, not both")
            if isinstance(self.sh, (str, Mapping)) or not hasattr(self.sh, "__len__") or len(self.sh) != 9:
                raise ValueError("lighting.sh: expected 9 rows of [r, g, b] (bands 0, 1, 2), got "
                                 f"{len(self.sh) if hasattr(self.sh, '__len__') else type(self.sh).__name__}")
            rows = tuple(check_vector(f"lighting.sh[{i}]", row, 3, C.SH_COEFFICIENT) for i, row in enumerate(self.sh))
            object.__setattr__(self, "sh", rows)
        elif self.preset not in C.LIGHTING_PRESETS:
            raise ValueError(f"lighting.preset: expected one of {list(C.LIGHTING_PRESETS)} (or sh coefficients), "
                             f"got {self.preset!r}{C.suggest(str(self.preset), C.LIGHTING_PRESETS)}")
        object.__setattr__(self, "camera_yaw", canon_float(C.CAMERA_YAW.check("lighting.camera_yaw", self.camera_yaw)))
        object.__setattr__(self, "camera_pitch",
                           canon_float(C.CAMERA_PITCH.check("lighting.camera_pitch", self.camera_pitch)))

    def to_dict(self) -> dict:
        out = {"preset": self.preset, "camera_yaw": self.camera_yaw, "camera_pitch": self.camera_pitch}
        if self.sh is not None:
            out["sh"] = [list(row) for row in self.sh]
        return out

    @classmethod
    def from_dict(cls, doc) -> Lighting:
        doc = dict(check_mapping("lighting", doc))
        allowed = ("preset", "sh", "camera_yaw", "camera_pitch")
        for key in doc:
            if key not in allowed:
                raise ValueError(f"lighting.{key}: unknown field{C.suggest(str(key), allowed)}")
        sh = doc.get("sh")
        preset = doc.get("preset", None if sh is not None else "studio")
        return cls(preset=preset, sh=sh, camera_yaw=doc.get("camera_yaw", 0.0),
                   camera_pitch=doc.get("camera_pitch", 0.0))


_ORIGIN_FIELDS = ("door", "mapper", "mapper_version")


@dataclass(frozen=True)
class Origin:
    """How a spec was made (provenance; part of the hash).

    Attributes:
        door: ``"latent"``, ``"params"``, ``"edit"``, ``"interpolate"``, ``"text"`` or ``"python"``.
        mapper, mapper_version: the latent mapper that produced the values (``None`` for other doors).
        details: door-specific JSON scalars or lists (``psi``, ``expression_scale``, ``t``, ``parents``
            — hashes of the specs an edit/interpolation started from —, ``edit``, ``prompt``…).
    """

    door: str = "python"
    mapper: str | None = None
    mapper_version: int | None = None
    details: Mapping[str, Any] = FrozenDict()

    def __post_init__(self) -> None:
        if not isinstance(self.door, str) or not self.door.isidentifier():
            raise ValueError(f"origin.door: expected an identifier such as 'latent' or 'params', got {self.door!r}")
        if self.mapper is not None and not isinstance(self.mapper, str):
            raise ValueError(f"origin.mapper: expected a string or null, got {self.mapper!r}")
        if self.mapper_version is not None:
            check_int("origin.mapper_version", self.mapper_version)
        details = {}
        for key, value in check_mapping("origin", self.details).items():
            if key in _ORIGIN_FIELDS or not isinstance(key, str):
                raise ValueError(f"origin.{key}: reserved or invalid detail name")
            details[key] = _canon_json(f"origin.{key}", value)
        object.__setattr__(self, "details", FrozenDict(sorted(details.items())))

    def to_dict(self) -> dict:
        out = {"door": self.door, "mapper": self.mapper, "mapper_version": self.mapper_version}
        out.update({k: list(v) if isinstance(v, tuple) else v for k, v in self.details.items()})
        return out

    @classmethod
    def from_dict(cls, doc) -> Origin:
        doc = dict(check_mapping("origin", doc))
        return cls(door=doc.pop("door", "python"), mapper=doc.pop("mapper", None),
                   mapper_version=doc.pop("mapper_version", None), details=doc)


def _canon_json(field: str, value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            raise ValueError(f"{field}: expected a finite number, got {value}")
        return canon_float(value)
    if isinstance(value, (list, tuple)):
        return tuple(_canon_json(f"{field}[{i}]", v) for i, v in enumerate(value))
    raise ValueError(f"{field}: expected a JSON scalar or list, got {type(value).__name__}")


# ------------------------------------------------------------------------------------------ HeadSpec
@dataclass(frozen=True)
class HeadSpec:
    """One head, as data (see the module docstring for the JSON form and canonicalisation).

    Attributes:
        model: ``"open"`` or ``"flame:<sha256 prefix>"`` (:func:`~assetgen.control.controls.model_id`).
        identity: open head: named controls (:data:`~assetgen.control.controls.OPEN_IDENTITY_CONTROLS`:
            ``age`` years, ``sex`` 0..1, sliders 0..1, local changes −1..1); FLAME: empty.
        shape: FLAME identity coefficients β (σ units, each in [−5, 5]); open: empty.
        expression: open head: ARKit name → weight in [0, 1]; FLAME: empty.
        expression_coefficients: FLAME expression coefficients ψ (σ units); open: empty.
        pose: joint (``global``, ``neck``, ``jaw``, ``eye_left``, ``eye_right``) → axis-angle ``(x, y, z)``
            in degrees; missing joints are at rest.
        texture: every texture control (:data:`~assetgen.control.texture_controls.TEXTURE_CONTROLS`).
        texture_latent: latent vector for the learned texture generators (empty: none).
        texture_seed: seed of the procedural texture detail (default: derived from ``seed``).
        lighting: portrait lighting and camera.
        seed: the request seed, if any (provenance).
        origin: provenance (door, mapper name + version, details).
        spec_version: :data:`SPEC_VERSION` of the writer.
    """

    model: str = C.OPEN_MODEL_ID
    identity: Mapping[str, float] = FrozenDict()
    shape: tuple[float, ...] = ()
    expression: Mapping[str, float] = FrozenDict()
    expression_coefficients: tuple[float, ...] = ()
    pose: Mapping[str, tuple[float, float, float]] = FrozenDict()
    texture: Mapping[str, float] = FrozenDict()
    texture_latent: tuple[float, ...] = ()
    texture_seed: int | None = None
    lighting: Lighting = Lighting()
    seed: int | None = None
    origin: Origin = Origin()
    spec_version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)
        version = check_int("spec_version", self.spec_version, 1, 10**6)
        if version > SPEC_VERSION:
            raise ValueError(f"spec_version: {version} is newer than this assetgen supports ({SPEC_VERSION})")
        kind = C.model_kind(self.model)
        if kind == "open":
            if self.shape:
                raise ValueError("shape: the open head takes named identity controls, not raw coefficients "
                                 "(the params door converts identity.shape)")
            if self.expression_coefficients:
                raise ValueError("expression_coefficients: the open head takes ARKit weights by name")
            identity = _named("identity", self.identity, C.OPEN_IDENTITY_CONTROLS, drop_default=False)
            pheno = {n: identity.pop(n, C.OPEN_IDENTITY_CONTROLS[n].default) for n in C.OPEN_PHENOTYPES}
            local = {n: identity[n] for n in C.OPEN_LOCAL_CHANGES if identity.get(n, 0.0) != 0.0}
            set_("identity", FrozenDict({**pheno, **local}))
            expr = _named("expression", self.expression, {n: C.EXPRESSION_WEIGHT for n in C.ARKIT_52}, True)
            set_("expression", FrozenDict((n, expr[n]) for n in C.ARKIT_52 if n in expr))
            age = pheno["age"]
        else:
            for name in check_mapping("identity", self.identity):
                raise ValueError(f"identity.{name}: FLAME models have no named identity controls; give "
                                 "identity.shape coefficients (σ units)")
            for name in check_mapping("expression", self.expression):
                raise ValueError(f"expression.{name}: FLAME models take expression coefficients "
                                 "(expression.coefficients, σ units), not ARKit names")
            set_("identity", FrozenDict())
            set_("expression", FrozenDict())
            set_("shape", _trim(check_vector("identity.shape", self.shape, rng=C.FLAME_COEFFICIENT)))
            set_("expression_coefficients", _trim(check_vector(
                "expression.coefficients", self.expression_coefficients, rng=C.FLAME_COEFFICIENT)))
            age = None
        pose = {}
        for joint, value in check_mapping("pose", self.pose).items():
            if joint not in C.POSE_RANGES:
                raise ValueError(f"pose.{joint}: unknown joint; expected one of {list(C.POSE_JOINTS)}"
                                 f"{C.suggest(str(joint), C.POSE_JOINTS)}")
            ranges = C.POSE_RANGES[joint]
            vec = [ranges[i].check(f"pose.{joint}[{i}]", v) for i, v in enumerate(_three(f"pose.{joint}", value))]
            vec = tuple(canon_array(vec).tolist())
            if any(vec):
                pose[joint] = vec
        set_("pose", FrozenDict((j, pose[j]) for j in C.POSE_JOINTS if j in pose))
        texture = _named("texture", self.texture, TEXTURE_CONTROLS, drop_default=False)
        if "skin_age" not in texture:
            texture["skin_age"] = canon_float(SKIN_AGE_DEFAULT_FLAME if age is None else
                                              TEXTURE_CONTROLS["skin_age"].clamp(age))
        set_("texture", FrozenDict((n, texture.get(n, r.default)) for n, r in TEXTURE_CONTROLS.items()))
        set_("texture_latent", check_vector("texture_latent", self.texture_latent, max_length=TEXTURE_LATENT_MAX))
        if self.seed is not None:
            set_("seed", check_int("seed", self.seed))
        set_("texture_seed", derive_texture_seed(self.seed) if self.texture_seed is None
             else check_int("texture_seed", self.texture_seed, hi=MAX_TEXTURE_SEED))
        if not isinstance(self.lighting, Lighting):
            set_("lighting", Lighting.from_dict(self.lighting))
        if not isinstance(self.origin, Origin):
            set_("origin", Origin.from_dict(self.origin))

    # --------------------------------------------------------------------------- fast construction
    @classmethod
    def _trusted(cls, **fields) -> HeadSpec:
        """Build without validation from values that are already canonical (batched latent path)."""
        obj = object.__new__(cls)
        obj.__dict__.update(_DEFAULTS)
        obj.__dict__.update(fields)
        return obj

    # --------------------------------------------------------------------------- properties
    @property
    def model_kind(self) -> str:
        """``"open"`` or ``"flame"``."""
        return C.model_kind(self.model)

    @functools.cached_property
    def hash(self) -> str:
        """sha256 hex digest of :meth:`to_json` (canonical bytes)."""
        return hashlib.sha256(self.to_json().encode("ascii")).hexdigest()

    def __hash__(self) -> int:
        return hash(self.hash)

    def replace(self, **changes) -> HeadSpec:
        """A validated copy with some fields changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    # --------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        """The readable JSON document (plain dicts/lists; see the module docstring)."""
        if self.model_kind == "open":
            identity, expression = dict(self.identity), dict(self.expression)
        else:
            identity, expression = {"shape": list(self.shape)}, {"coefficients": list(self.expression_coefficients)}
        return {
            "spec_version": self.spec_version, "model": self.model, "identity": identity, "expression": expression,
            "pose": {j: list(v) for j, v in self.pose.items()}, "texture": dict(self.texture),
            "texture_latent": list(self.texture_latent), "texture_seed": self.texture_seed,
            "lighting": self.lighting.to_dict(), "seed": self.seed, "origin": self.origin.to_dict(),
        }

    def to_json(self, indent: int | None = None) -> str:
        """Canonical JSON (``indent=None``: the exact bytes that are hashed) or an indented variant."""
        seps = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.to_dict(), sort_keys=True, separators=seps, ensure_ascii=True, allow_nan=False,
                          indent=indent)

    @classmethod
    def from_dict(cls, doc: Mapping) -> HeadSpec:
        """Read a spec document (the :meth:`to_dict` layout; missing fields take their defaults).

        Raises ``ValueError`` naming the field: unknown names (with the closest valid ones), values out of
        range, a layout that does not fit the model.
        """
        doc = check_mapping("spec", doc)
        for key in doc:
            if key not in _TOP_KEYS:
                raise ValueError(f"{key}: unknown spec field{C.suggest(str(key), _TOP_KEYS)}")
        model = doc.get("model", C.OPEN_MODEL_ID)
        kind = C.model_kind(model)
        identity = dict(check_mapping("identity", doc.get("identity", {})))
        expression = dict(check_mapping("expression", doc.get("expression", {})))
        shape, coefficients = (), ()
        if kind == "flame":
            shape = identity.pop("shape", ())
            coefficients = expression.pop("coefficients", ())
        lighting = doc.get("lighting", {})
        origin = doc.get("origin", {})
        return cls(
            model=model, identity=identity, shape=shape, expression=expression,
            expression_coefficients=coefficients, pose=check_mapping("pose", doc.get("pose", {})),
            texture=check_mapping("texture", doc.get("texture", {})),
            texture_latent=doc.get("texture_latent", ()) or (), texture_seed=doc.get("texture_seed"),
            lighting=Lighting.from_dict(lighting) if lighting is not None else Lighting(),
            seed=doc.get("seed"), origin=Origin.from_dict(origin if origin is not None else {}),
            spec_version=doc.get("spec_version", SPEC_VERSION),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> HeadSpec:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"spec: not valid JSON ({exc})") from None
        return cls.from_dict(doc)


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(HeadSpec)}


def _three(field: str, value) -> tuple:
    if isinstance(value, (str, Mapping)) or not hasattr(value, "__len__") or len(value) != 3:
        raise ValueError(f"{field}: expected an axis-angle [x, y, z] in degrees, got {value!r}")
    return tuple(value)
