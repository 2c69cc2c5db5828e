"""Scorer of the text door on an evaluation set (``tests/data/text_eval.yaml``): every prompt's head is
*measured* and compared with the reference head (the seed's head without the prompt, or the edit's base).

Attributes an entry may check: mesh measurements (:data:`~assetgen.control.measure.MEASURES`, mm, on the
generated mesh), ``skin_luminance`` (on the generated albedo, :func:`~assetgen.control.measure.skin_luminance`),
and spec values — ``age`` (open: ``identity.age``; FLAME: ``texture.skin_age``), ``sex``, ``weight``,
``muscle``, local changes by name (``nose-hump``) and texture controls. ``expect`` holds ops
(``>``, ``<`` beyond a tolerance; ``>=``, ``<=``, ``=`` within it), ``equals`` absolute values (± 0.01).

A prompt counts as correct when every check passes (and, for ``error: true``, when the door raises
``ValueError`` naming ``text``). :func:`evaluate` returns the prompt-level score, the check-level score, the
breakdown per attribute, per model and per split, the failures, and the per-prompt latencies.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assetgen.control.latent import spec_from_seed
from assetgen.control.measure import MEASURES, measure_specs, skin_luminance
from assetgen.control.spec import HeadSpec
from assetgen.control.text import edit_from_text, spec_from_text

__all__ = ["EvalReport", "load_eval_set", "evaluate", "DEFAULT_EVAL_SET"]

DEFAULT_EVAL_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "text_eval.yaml"
_TOL_MESH, _TOL_SPEC, _TOL_LUM, _TOL_EQUAL = 0.05, 1e-6, 1e-4, 0.01


@dataclass
class EvalReport:
    """Scores: ``score`` (prompts fully correct / prompts), ``check_score`` (checks passed / checks),
    ``per_attribute`` / ``per_model`` / ``per_split``: name → (passed, total); ``failures``: readable lines;
    ``latencies_ms``: the text door's time per prompt (encoder loaded)."""

    score: float
    check_score: float
    prompts: int
    per_attribute: dict = field(default_factory=dict)
    per_model: dict = field(default_factory=dict)
    per_split: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    latencies_ms: list = field(default_factory=list)


def load_eval_set(path: str | Path = DEFAULT_EVAL_SET) -> list[dict]:
    """The entries of an evaluation YAML file (a list of mappings with at least ``prompt`` and ``model``)."""
    import yaml

    entries = yaml.safe_load(Path(path).read_text())
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "prompt" in e for e in entries):
        raise ValueError(f"path: {path} is not a list of entries with a 'prompt'")
    return entries


def _spec_value(spec: HeadSpec, name: str) -> float:
    if name == "age":
        return float(spec.identity["age"]) if spec.model_kind == "open" else float(spec.texture["skin_age"])
    if name in spec.texture:
        return float(spec.texture[name])
    if spec.model_kind == "open":
        from assetgen.control.controls import OPEN_IDENTITY_CONTROLS

        if name in OPEN_IDENTITY_CONTROLS:
            return float(spec.identity.get(name, OPEN_IDENTITY_CONTROLS[name].default))
    raise KeyError(name)


def _values(spec: HeadSpec, model, names: set[str]) -> dict[str, float]:
    out = {}
    mesh = [n for n in names if n in MEASURES]
    if mesh:
        m = measure_specs([spec], model)
        out.update({n: float(m[n][0]) for n in mesh})
    for n in names - set(mesh):
        out[n] = skin_luminance(spec, model) if n == "skin_luminance" else _spec_value(spec, n)
    return out


def _check(op: str, new: float, ref: float, tol: float) -> bool:
    d = new - ref
    return {">": d > tol, "<": d < -tol, ">=": d >= -tol, "<=": d <= tol, "=": abs(d) <= tol}[op]


def evaluate(entries: list[dict], models: dict, *, splits: tuple[str, ...] | None = None) -> EvalReport:
    """Run and score ``entries``.

    Args:
        entries: from :func:`load_eval_set`.
        models: ``"open"`` / ``"flame"`` → loaded head model (entries of a missing model are skipped).
        splits: only these splits (default: all).
    """
    per_attr: dict = defaultdict(lambda: [0, 0])
    per_model: dict = defaultdict(lambda: [0, 0])
    per_split: dict = defaultdict(lambda: [0, 0])
    failures, latencies = [], []
    passed_checks = total_checks = correct = count = 0
    for i, e in enumerate(entries):
        kind, split = e.get("model", "open"), e.get("split", "tune")
        if kind not in models or (splits is not None and split not in splits):
            continue
        model = models[kind]
        model_arg = "open" if kind == "open" else model
        seed = int(e.get("seed", i))
        count += 1
        ok = True
        try:
            if e.get("edit"):
                base = spec_from_text(e["base"], model_arg, seed=seed).spec if e.get("base") else spec_from_seed(
                    seed, model if kind != "open" else "open")
                t = time.perf_counter()
                result = edit_from_text(e["prompt"], base, model=model_arg)
            else:
                from assetgen.control.controls import OPEN_INFO, model_info

                base = spec_from_seed(seed, OPEN_INFO if kind == "open" else model_info(model))
                t = time.perf_counter()
                result = spec_from_text(e["prompt"], model_arg, seed=seed)
            latencies.append(1000.0 * (time.perf_counter() - t))
        except ValueError as exc:
            if e.get("error") and str(exc).startswith("text:"):
                correct += 1
                per_model[kind][0] += 1
                per_split[split][0] += 1
            else:
                failures.append(f"{e['prompt']!r} ({kind}): raised {exc}")
            per_model[kind][1] += 1
            per_split[split][1] += 1
            continue
        if e.get("error"):
            ok = False
            failures.append(f"{e['prompt']!r} ({kind}): expected an error, understood {result.understood}")
        expect, equals = e.get("expect", {}) or {}, e.get("equals", {}) or {}
        names = set(expect) | set(equals)
        new = _values(result.spec, model, names)
        ref = _values(base, model, set(expect))
        for name, op in expect.items():
            tol = _TOL_MESH if name in MEASURES else _TOL_LUM if name == "skin_luminance" else _TOL_SPEC
            good = _check(op, new[name], ref[name], tol)
            per_attr[name][0] += good
            per_attr[name][1] += 1
            passed_checks += good
            total_checks += 1
            if not good:
                ok = False
                failures.append(f"{e['prompt']!r} ({kind}): {name} {new[name]:.4g} vs reference {ref[name]:.4g}, "
                                f"expected {op}; understood {[(p.text, p.attribute, p.direction) for p in result.understood]}")
        for name, value in equals.items():
            good = abs(new[name] - float(value)) <= _TOL_EQUAL
            per_attr[name][0] += good
            per_attr[name][1] += 1
            passed_checks += good
            total_checks += 1
            if not good:
                ok = False
                failures.append(f"{e['prompt']!r} ({kind}): {name} = {new[name]:.4g}, expected {value}")
        correct += ok
        per_model[kind][0] += ok
        per_model[kind][1] += 1
        per_split[split][0] += ok
        per_split[split][1] += 1
    return EvalReport(score=correct / max(count, 1), check_score=passed_checks / max(total_checks, 1),
                      prompts=count, per_attribute={k: tuple(v) for k, v in sorted(per_attr.items())},
                      per_model={k: tuple(v) for k, v in per_model.items()},
                      per_split={k: tuple(v) for k, v in per_split.items()}, failures=failures,
                      latencies_ms=latencies)


def median_ms(report: EvalReport) -> float:
    """Median per-prompt latency of ``report`` in milliseconds."""
    return float(np.median(report.latencies_ms)) if report.latencies_ms else float("nan")
