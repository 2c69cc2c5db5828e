"""``GenerateCrowdRequest`` → N validated head specs (synchronous, pure): the distribution rules of the proto.

Head ``i`` is the head of seed ``seed + i`` (ψ as requested); the rules then draw, from a generator seeded by
``(seed, i)``: its sex (female with probability ``female_fraction`` when ``has_sex_ratio``: ``sex`` 0.15, male
0.85), its age (uniform in ``[min_age_years, max_age_years]`` when ``max_age_years > 0``) and its lighting preset
(uniform over ``lighting_presets`` when given). ``count`` is capped at :data:`MAX_CROWD_SIZE`
(``RESOURCE_EXHAUSTED`` beyond). ``export.animations`` puts the same clips on every head (random presets drawn
from ``seed``, as the pack CLI's ``--seed S --count N --animation …``).

Head ``i`` depends only on the request and ``i``, never on which other heads were built before or beside it, so
the server may build several at once and stream them in completion order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from assetgen import control
from assetgen.control.spec import MAX_SEED
from assetgen.pipeline import PipelineOptions
from assetgen.service.requests import (GenerateSettings, LimitError, ParsedRequest, RequestError, _blender,
                                       _check_model, _export_options, _scalar, export_animations, parsed_needs_fbx)
from exporters.bundle import BundleOptions

__all__ = ["FEMALE_SEX", "MALE_SEX", "MAX_CROWD_SIZE", "CrowdPlan", "crowd_spec", "parse_crowd_request"]

MAX_CROWD_SIZE = 64
"""Most heads one GenerateCrowd request may ask for (``Limits.max_crowd_size``)."""
FEMALE_SEX, MALE_SEX = 0.15, 0.85
MIN_AGE, MAX_AGE = 18.0, 90.0


@dataclass(frozen=True)
class CrowdPlan:
    """A validated crowd request; :func:`crowd_spec` resolves head ``i``."""

    seed: int
    count: int
    model: Any
    psi: float
    female_fraction: float | None
    ages: tuple[float, float] | None
    lighting_presets: tuple[str, ...]
    pipeline: PipelineOptions
    bundle: BundleOptions
    blender: str | None = None
    animations: tuple = ()  # export.animations: the same clips on every head (drawn from ``seed``)


def parse_crowd_request(req, settings: GenerateSettings) -> CrowdPlan:
    """Validate a ``GenerateCrowdRequest``: RequestError for every bad field, then LimitError for caps."""
    violations: list[tuple[str, str]] = []
    limits: list[str] = []
    count = int(req.count)
    if count < 1:
        violations.append(("count", "count: expected at least 1 head"))
    elif count > MAX_CROWD_SIZE:
        limits.append(f"count: {count} heads is above the cap of {MAX_CROWD_SIZE} per request "
                      "(Limits.max_crowd_size); split the crowd over several requests")
    seed = int(req.seed)
    if seed + max(count, 1) - 1 > MAX_SEED:
        violations.append(("seed", f"seed: seed + count - 1 must be at most {MAX_SEED}"))
    model = _check_model(req.model, violations, settings)
    pipe, bundle, limit = _export_options(req, settings, violations)
    if limit:
        limits.append(limit)
    psi = _scalar(req, "psi", 0.0, 2.0, 1.0, violations)
    clips, clip_limit = export_animations(req.export, model, seed, violations)
    if clip_limit:
        limits.append(clip_limit)
    rules = req.rules
    female = None
    if rules.has_sex_ratio:
        f = float(rules.female_fraction)
        if not (math.isfinite(f) and 0.0 <= f <= 1.0):
            violations.append(("rules.female_fraction", f"female_fraction: {f!r} is out of range [0, 1]"))
        female = f
    elif rules.female_fraction:
        violations.append(("rules.has_sex_ratio", "has_sex_ratio: set it to true to apply female_fraction"))
    ages = None
    lo, hi = float(rules.min_age_years), float(rules.max_age_years)
    if lo or hi:
        if not (math.isfinite(lo) and MIN_AGE <= lo <= MAX_AGE):
            violations.append(("rules.min_age_years", f"min_age_years: {lo!r} is out of range [18, 90] years"))
        if not (math.isfinite(hi) and MIN_AGE <= hi <= MAX_AGE):
            violations.append(("rules.max_age_years", f"max_age_years: {hi!r} is out of range [18, 90] years"))
        elif math.isfinite(lo) and lo > hi:
            violations.append(("rules.max_age_years", f"max_age_years: {hi:g} is below min_age_years {lo:g}"))
        ages = (lo, hi)
    presets = tuple(rules.lighting_presets)
    for i, name in enumerate(presets):
        if name not in control.LIGHTING_PRESETS:
            violations.append((f"rules.lighting_presets[{i}]", f"lighting_presets: unknown preset {name[:60]!r}; "
                                                               f"known: {list(control.LIGHTING_PRESETS)}"))
    if model is not None and control.model_id(model) != "open" and (female is not None or ages):
        violations.append(("rules", "rules: sex and age rules need the open head (FLAME has no such controls)"))
    if violations:
        raise RequestError(violations)
    if limits:
        raise LimitError("; ".join(limits))
    blender = _blender(settings) if parsed_needs_fbx(bundle) else None
    return CrowdPlan(seed=seed, count=count, model=model, psi=psi, female_fraction=female, ages=ages,
                     lighting_presets=presets, pipeline=pipe, bundle=bundle, blender=blender, animations=clips)


def crowd_spec(plan: CrowdPlan, i: int) -> control.HeadSpec:
    """The spec of head ``i`` of the crowd (deterministic in ``(seed, i)`` and the rules)."""
    spec = control.spec_from_seed(plan.seed + i, plan.model, psi=plan.psi)
    rng = np.random.default_rng([plan.seed & 0xFFFFFFFF, plan.seed >> 32, i])
    edits = []
    if plan.female_fraction is not None:
        edits.append(f"sex = {FEMALE_SEX if rng.random() < plan.female_fraction else MALE_SEX}")
    if plan.ages:
        edits.append(f"age = {round(float(rng.uniform(*plan.ages)), 2)}")
    if plan.lighting_presets:
        edits.append(f'lighting.preset = "{plan.lighting_presets[int(rng.integers(len(plan.lighting_presets)))]}"')
    return control.apply_edit(spec, "; ".join(edits), clamp=True) if edits else spec


def crowd_request(plan: CrowdPlan, i: int) -> ParsedRequest:
    """Head ``i`` as a :class:`ParsedRequest` for :func:`~assetgen.service.requests.build_bundle`."""
    return ParsedRequest(spec=crowd_spec(plan, i), pipeline=plan.pipeline, bundle=plan.bundle, model=plan.model,
                         blender=plan.blender, animations=plan.animations)
