"""The one pipeline every front door calls: ``HeadSpec`` → mesh → textures → ``HeadAsset`` (+ preview).

DESIGN.md, "Data flow": the server, the exporters' CLI and crowd jobs all build a :class:`HeadSpec` and call
:func:`generate_head`; nothing re-implements a step. Everything here is deterministic on the CPU: the same
spec, options and versions give the same meshes, maps and (through the exporters) byte-identical files.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

import assetgen
from assetgen import control, heads
from assetgen.asset import HeadAsset, build_head_asset
from assetgen.asset.build import MAX_LODS
from assetgen.control import HeadSpec, ModelInputs
from assetgen.textures import TextureSet, generate_textures

__all__ = ["MAX_TEXTURE_SIZE", "GeneratedHead", "HeadSurface", "PipelineOptions", "generate_head", "head_surface",
           "load_model", "render_preview"]

MAX_TEXTURE_SIZE = 2048
"""Largest texture size (texels a side) the pipeline produces; sizes must be powers of two."""

TextureFn = Callable[..., TextureSet]
"""Makes one head's texture set, called like :func:`~assetgen.textures.generate_textures`."""

_MODELS: dict[str, heads.HeadModel] = {}
_MODELS_LOCK = threading.Lock()


@dataclass(frozen=True)
class PipelineOptions:
    """How to build a head (not what head: that is the :class:`HeadSpec`).

    Attributes:
        texture_size: texels a side of every map, a power of two in 64..:data:`MAX_TEXTURE_SIZE`.
        lods: levels of detail, 1..``MAX_LODS`` (each halves the triangles).
        preview_size: pixels a side of the preview portrait; 0 for none.
        device: where to compute (``"cpu"``, ``"cuda"``); exported files are byte-identical only on the CPU.
    """

    texture_size: int = 1024
    lods: int = 3
    preview_size: int = 512
    device: str = "cpu"

    def __post_init__(self) -> None:
        size = self.texture_size
        if (isinstance(size, bool) or not isinstance(size, int) or size < 64 or size > MAX_TEXTURE_SIZE
                or size & (size - 1)):
            raise ValueError(f"texture_size: expected a power of two in [64, {MAX_TEXTURE_SIZE}], got {size!r}")
        if isinstance(self.lods, bool) or not isinstance(self.lods, int) or not 1 <= self.lods <= MAX_LODS:
            raise ValueError(f"lods: expected an integer in [1, {MAX_LODS}], got {self.lods!r}")
        if (isinstance(self.preview_size, bool) or not isinstance(self.preview_size, int)
                or not 0 <= self.preview_size <= 2048):
            raise ValueError(f"preview_size: expected an integer in [0, 2048] pixels, got {self.preview_size!r}")


@dataclass(frozen=True, eq=False)
class GeneratedHead:
    """One generated head, everything the exporters need.

    Attributes:
        spec: the resolved request.
        inputs: the model inputs it resolved to.
        vertices: ``[V, 3]`` the head with the spec's identity, expression and pose (meters), for previews.
        textures: the PBR maps.
        asset: the game-ready asset (neutral pose, identity applied; the spec's expression is the meshes'
            default morph weights).
        preview: ``[H, W, 4]`` float RGBA portrait in [0, 1] (sRGB), or ``None``.
        provenance: what produced it (also in ``asset.provenance``).
    """

    spec: HeadSpec
    inputs: ModelInputs
    vertices: torch.Tensor
    textures: TextureSet
    asset: HeadAsset
    preview: Any = None
    provenance: dict[str, Any] = field(default_factory=dict)


def load_model(source: str = "open") -> heads.HeadModel:
    """The head model for ``source`` (``"open"`` or a FLAME path), loaded once per process (CPU, float32)."""
    key = str(source) if source == "open" else str(Path(source).resolve())
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = _MODELS[key] = heads.load(source)
    return model


def provenance_of(spec: HeadSpec, model: heads.HeadModel, textures: TextureSet,
                  options: PipelineOptions) -> dict[str, Any]:
    """The licensing and reproducibility record of one head (JSON-serialisable)."""
    origin = spec.origin
    return {
        "project": {"name": "assetgen", "version": assetgen.__version__},
        "head_model": {"id": spec.model, "source": model.source, "license": model.license},
        "generators": {
            "latent_mapper": ({"name": origin.mapper, "version": origin.mapper_version}
                              if origin.mapper else None),
            "textures": {k: textures.provenance.get(k) for k in ("generator", "version") if k in textures.provenance},
            "weights": None,  # procedural generators: no learned weights yet
        },
        "seed": spec.seed,
        "texture_seed": spec.texture_seed,
        "spec_hash": spec.hash,
        "spec": spec.to_dict(),
        "options": {"texture_size": options.texture_size, "lods": options.lods},
    }


@dataclass(frozen=True, eq=False)
class HeadSurface:
    """A head's mesh and maps without the game asset (previews, quick looks, training data).

    Attributes:
        model: the head model. inputs: the spec's model inputs.
        vertices: ``[V, 3]`` with the spec's identity, expression and pose (meters).
        textures: the PBR maps.
    """

    model: heads.HeadModel
    inputs: ModelInputs
    vertices: torch.Tensor
    textures: TextureSet


def head_surface(spec: HeadSpec, *, model: heads.HeadModel | None = None, texture_size: int = 1024,
                 device: str = "cpu", texture_fn: TextureFn | None = None) -> HeadSurface:
    """Resolve ``spec`` and build its posed mesh and texture set (the first half of :func:`generate_head`).

    ``texture_fn``: what makes the texture set, called as :func:`~assetgen.textures.generate_textures`
    (``texture_fn(model, controls=…, seed=…, size=…, shape=…)``); ``None`` is ``generate_textures``. The
    server passes a :class:`assetgen.service.batching.TextureBatcher`'s, which makes the same maps in a batch
    with concurrent requests.
    """
    if not isinstance(spec, HeadSpec):
        raise ValueError(f"spec: expected a HeadSpec, got {type(spec).__name__}")
    if model is None:
        if spec.model != control.OPEN_INFO.id:
            raise ValueError(f"model: spec.model is {spec.model!r}; pass the loaded FLAME model it names")
        model = load_model("open")
    if model.device != torch.device(device):
        model = model.to(device)
    inputs = control.resolve(spec, model)
    with torch.no_grad():
        out = model(**inputs.forward_kwargs())
    controls = {k: float(v) for k, v in inputs.texture.items()}
    make_textures = generate_textures if texture_fn is None else texture_fn
    textures = make_textures(model, controls=controls, seed=int(inputs.texture_seed), size=texture_size,
                             shape=inputs.shape)
    return HeadSurface(model=model, inputs=inputs, vertices=out.vertices[0].detach().cpu(), textures=textures)


def generate_head(spec: HeadSpec, *, model: heads.HeadModel | None = None,
                  options: PipelineOptions = PipelineOptions(), animations: Sequence[Any] = (),
                  texture_fn: TextureFn | None = None) -> GeneratedHead:
    """Build one head from its spec.

    ``model`` must be the spec's model (``spec.model`` is checked against it); ``None`` loads the built-in
    open head for ``"open"`` specs. ``animations``: clips for the asset, :class:`assetgen.animation.Sequence`
    or :class:`assetgen.asset.Animation` items (see :func:`assetgen.animation.attach_animations`); on a FLAME
    model, ARKit sequences go through its ARKit mapping (recorded in the provenance). Raises
    ``ValueError`` naming the field for anything inconsistent. ``texture_fn``: see :func:`head_surface`.
    """
    surface = head_surface(spec, model=model, texture_size=options.texture_size, device=options.device,
                           texture_fn=texture_fn)
    model, textures = surface.model, surface.textures
    provenance = provenance_of(spec, model, textures, options)
    if animations:
        from assetgen.animation import Sequence as _Seq
        from assetgen.animation.retarget import arkit_mapping, for_model

        mapped = any(isinstance(a, _Seq) and a.kind == "arkit" for a in animations) and model.model_id == "flame"
        animations = [for_model(a, model) if isinstance(a, _Seq) else a for a in animations]
        if mapped:  # which ARKit → FLAME map turned the clips' blendshape weights into coefficients
            card = arkit_mapping(model).card
            provenance = {**provenance, "arkit_mapping": {k: card[k] for k in ("fitter_version", "correspondence",
                                                                                "points", "mean_explained")}}
    asset = build_head_asset(model, surface.inputs.shape, textures, lods=options.lods, provenance=provenance,
                             name="head", expression=surface.inputs.expression)
    if animations:
        from assetgen.animation import attach_animations

        asset = attach_animations(asset, animations)
    preview = None
    if options.preview_size:
        preview = render_preview(model, surface.vertices, textures, spec, size=options.preview_size)
    return GeneratedHead(spec=spec, inputs=surface.inputs, vertices=surface.vertices, textures=textures,
                         asset=asset, preview=preview, provenance=provenance)


def render_preview(model: heads.HeadModel, vertices: torch.Tensor, textures: TextureSet, spec: HeadSpec, *,
                   size: int = 512, yaw_deg: float | None = None) -> torch.Tensor:
    """``[size, size, 4]`` RGBA portrait (sRGB, straight alpha, in [0, 1]) lit by the spec's lighting."""
    from assetgen.render import render_portrait

    light = spec.lighting
    lighting = light.preset if light.preset is not None else [list(row) for row in light.sh]
    res = render_portrait(model, vertices.to(model.device), textures,
                          yaw_deg=light.camera_yaw if yaw_deg is None else yaw_deg,
                          pitch_deg=light.camera_pitch, size=size, lighting=lighting, supersample=2,
                          outputs=("image", "alpha"))
    return torch.cat([res.image[0], res.alpha[0]], dim=-1).cpu()
