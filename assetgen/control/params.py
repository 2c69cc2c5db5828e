"""The parameters front door: a JSON/YAML document or a Python dict → :class:`~assetgen.control.HeadSpec`.

Document layout (every section optional; units and ranges in :func:`describe_controls`)::

    model: open                        # "open", "flame" (with model=… given) or "flame:<sha256 prefix>"
    identity:                          # open head: named controls; both models: raw "shape" coefficients
      age: 60                          # years, 18..90
      sex: 0.2                         # 0 female … 1 male
      nose-scale-horiz: 0.4            # local change, −1..1 (MakeHuman's "nose-scale-horiz-incr: 0.4" too)
      # shape: [...]                   # open: the model's 145 centred columns; FLAME: β in σ, each in ±5
    expression:                        # open: ARKit weights 0..1 by name; "coefficients": [...] (FLAME ψ, σ)
      mouthSmileLeft: 0.7
    pose: {jaw: [10, 0, 0]}            # axis-angle in degrees: global, neck, jaw, eye_left, eye_right
    texture: {skin_tone: 4, freckles: 0.3}
    texture_seed: 7                    # default: derived from seed
    lighting: soft                     # a preset, or {preset | sh: 9×[r,g,b], camera_yaw, camera_pitch}
    seed: 42

Unknown names raise ``ValueError`` with the closest valid names (difflib); values out of range raise
``ValueError`` with the range and unit, e.g. ``identity.age: 130 is out of range [18, 90] years``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import yaml

from assetgen.control import controls as C
from assetgen.control.spec import HeadSpec, Lighting, Origin, canon_array, check_mapping, check_vector
from assetgen.control.texture_controls import TEXTURE_CONTROLS

__all__ = ["spec_from_params", "load_params", "parse_params_text", "describe_controls"]

_TOP = ("spec_version", "model", "identity", "expression", "pose", "texture", "texture_latent", "texture_seed",
        "lighting", "seed", "origin")
#: Names people reach for that are not controls → the control to use.
_HINTS = {"gender": "sex", "skin_color": "skin_tone", "skin_colour": "skin_tone", "eye_colour": "eye_color",
          "hair_color": "hair_darkness", "beard": "stubble", "smile": "mouthSmileLeft/mouthSmileRight"}


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` / ``2E5`` as floats (YAML 1.2; PyYAML's 1.1 rules need a dot)."""


_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_params_text(text: str, format: str = "auto") -> dict:
    """A parameters document from JSON or YAML text (``format``: ``"json"``, ``"yaml"`` or ``"auto"``)."""
    if format not in ("json", "yaml", "auto"):
        raise ValueError(f"format: expected 'json', 'yaml' or 'auto', got {format!r}")
    if format == "json" or (format == "auto" and text.lstrip().startswith("{")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"params: not valid JSON ({exc})") from None
    else:
        try:
            doc = yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 — a SafeLoader subclass
        except yaml.YAMLError as exc:
            raise ValueError(f"params: not valid YAML ({exc})") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ValueError(f"params: expected a mapping at the top level, got {type(doc).__name__}")
    return doc


def load_params(path: str | Path) -> dict:
    """Read a ``.json``, ``.yaml`` or ``.yml`` parameters file."""
    path = Path(path)
    if path.suffix.lower() not in (".json", ".yaml", ".yml"):
        raise ValueError(f"path: expected a .json, .yaml or .yml file, got {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"path: cannot read {str(path)!r} ({exc.strerror})") from None
    return parse_params_text(text, "json" if path.suffix.lower() == ".json" else "yaml")


def _unknown(field: str, name: str, valid) -> ValueError:
    hint = _HINTS.get(name)
    extra = f"; use {hint!r}" if hint else C.suggest(name, valid)
    return ValueError(f"{field}.{name}: unknown name{extra}")


def _model_id(doc_model, model) -> str:
    info = C.model_info(model) if model is not None else None
    if doc_model is None:
        return info.id if info is not None else C.OPEN_MODEL_ID
    if not isinstance(doc_model, str):
        raise ValueError(f"model: expected 'open', 'flame' or 'flame:<sha256 prefix>', got {doc_model!r}")
    if doc_model == "flame":
        if info is None or info.kind != "flame":
            raise ValueError("model: 'flame' needs the loaded FLAME model (pass model=…) to pin its id, or give "
                             "'flame:<16 hex digits of the file's sha256>'")
        return info.id
    C.model_kind(doc_model)
    if info is not None and info.id != doc_model:
        raise ValueError(f"model: the document is for {doc_model!r} but the model given is {info.id!r}")
    return doc_model


def _open_identity(identity: Mapping) -> dict[str, float]:
    """Named open-head controls: raw ``shape`` converted, ``…-incr``/``…-decr`` folded, names checked."""
    identity = dict(identity)
    out: dict[str, float] = {}
    if "shape" in identity:
        value = identity.pop("shape")
        check_vector("identity.shape", value, len(C.OPEN_SHAPE_COLUMNS))  # names the bad entry
        raw = [float(v) for v in value]  # unrounded: the age column is ~195 years per unit
        for i, v in enumerate(raw):
            bound = 0.5 if i < 6 else 1.0
            if not -bound <= v <= bound:
                raise ValueError(f"identity.shape[{i}] ({C.OPEN_SHAPE_COLUMNS[i]}): {v:g} is out of range "
                                 f"[{-bound:g}, {bound:g}]")
        pheno, local = C.open_values_from_shape(np.array(raw))
        local = canon_array(local)
        rng = C.OPEN_IDENTITY_CONTROLS["age"]
        if not rng.min <= pheno[1] <= rng.max:
            raise ValueError(f"identity.shape[1] (age): {raw[1]:g} is {pheno[1]:.1f} years, out of range "
                             f"[{rng.min:g}, {rng.max:g}] years")
        out.update(zip(C.OPEN_PHENOTYPES, pheno.tolist()))
        out.update((n, v) for n, v in zip(C.OPEN_LOCAL_CHANGES, local.tolist()) if v != 0.0)
    named: dict[str, float] = {}
    for key, value in identity.items():
        base, sign = key, 1.0
        if isinstance(key, str) and key.endswith(("-incr", "-decr")) and key[:-5] in C.OPEN_LOCAL_CHANGES:
            base, sign = key[:-5], (1.0 if key.endswith("-incr") else -1.0)
            value = C.ControlRange(0.0, 1.0, 0.0, "", "").check(f"identity.{key}", value) * sign
        elif key not in C.OPEN_IDENTITY_CONTROLS:
            valid = list(C.OPEN_IDENTITY_CONTROLS) + [n + s for n in C.OPEN_LOCAL_CHANGES for s in ("-incr", "-decr")]
            raise _unknown("identity", str(key), valid)
        if base in named:
            raise ValueError(f"identity.{key}: {base!r} is given twice (as {base}, {base}-incr or {base}-decr)")
        named[base] = value
    out.update(named)
    return out


def spec_from_params(params: Mapping | str | Path, model=None) -> HeadSpec:
    """Build a spec from a parameters document (dict, JSON/YAML text, or a ``.json``/``.yaml`` path).

    Args:
        params: the document (see the module docstring).
        model: optional loaded head model or :class:`~assetgen.control.controls.ModelInfo`: pins
            ``"flame"`` to the file's id, checks the document's model and the FLAME coefficient counts.
    Raises:
        ValueError: naming the field — unknown names (closest valid names suggested), values out of range
            (with range and unit), a layout that does not fit the model.
    """
    if isinstance(params, Path) or (isinstance(params, str) and "\n" not in params
                                    and params.strip().endswith((".json", ".yaml", ".yml"))):
        doc = load_params(params)
    elif isinstance(params, str):
        doc = parse_params_text(params)
    else:
        doc = dict(check_mapping("params", params))
    for key in doc:
        if key not in _TOP:
            raise ValueError(f"{key}: unknown field{C.suggest(str(key), _TOP)}")
    mid = _model_id(doc.get("model"), model)
    kind = C.model_kind(mid)
    info = C.model_info(model) if model is not None else None
    identity = dict(check_mapping("identity", doc.get("identity") or {}))
    expression = dict(check_mapping("expression", doc.get("expression") or {}))
    texture = dict(check_mapping("texture", doc.get("texture") or {}))
    for name in texture:
        if name not in TEXTURE_CONTROLS:
            raise _unknown("texture", str(name), TEXTURE_CONTROLS)
    shape, coefficients = (), ()
    if kind == "open":
        identity = _open_identity(identity)
        if "coefficients" in expression:
            raw = check_vector("expression.coefficients", expression.pop("coefficients"), len(C.ARKIT_52),
                               C.EXPRESSION_WEIGHT)
            expression = {**{n: v for n, v in zip(C.ARKIT_52, raw) if v}, **expression}
        for name in expression:
            if name not in C.ARKIT_52:
                raise _unknown("expression", str(name), C.ARKIT_52)
    else:
        for name in identity:
            if name != "shape":
                raise ValueError(f"identity.{name}: FLAME models have no named identity controls; give "
                                 "identity.shape: [β₀, β₁, …] in standard deviations (each in ±5)")
        for name in expression:
            if name != "coefficients":
                raise ValueError(f"expression.{name}: FLAME models take expression.coefficients: [ψ₀, …] "
                                 "in standard deviations, not ARKit names")
        shape = identity.pop("shape", ())
        coefficients = expression.pop("coefficients", ())
        for field, values, limit in (("identity.shape", shape, info and info.num_shape),
                                     ("expression.coefficients", coefficients, info and info.num_expression)):
            if limit is not None and hasattr(values, "__len__") and len(values) > limit:
                raise ValueError(f"{field}: {len(values)} coefficients but the model has {limit}")
    lighting = doc.get("lighting")
    if isinstance(lighting, str):
        lighting = {"preset": lighting}
    origin = doc.get("origin") or {"door": "params"}
    return HeadSpec(
        model=mid, identity=identity, shape=shape, expression=expression, expression_coefficients=coefficients,
        pose=check_mapping("pose", doc.get("pose") or {}), texture=texture,
        texture_latent=doc.get("texture_latent") or (), texture_seed=doc.get("texture_seed"),
        lighting=Lighting.from_dict(lighting) if lighting is not None else Lighting(), seed=doc.get("seed"),
        origin=Origin.from_dict(origin), spec_version=doc.get("spec_version", 1),
    )


def describe_controls(model="open") -> dict[str, dict[str, dict]]:
    """Documented controls of a model: section → name → ``{min, max, default, unit, doc}``.

    ``model``: ``"open"``, ``"flame"``, or a loaded model / :class:`~assetgen.control.controls.ModelInfo`.
    """
    kind = model if model in ("open", "flame") else C.model_info(model).kind
    row = lambda r: {"min": r.min, "max": r.max, "default": r.default, "unit": r.unit, "doc": r.doc}  # noqa: E731
    out: dict[str, dict[str, dict]] = {}
    if kind == "open":
        out["identity"] = {n: row(r) for n, r in C.OPEN_IDENTITY_CONTROLS.items()}
        out["expression"] = {n: row(C.EXPRESSION_WEIGHT) for n in C.ARKIT_52}
    else:
        out["identity"] = {"shape[i]": row(C.FLAME_COEFFICIENT)}
        out["expression"] = {"coefficients[i]": row(C.FLAME_COEFFICIENT)}
    out["pose"] = {f"{j}[{i}]": row(r) for j, rs in C.POSE_RANGES.items() for i, r in enumerate(rs)}
    out["texture"] = {n: row(r) for n, r in TEXTURE_CONTROLS.items()}
    out["lighting"] = {"camera_yaw": row(C.CAMERA_YAW), "camera_pitch": row(C.CAMERA_PITCH),
                       "sh[i][c]": row(C.SH_COEFFICIENT)}
    return out
