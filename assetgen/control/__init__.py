"""Front doors → :class:`HeadSpec` → model inputs (DESIGN.md, "Data flow").

Public API::

    from assetgen import control
    spec = control.spec_from_seed(42, psi=0.7)                          # latent door (one head)
    specs = control.specs_from_latents(Z)                               # Z [N, 512] → N specs (batched)
    spec = control.spec_from_params({"identity": {"age": 60}, "texture": {"skin_tone": 4}})   # params door
    older = control.apply_edit(spec, "age += 20; mouthSmileLeft += 0.3")                      # edits
    mid = control.interpolate(spec, older, 0.5)
    r = control.spec_from_text("a very old man with a wide nose, smiling", seed=3)   # text door
    r.spec, r.understood, r.ignored; control.edit_from_text("make him older", r.spec)
    inputs = control.resolve(spec, model)                               # → ModelInputs for HeadModel.forward
    out = model(**inputs.forward_kwargs())
    spec.to_json(), spec.hash, control.HeadSpec.from_json(text)        # provenance

Modules: :mod:`~assetgen.control.spec` (HeadSpec), :mod:`~assetgen.control.controls` (named controls, ranges,
model ids), :mod:`~assetgen.control.texture_controls` (the texture-control table), :mod:`~assetgen.control.latent`
(seeds, the LatentMapper interface, batched mapping), :mod:`~assetgen.control.procedural` (the default mapper),
:mod:`~assetgen.control.params` (JSON/YAML/dict), :mod:`~assetgen.control.edits` (edits, interpolation),
:mod:`~assetgen.control.resolve` (spec → model inputs), :mod:`~assetgen.control.text` (text door; vocabulary in
:mod:`~assetgen.control.text_vocab`, encoder in :mod:`~assetgen.control.text_encoder`, measured directions in
:mod:`~assetgen.control.directions` from :mod:`~assetgen.control.measure`).
"""

from __future__ import annotations

from assetgen.control.controls import (
    ARKIT_52,
    LIGHTING_PRESETS,
    OPEN_IDENTITY_CONTROLS,
    OPEN_INFO,
    OPEN_LOCAL_CHANGES,
    OPEN_PHENOTYPES,
    POSE_JOINTS,
    ModelInfo,
    model_id,
    model_info,
)
from assetgen.control.edits import Edit, EditOp, apply_edit, interpolate, interpolate_specs, morph_latents, parse_edit
from assetgen.control.latent import (
    LATENT_DIM,
    TEXTURE_LATENT_DIM,
    LatentMapper,
    MappedBatch,
    default_mapper,
    interpolate_latents,
    latent_from_seed,
    latents_from_seeds,
    spec_from_latent,
    spec_from_seed,
    specs_from_latents,
)
from assetgen.control.params import describe_controls, load_params, parse_params_text, spec_from_params
from assetgen.control.procedural import ProceduralMapper
from assetgen.control.resolve import ModelInputs, resolve, resolve_batch
from assetgen.control.spec import SPEC_VERSION, HeadSpec, Lighting, Origin
from assetgen.control.text import Phrase, TextResult, edit_from_text, spec_from_text
from assetgen.control.texture_controls import TEXTURE_CONTROLS, ControlRange, texture_defaults

__all__ = [
    "HeadSpec", "Lighting", "Origin", "SPEC_VERSION",
    "ControlRange", "TEXTURE_CONTROLS", "texture_defaults",
    "ARKIT_52", "LIGHTING_PRESETS", "OPEN_IDENTITY_CONTROLS", "OPEN_INFO", "OPEN_LOCAL_CHANGES", "OPEN_PHENOTYPES",
    "POSE_JOINTS", "ModelInfo", "model_id", "model_info",
    "LATENT_DIM", "TEXTURE_LATENT_DIM", "LatentMapper", "MappedBatch", "ProceduralMapper", "default_mapper",
    "latent_from_seed", "latents_from_seeds", "spec_from_latent", "spec_from_seed", "specs_from_latents",
    "interpolate_latents",
    "spec_from_params", "load_params", "parse_params_text", "describe_controls",
    "Edit", "EditOp", "parse_edit", "apply_edit", "interpolate", "interpolate_specs", "morph_latents",
    "ModelInputs", "resolve", "resolve_batch",
    "Phrase", "TextResult", "spec_from_text", "edit_from_text",
]
