"""Edits of an existing spec, and interpolation between specs or latents.

An :class:`Edit` is a tuple of :class:`EditOp` (``field``, ``op``, ``value``) — plain data, so the text door
to come can produce the same objects ("a bit older" → ``Edit((EditOp("identity.age", "add", 10.0),))``,
scaled with :meth:`Edit.scaled`). Three equivalent ways to write one:

* Python: ``Edit((EditOp("identity.age", "add", 20), EditOp("expression.mouthSmileLeft", "add", 0.3)))``
* a delta document: ``{"identity": {"age": "+20"}, "expression": {"mouthSmileLeft": "+0.3"}}`` — a number
  sets, a string ``"+x"``/``"-x"`` adds, ``"*x"`` multiplies, ``"=x"`` sets;
* the edit syntax: ``"age += 20; mouthSmileLeft += 0.3; skin_tone = 4; wrinkles *= 1.5; pose.jaw = [10, 0, 0]"``
  — statements ``<field> (=|+=|-=|*=) <value>`` separated by ``;`` or new lines; a bare name is looked up in
  identity, expression, texture, pose and lighting; FLAME coefficients are ``shape[3]`` and
  ``expression[0]``; ``lighting.preset = soft`` switches the preset.

Fields: ``identity.<name>`` (open), ``identity.shape[i]`` (FLAME), ``expression.<ARKit name>`` (open),
``expression.coefficients[i]`` (FLAME), ``texture.<name>``, ``pose.<joint>`` (``[x, y, z]`` degrees),
``lighting.camera_yaw``, ``lighting.camera_pitch``, ``lighting.preset``, ``texture_seed``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from assetgen.control import controls as C
from assetgen.control.latent import interpolate_latents, specs_from_latents
from assetgen.control.spec import HeadSpec, canon_float, check_mapping
from assetgen.control.texture_controls import TEXTURE_CONTROLS

__all__ = ["EditOp", "Edit", "parse_edit", "apply_edit", "interpolate", "interpolate_specs", "morph_latents"]

OPS = ("set", "add", "mul")
_SYMBOL = {"set": "=", "add": "+=", "mul": "*="}
_MAX_INDEX = 1024
_SECTIONS = ("identity", "expression", "texture", "pose", "lighting", "texture_seed")
_INDEXED = re.compile(r"^(identity\.shape|expression\.coefficients)\[(\d+)\]$")


def _field_kind(field: str) -> str:
    """``"scalar"``, ``"vector"`` (pose), ``"preset"`` or ``"int"``; ``ValueError`` for an unknown field."""
    section, _, name = field.partition(".")
    if _INDEXED.match(field):
        if int(_INDEXED.match(field).group(2)) >= _MAX_INDEX:
            raise ValueError(f"{field}: index must be below {_MAX_INDEX}")
        return "scalar"
    if section == "identity" and name in C.OPEN_IDENTITY_CONTROLS:
        return "scalar"
    if section == "expression" and name in C.ARKIT_52:
        return "scalar"
    if section == "texture" and name in TEXTURE_CONTROLS:
        return "scalar"
    if section == "pose" and name in C.POSE_JOINTS:
        return "vector"
    if field in ("lighting.camera_yaw", "lighting.camera_pitch"):
        return "scalar"
    if field == "lighting.preset":
        return "preset"
    if field == "texture_seed":
        return "int"
    valid = _all_fields()
    raise ValueError(f"{field}: not an editable field{C.suggest(field, valid)}")


def _all_fields() -> list[str]:
    return ([f"identity.{n}" for n in C.OPEN_IDENTITY_CONTROLS] + [f"expression.{n}" for n in C.ARKIT_52]
            + [f"texture.{n}" for n in TEXTURE_CONTROLS] + [f"pose.{j}" for j in C.POSE_JOINTS]
            + ["lighting.camera_yaw", "lighting.camera_pitch", "lighting.preset", "texture_seed",
               "identity.shape[i]", "expression.coefficients[i]"])


def _qualify(name: str) -> str:
    """Full field path for a bare or partial name (``age`` → ``identity.age``)."""
    m = re.match(r"^(shape|coefficients|expression)\[(\d+)\]$", name)
    if m:
        return ("identity.shape" if m.group(1) == "shape" else "expression.coefficients") + f"[{m.group(2)}]"
    if "." in name or name == "texture_seed":
        return name
    for section, table in (("identity", C.OPEN_IDENTITY_CONTROLS), ("expression", C.ARKIT_52),
                           ("texture", TEXTURE_CONTROLS), ("pose", C.POSE_JOINTS)):
        if name in table:
            return f"{section}.{name}"
    if name in ("camera_yaw", "camera_pitch", "preset"):
        return f"lighting.{name}"
    bare = list(C.OPEN_IDENTITY_CONTROLS) + list(C.ARKIT_52) + list(TEXTURE_CONTROLS) + list(C.POSE_JOINTS) + [
        "camera_yaw", "camera_pitch", "preset", "texture_seed"]
    raise ValueError(f"{name}: not an editable field{C.suggest(name, bare)}")


@dataclass(frozen=True)
class EditOp:
    """One change: ``field`` (full path, see the module docstring), ``op`` (``"set"``, ``"add"`` or ``"mul"``)
    and ``value`` (a float; ``[x, y, z]`` degrees for a pose; a preset name for ``lighting.preset``)."""

    field: str
    op: str
    value: float | tuple[float, float, float] | str

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"{self.field}: op must be one of {list(OPS)}, got {self.op!r}")
        kind = _field_kind(self.field)
        if kind == "preset":
            if self.op != "set" or not isinstance(self.value, str):
                raise ValueError(f"{self.field}: only '= <preset name>' is allowed")
            return
        if kind == "vector":
            if self.op == "mul":
                raise ValueError(f"{self.field}: a pose can be set or added to, not multiplied")
            value = self.value
            if isinstance(value, (str, Mapping)) or not hasattr(value, "__len__") or len(value) != 3:
                raise ValueError(f"{self.field}: expected [x, y, z] in degrees, got {value!r}")
            object.__setattr__(self, "value", tuple(_number(f"{self.field}[{i}]", v) for i, v in enumerate(value)))
            return
        value = _number(self.field, self.value)
        if kind == "int" and (self.op != "set" or value != int(value) or value < 0):
            raise ValueError(f"{self.field}: only '= <non-negative integer>' is allowed")
        object.__setattr__(self, "value", int(value) if kind == "int" else value)

    def to_text(self) -> str:
        v = self.value
        text = "[" + ", ".join(repr(canon_float(x)) for x in v) + "]" if isinstance(v, tuple) else (
            v if isinstance(v, str) else repr(v) if isinstance(v, int) else repr(canon_float(v)))
        return f"{self.field} {_SYMBOL[self.op]} {text}"


def _number(field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{field}: expected a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{field}: expected a finite number, got {value}")
    return float(value)


@dataclass(frozen=True)
class Edit:
    """An ordered tuple of :class:`EditOp`, applied left to right by :func:`apply_edit`."""

    ops: tuple[EditOp, ...]

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        for i, op in enumerate(ops):
            if not isinstance(op, EditOp):
                raise ValueError(f"ops[{i}]: expected an EditOp, got {type(op).__name__}")
        object.__setattr__(self, "ops", ops)

    def scaled(self, strength: float) -> Edit:
        """The edit at another strength (text: "a bit" ≈ 0.5, "much" ≈ 2): ``add`` deltas × strength, ``mul``
        factors ** strength; ``set`` ops are unchanged."""
        strength = _number("strength", strength)
        out = []
        for op in self.ops:
            if op.op == "add":
                v = tuple(x * strength for x in op.value) if isinstance(op.value, tuple) else op.value * strength
                out.append(EditOp(op.field, "add", v))
            elif op.op == "mul":
                if op.value <= 0.0:
                    raise ValueError(f"{op.field}: cannot scale a factor ≤ 0 ({op.value:g})")
                out.append(EditOp(op.field, "mul", op.value**strength))
            else:
                out.append(op)
        return Edit(tuple(out))

    def then(self, other: Edit) -> Edit:
        """This edit followed by ``other``."""
        return Edit(self.ops + parse_edit(other).ops)

    def to_text(self) -> str:
        """The edit syntax (round-trips through :func:`parse_edit`)."""
        return "; ".join(op.to_text() for op in self.ops)


_STATEMENT = re.compile(r"^\s*([A-Za-z_][\w.\-]*(?:\[\d+\])?)\s*(\+=|-=|\*=|=)\s*(.+?)\s*$")


def _parse_value(field: str, text: str):
    text = text.strip()
    if re.fullmatch(r"[A-Za-z_]\w*", text):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"{field}: cannot read the value {text!r} (a number, [x, y, z] or a preset name)") from None
    return tuple(value) if isinstance(value, list) else value


def _negate(field: str, value):
    if isinstance(value, tuple) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        return tuple(-x for x in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return -value
    raise ValueError(f"{field}: a negative delta needs a number or [x, y, z], got {value!r}")


def _from_text(text: str) -> Edit:
    ops = []
    for part in re.split(r"[;\n]", text):
        if not part.strip():
            continue
        m = _STATEMENT.match(part)
        if m is None:
            raise ValueError(f"edit: cannot read {part.strip()!r}; expected '<field> (=|+=|-=|*=) <value>', "
                             "e.g. 'age += 20'")
        field = _qualify(m.group(1))
        value = _parse_value(field, m.group(3))
        symbol = m.group(2)
        if symbol == "-=":
            value = _negate(field, value)
        ops.append(EditOp(field, {"=": "set", "+=": "add", "-=": "add", "*=": "mul"}[symbol], value))
    return Edit(tuple(ops))


def _from_dict(doc: Mapping) -> Edit:
    ops = []
    for section, entries in check_mapping("edit", doc).items():
        if section in ("texture_seed",):
            ops.append(EditOp("texture_seed", "set", entries))
            continue
        if section not in _SECTIONS:
            raise ValueError(f"{section}: not an editable section{C.suggest(str(section), _SECTIONS)}")
        for name, value in check_mapping(section, entries).items():
            field = f"{section}.{name}"
            if isinstance(value, str) and value[:1] in "+-*=" and not (section == "lighting" and name == "preset"):
                op = {"+": "add", "-": "add", "*": "mul", "=": "set"}[value[0]]
                parsed = _parse_value(field, value[1:])
                if value[0] == "-":
                    parsed = _negate(field, parsed)
                ops.append(EditOp(field, op, parsed))
            else:
                ops.append(EditOp(field, "set", tuple(value) if isinstance(value, list) else value))
    return Edit(tuple(ops))


def parse_edit(edit: Edit | EditOp | Mapping | str) -> Edit:
    """An :class:`Edit` from an edit, one op, a delta document or the edit syntax (module docstring)."""
    if isinstance(edit, Edit):
        return edit
    if isinstance(edit, EditOp):
        return Edit((edit,))
    if isinstance(edit, str):
        return _from_text(edit)
    if isinstance(edit, Mapping):
        return _from_dict(edit)
    raise ValueError(f"edit: expected an Edit, a mapping or edit text, got {type(edit).__name__}")


def _range(field: str):
    section, _, name = field.partition(".")
    if _INDEXED.match(field):
        return C.FLAME_COEFFICIENT
    if section == "identity":
        return C.OPEN_IDENTITY_CONTROLS[name]
    if section == "expression":
        return C.EXPRESSION_WEIGHT
    if section == "texture":
        return TEXTURE_CONTROLS[name]
    return {"lighting.camera_yaw": C.CAMERA_YAW, "lighting.camera_pitch": C.CAMERA_PITCH}[field]


def apply_edit(spec: HeadSpec, edit, *, clamp: bool = False) -> HeadSpec:
    """Apply ``edit`` (anything :func:`parse_edit` reads) to ``spec`` and return the new spec.

    An age edit moves ``texture.skin_age`` by the same amount unless the edit sets ``skin_age`` itself.
    The result records ``origin = {door: "edit", parents: [spec.hash], edit: <edit syntax>}``.

    Args:
        clamp: clamp results into their ranges instead of raising (useful for text edits).
    Raises:
        ValueError: naming the field — unknown field, a field of the other model kind, or a result out of
            range (``identity.age: 100 is out of range [18, 90] years (after identity.age += 20)``).
    """
    if not isinstance(spec, HeadSpec):
        raise ValueError(f"spec: expected a HeadSpec, got {type(spec).__name__}")
    edit = parse_edit(edit)
    doc = spec.to_dict()
    kind = spec.model_kind
    shape = list(spec.shape)
    coefficients = list(spec.expression_coefficients)
    old_age = doc["identity"].get("age")
    skin_age_set = any(op.field == "texture.skin_age" for op in edit.ops)
    for op in edit.ops:
        section, _, name = op.field.partition(".")
        indexed = _INDEXED.match(op.field)
        if kind == "flame" and section in ("identity", "expression") and not indexed:
            raise ValueError(f"{op.field}: FLAME specs have no named {section} controls; edit "
                             f"{'identity.shape[i]' if section == 'identity' else 'expression.coefficients[i]'}")
        if kind == "open" and indexed:
            raise ValueError(f"{op.field}: the open head has named controls, not coefficients")
        if op.field == "lighting.preset":
            doc["lighting"] = {**doc["lighting"], "preset": op.value}
            doc["lighting"].pop("sh", None)
            continue
        if op.field == "texture_seed":
            doc["texture_seed"] = op.value
            continue
        if section == "pose":
            current = doc["pose"].get(name, [0.0, 0.0, 0.0])
            new = list(op.value) if op.op == "set" else [a + b for a, b in zip(current, op.value)]
            if clamp:
                new = [r.clamp(v) for r, v in zip(C.POSE_RANGES[name], new)]
            doc["pose"][name] = new
            continue
        if indexed:
            values = shape if indexed.group(1) == "identity.shape" else coefficients
            i = int(indexed.group(2))
            values.extend([0.0] * (i + 1 - len(values)))
            current = values[i]
        elif section == "lighting":
            current = doc["lighting"][name]
        else:
            defaults = (C.OPEN_IDENTITY_CONTROLS if section == "identity" else TEXTURE_CONTROLS
                        if section == "texture" else {n: C.EXPRESSION_WEIGHT for n in C.ARKIT_52})
            current = doc[section].get(name, defaults[name].default)
        new = op.value if op.op == "set" else current + op.value if op.op == "add" else current * op.value
        rng = _range(op.field)
        if clamp:
            new = rng.clamp(new)
        else:
            try:
                rng.check(op.field, new)
            except ValueError as exc:
                raise ValueError(f"{exc} (after {op.to_text()})") from None
        if indexed:
            values[i] = new
        elif section == "lighting":
            doc["lighting"][name] = new
        else:
            doc[section][name] = new
    if kind == "open" and not skin_age_set and doc["identity"].get("age") != old_age:
        doc["texture"]["skin_age"] = TEXTURE_CONTROLS["skin_age"].clamp(
            doc["texture"]["skin_age"] + doc["identity"]["age"] - old_age)
    if kind == "flame":
        doc["identity"] = {"shape": shape}
        doc["expression"] = {"coefficients": coefficients}
    doc["origin"] = {"door": "edit", "parents": [spec.hash], "edit": edit.to_text()}
    return HeadSpec.from_dict(doc)


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def interpolate(a: HeadSpec, b: HeadSpec, t: float) -> HeadSpec:
    """The spec at ``t ∈ [0, 1]`` between ``a`` (t = 0) and ``b`` (t = 1), linear in every continuous value.

    Identity, expression, FLAME coefficients (shorter lists padded with 0), pose (axis-angle components in
    degrees), texture controls, texture latent (padded with 0, the latent mean), camera angles and SH
    coefficients (when both have them) are interpolated; discrete fields — ``seed``, ``texture_seed``,
    lighting preset — are taken from ``a`` so a sequence has no jumps. Origin:
    ``{door: "interpolate", parents: [a.hash, b.hash], t}``.
    """
    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, HeadSpec):
            raise ValueError(f"{name}: expected a HeadSpec, got {type(s).__name__}")
    if a.model != b.model:
        raise ValueError(f"b.model: {b.model!r} differs from a.model {a.model!r}; interpolate specs of one model")
    t = _number("t", t)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t: {t:g} is out of range [0, 1]")
    da, db = a.to_dict(), b.to_dict()

    def mix_named(x: dict, y: dict, table) -> dict:
        return {k: _lerp(x.get(k, table[k].default), y.get(k, table[k].default), t) for k in {**x, **y}}

    def mix_list(x: list, y: list) -> list:
        n = max(len(x), len(y))
        x, y = x + [0.0] * (n - len(x)), y + [0.0] * (n - len(y))
        return [_lerp(p, q, t) for p, q in zip(x, y)]

    out = dict(da)
    if a.model_kind == "open":
        out["identity"] = mix_named(da["identity"], db["identity"], C.OPEN_IDENTITY_CONTROLS)
        out["expression"] = mix_named(da["expression"], db["expression"], {n: C.EXPRESSION_WEIGHT for n in C.ARKIT_52})
    else:
        out["identity"] = {"shape": mix_list(da["identity"]["shape"], db["identity"]["shape"])}
        out["expression"] = {"coefficients": mix_list(da["expression"]["coefficients"],
                                                      db["expression"]["coefficients"])}
    out["pose"] = {j: mix_list(da["pose"].get(j, [0.0] * 3), db["pose"].get(j, [0.0] * 3))
                   for j in {**da["pose"], **db["pose"]}}
    out["texture"] = mix_named(da["texture"], db["texture"], TEXTURE_CONTROLS)
    out["texture_latent"] = mix_list(da["texture_latent"], db["texture_latent"])
    light = dict(da["lighting"])
    light["camera_yaw"] = _lerp(da["lighting"]["camera_yaw"], db["lighting"]["camera_yaw"], t)
    light["camera_pitch"] = _lerp(da["lighting"]["camera_pitch"], db["lighting"]["camera_pitch"], t)
    if "sh" in da["lighting"] and "sh" in db["lighting"]:
        light["sh"] = [mix_list(p, q) for p, q in zip(da["lighting"]["sh"], db["lighting"]["sh"])]
    out["lighting"] = light
    out["origin"] = {"door": "interpolate", "parents": [a.hash, b.hash], "t": t}
    return HeadSpec.from_dict(out)


def interpolate_specs(a: HeadSpec, b: HeadSpec, steps: int) -> list[HeadSpec]:
    """``steps`` specs from ``a`` to ``b`` inclusive (``t = linspace(0, 1, steps)``)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps: expected an integer ≥ 2, got {steps!r}")
    return [interpolate(a, b, float(t)) for t in np.linspace(0.0, 1.0, steps)]


def morph_latents(z0, z1, steps: int, model=C.OPEN_INFO, *, method: str = "slerp", texture_seed: int = 0,
                  **options) -> list[HeadSpec]:
    """``steps`` specs along the latent path ``z0 → z1`` (:func:`~assetgen.control.latent.interpolate_latents`)
    with one fixed ``texture_seed``; ``options`` go to :func:`~assetgen.control.latent.specs_from_latents`."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps: expected an integer ≥ 2, got {steps!r}")
    z = interpolate_latents(z0, z1, np.linspace(0.0, 1.0, steps), method=method)
    return specs_from_latents(z, model, texture_seeds=[texture_seed] * steps, **options)
