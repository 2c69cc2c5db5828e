"""``GenerateAssetRequest`` → validated :class:`HeadSpec` + options → streamed bundle (synchronous, pure).

Everything here runs in a worker thread of the server. Every bad field raises :class:`RequestError` with one
``(field, description)`` pair per violation; the field is the request's field path (``latent.values``,
``export.texture_size``, ``params.identity.agee``) and the description passes the control module's message
through (it names the field too). The server turns a :class:`RequestError` into ``INVALID_ARGUMENT`` with
``google.rpc.BadRequest`` field violations.

``export.animations`` (with ``animation_fps``, ``animation_loop``) bakes preset clips into the asset through
:func:`assetgen.animation.clips.build_clips`, the function the pack CLI's ``--animation`` uses, so a request and
the matching ``python -m exporters.gltf --animation …`` command give byte-identical bundles.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from assetgen import control, heads
from assetgen.io import json_bytes
from assetgen.pipeline import MAX_TEXTURE_SIZE, PipelineOptions, generate_head
from exporters.bundle import BundleOptions, bundle_files, manifest

__all__ = ["CHUNK_BYTES", "MAX_FRAMES", "Bundle", "Cancelled", "GenerateSettings", "LimitError", "PreconditionError",
           "RequestError", "Unavailable", "build_bundle", "check_cancel", "chunk_file", "export_animations",
           "parse_generate_request", "ParsedRequest"]

CHUNK_BYTES = 1 << 20
"""Largest ``FileChunk.data`` (bytes): 1 MiB, well under gRPC's default 4 MiB message limit."""

MAX_FRAMES = 36_000
"""Most animation frames one request may produce (``Limits.max_frames``): 20 minutes at 30 fps."""

_MEDIA_TYPES = {".glb": "model/gltf-binary", ".png": "image/png", ".json": "application/json",
                ".fbx": "application/octet-stream"}
_DEFAULTS = PipelineOptions()


class RequestError(ValueError):
    """Bad request fields: ``violations`` is a list of ``(field path, description)``."""

    def __init__(self, violations: list[tuple[str, str]]):
        self.violations = list(violations)
        super().__init__("; ".join(f"{f}: {d}" if not d.startswith(f"{f}:") else d for f, d in violations))


class LimitError(ValueError):
    """A documented cap was exceeded (crowd size, texture size, cameras, ...): ``RESOURCE_EXHAUSTED``."""


class PreconditionError(RuntimeError):
    """The server lacks something the request needs (Blender for FBX): ``FAILED_PRECONDITION``."""


class Unavailable(ValueError):
    """A valid request for a feature a later slice brings (the neural renderer): ``UNIMPLEMENTED``."""


class Cancelled(Exception):
    """The call ended (client cancel, deadline): the work in progress stops at the next stage boundary."""


def check_cancel(cancel) -> None:
    """Raise :class:`Cancelled` when ``cancel`` (a ``threading.Event`` or ``None``) is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


@dataclass(frozen=True)
class GenerateSettings:
    """Server-side settings of GenerateAsset.

    Attributes:
        device: where the pipeline computes (``"cpu"`` or ``"cuda"``; files are byte-identical only on CPU).
        max_texture_size: largest accepted ``export.texture_size`` (texels a side, ≤ the pipeline's cap).
        chunk_bytes: largest file chunk (bytes), at most 1 MiB.
        fbx_available: whether FBX export may be requested at all (it also needs Blender: without it a request
            for fbx gets ``FAILED_PRECONDITION`` with the install hint).
        blender: the Blender executable (``None``: :func:`exporters.fbx.find_blender`'s search).
        models: served models by spec model id (``"open"`` is always served; FLAME ids from ``--flame``).
    """

    device: str = "cpu"
    max_texture_size: int = MAX_TEXTURE_SIZE
    chunk_bytes: int = CHUNK_BYTES
    fbx_available: bool = True
    blender: str | None = None
    models: Any = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedRequest:
    """A validated request: the resolved spec, pipeline and bundle options, the text report (text source)."""

    spec: control.HeadSpec
    pipeline: PipelineOptions
    bundle: BundleOptions
    understood: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    model: Any = None
    blender: str | None = None
    animations: tuple = ()  # clips baked into the asset (Sequence items): export.animations or Animate's sequence


@dataclass(frozen=True)
class Bundle:
    """One head's bundle: ``files`` (path → bytes, stream order, ``manifest.json`` last) and its manifest."""

    spec: control.HeadSpec
    files: dict[str, bytes]
    manifest: dict[str, Any]
    understood: list[str]
    ignored: list[str]

    def file_infos(self) -> list[tuple[str, int, str, str]]:
        """``(path, size in bytes, sha256 hex, media type)`` per file, in stream order."""
        out = []
        for path, data in self.files.items():
            ext = path[path.rfind("."):]
            out.append((path, len(data), hashlib.sha256(data).hexdigest(),
                        _MEDIA_TYPES.get(ext, "application/octet-stream")))
        return out


def _field_of(exc: Exception, default: str) -> str:
    """The field a control-module message names (``"identity.agee: unknown name"`` → ``identity.agee``)."""
    head = str(exc).split(":", 1)[0].strip()
    return head if head and " " not in head and len(head) < 120 else default


def _check_model(name: str, violations: list, settings: GenerateSettings | None = None,
                 field_name: str = "model") -> heads.HeadModel | None:
    if name in ("", "open"):
        from assetgen.pipeline import load_model

        return load_model("open")
    models = settings.models if settings is not None else {}
    if name in models:
        return models[name]
    served = ["open", *sorted(models)]
    violations.append((field_name, f"{field_name}: {name[:80]!r} is not served; this server has {served} (FLAME "
                                   "models are registered with server.py --flame PATH)"))
    return None


def _blender(settings: GenerateSettings) -> str:
    from exporters.fbx import find_blender

    try:
        return find_blender(settings.blender)
    except RuntimeError as exc:
        raise PreconditionError(f"formats: fbx needs Blender on the server: {exc}") from None


def _export_options(req, settings: GenerateSettings, violations: list) -> tuple[PipelineOptions, BundleOptions]:
    ex = req.export
    values = {"texture_size": ex.texture_size if ex.HasField("texture_size") else _DEFAULTS.texture_size,
              "lods": ex.lods if ex.HasField("lods") else _DEFAULTS.lods,
              "preview_size": ex.preview_size if ex.HasField("preview_size") else _DEFAULTS.preview_size}
    ok = {}
    for name, value in values.items():  # one PipelineOptions per field, so every bad field is reported
        try:
            PipelineOptions(**{name: value})
            ok[name] = value
        except ValueError as exc:
            violations.append((f"export.{name}", str(exc)))
    limit = None
    if "texture_size" in ok and ok["texture_size"] > settings.max_texture_size:
        limit = (f"export.texture_size: {ok['texture_size']} is above this server's cap of "
                 f"{settings.max_texture_size} texels (Limits.max_texture_size)")
    glb = fbx = False
    for i, fmt in enumerate(ex.formats):
        if fmt in (0, 1):
            glb = True
        elif fmt == 2:
            fbx = True
            if not settings.fbx_available:
                violations.append((f"export.formats[{i}]", "formats: fbx is not available in this server (it "
                                   "needs the Blender worker); request glb"))
        else:
            violations.append((f"export.formats[{i}]", f"formats: unknown format value {fmt}"))
    fmt_name = "both" if glb and fbx else ("fbx" if fbx else "glb")
    preset = {0: "unity", 1: "unity", 2: "unreal"}.get(ex.fbx_preset)
    if preset is None:
        violations.append(("export.fbx_preset", f"fbx_preset: unknown value {ex.fbx_preset}"))
        preset = "unity"
    level = ex.png_compress_level if ex.HasField("png_compress_level") else 1
    bundle = BundleOptions(format=fmt_name, fbx_preset=preset, png_compress_level=1)
    try:
        bundle = BundleOptions(format=fmt_name, fbx_preset=preset, png_compress_level=int(level))
    except ValueError as exc:
        violations.append(("export.png_compress_level", str(exc)))
    pipe = PipelineOptions(**{**{k: getattr(_DEFAULTS, k) for k in values}, **ok}, device=settings.device)
    return pipe, bundle, limit


def _frames_of(names: list[str], fps: float, loop: int) -> int:
    """Frames the preset clips ``names`` take at ``fps``, each played ``loop`` times (unknown names: 0)."""
    from assetgen.animation.presets import PRESETS

    return sum(int(math.floor(PRESETS[n].default_s * loop * fps + 1e-6)) + 2 for n in names if n in PRESETS)


def export_animations(ex, model, seed: int, violations: list) -> tuple[tuple, str | None]:
    """``(clips, limit message or None)`` of ``ExportOptions.animations`` (+ ``animation_fps``, ``animation_loop``):
    the same clips as the pack CLI's ``--animation --fps --loop --seed`` (:func:`assetgen.animation.clips.build_clips`).

    Bad fields are appended to ``violations`` (``export.animations[i]`` names the preset entry; the description
    lists the presets this model takes); more than :data:`MAX_FRAMES` frames in all is a limit (nothing is built).
    """
    from assetgen.animation import presets_for
    from assetgen.animation.clips import DEFAULT_FPS, ClipError, build_clips

    fps = float(ex.animation_fps) if ex.HasField("animation_fps") else None
    loop = int(ex.animation_loop) if ex.HasField("animation_loop") else None
    if not ex.animations:
        for name, value in (("animation_fps", fps), ("animation_loop", loop)):
            if value is not None:
                violations.append((f"export.{name}", f"{name}: only used with export.animations (the presets to "
                                                     "bake into the asset)"))
        return (), None
    names = [str(n).strip() for n in ex.animations]
    available = ", ".join(presets_for(model)) if model is not None else ""
    ok = True
    for i, name in enumerate(names):
        if not name or "," in name:
            ok = False
            violations.append((f"export.animations[{i}]", f"animations[{i}]: expected one preset name per entry, "
                                                          f"got {name[:80]!r}; available presets: {available}"))
    if model is None or not ok:
        return (), None
    fps_v = DEFAULT_FPS if fps is None else fps
    loop_v = 1 if loop is None else loop
    if math.isfinite(fps_v) and 1 <= fps_v <= 240 and 1 <= loop_v <= 1000:
        frames = _frames_of(names, fps_v, loop_v)
        if frames > MAX_FRAMES:
            return (), (f"export.animations: {frames} frames ({len(names)} clips at {fps_v:g} fps, each played "
                        f"{loop_v} times) is above the cap of {MAX_FRAMES} frames per request (Limits.max_frames)")
    try:
        return tuple(build_clips(names, model, fps=fps, loop=loop, seed=seed)), None
    except ClipError as exc:
        for option, message in exc.violations:
            name = {"fps": "animation_fps", "loop": "animation_loop"}.get(option,
                                                                           option.replace("presets", "animations"))
            violations.append((f"export.{name}", f"{name}: {message}"[:1500]))
    return (), None


def _animation_seed(req) -> int:
    """The seed of the random presets for a GenerateAsset source (as the CLI's ``--seed`` for that door)."""
    kind = req.WhichOneof("source")
    if kind == "seed":
        return int(req.seed)
    if kind == "text":
        return int(req.text_seed)
    if kind == "latent" and req.HasField("latent_seed"):
        return int(req.latent_seed)
    return 0


def _scalar(req, name: str, lo: float, hi: float, default: float, violations: list) -> float:
    if not req.HasField(name):
        return default
    value = float(getattr(req, name))
    if not (math.isfinite(value) and lo <= value <= hi):
        violations.append((name, f"{name}: {value!r} is out of range [{lo:g}, {hi:g}]"))
        return default
    return value


def _params_doc(p, violations: list) -> dict | None:
    try:
        doc = json.loads(p.json) if p.json.strip() else {}
    except json.JSONDecodeError as exc:
        violations.append(("params.json", f"json: not valid JSON ({exc.msg} at line {exc.lineno}, column "
                                          f"{exc.colno})"))
        return None
    if not isinstance(doc, dict):
        violations.append(("params.json", f"json: expected an object of sections, got {type(doc).__name__}"))
        return None
    for name, values, section, key in (("shape", p.shape, "identity", "shape"),
                                       ("expression_coefficients", p.expression_coefficients, "expression",
                                        "coefficients")):
        if len(values):
            sec = doc.get(section) or {}
            if not isinstance(sec, dict):
                violations.append(("params.json", f"{section}: expected an object, got {type(sec).__name__}"))
                return None
            doc[section] = {**sec, key: [float(v) for v in values]}
    return doc


def _spec_from_source(req, model, psi: float, psi_set: bool, scale: float, violations: list):
    """(spec, understood, ignored) or ``None`` after appending violations."""
    kind = req.WhichOneof("source")
    try:
        if kind is None:
            violations.append(("source", "source: set one of seed, latent, text, params, spec_json"))
        elif kind == "seed":
            return control.spec_from_seed(int(req.seed), model, psi=psi, expression_scale=scale), [], []
        elif kind == "latent":
            z = np.asarray(req.latent.values, dtype=np.float32).astype(np.float64)
            if z.shape[0] != control.LATENT_DIM:
                violations.append(("latent.values", f"latent: expected {control.LATENT_DIM} values, got "
                                                    f"{z.shape[0]}"))
                return None
            seed = int(req.latent_seed) if req.HasField("latent_seed") else None
            return control.spec_from_latent(z, model, psi=psi, expression_scale=scale, seed=seed), [], []
        elif kind == "text":
            base = control.spec_from_seed(int(req.text_seed), model, psi=psi) if psi_set else None
            res = control.spec_from_text(req.text, model, seed=int(req.text_seed), base=base)
            understood = [f"{p.text} -> {p.attribute} {'+' if p.direction > 0 else '-'}{p.strength:g}"
                          for p in res.understood]
            return res.spec, understood, list(res.ignored)
        elif kind == "params":
            doc = _params_doc(req.params, violations)
            if doc is not None:
                return control.spec_from_params(doc, model), [], []
        elif kind == "spec_json":
            spec = control.HeadSpec.from_json(req.spec_json)
            if spec.model != control.model_id(model):
                violations.append(("spec_json", f"spec_json: the spec is for model {spec.model!r}, the request "
                                                f"names {control.model_id(model)!r}"))
                return None
            return spec, [], []
    except ValueError as exc:
        name = _field_of(exc, kind)
        path = {"seed": {"seeds[0]": "seed"},
                "latent": {"latent": "latent.values", "seeds[0]": "latent_seed"},
                "text": {"seed": "text_seed", "seeds[0]": "text_seed"},
                "params": {"identity.shape": "params.shape" if len(req.params.shape) else "params.identity.shape",
                           "expression.coefficients": ("params.expression_coefficients"
                                                       if len(req.params.expression_coefficients)
                                                       else "params.expression.coefficients")},
                }.get(kind, {}).get(name)
        if path is None:
            if name in ("psi", "expression_scale", "model"):
                path = name
            elif kind == "params":
                path = f"params.{name}" if name not in ("params", "params.json") else "params.json"
            else:
                path = kind
        violations.append((path, str(exc)))
    return None


def parse_generate_request(req, settings: GenerateSettings) -> ParsedRequest:
    """Validate a ``GenerateAssetRequest`` and resolve its spec; raises :class:`RequestError` listing every
    bad field (export options, ψ and the source are all checked before giving up)."""
    violations: list[tuple[str, str]] = []
    model = _check_model(req.model, violations, settings)
    pipe, bundle, limit = _export_options(req, settings, violations)
    psi = _scalar(req, "psi", 0.0, 2.0, 1.0, violations)
    scale = _scalar(req, "expression_scale", 0.0, 2.0, 0.0, violations)
    clips, clip_limit = export_animations(req.export, model, _animation_seed(req), violations)
    limit = limit or clip_limit
    result = None
    if model is not None and not violations:
        result = _spec_from_source(req, model, psi, req.HasField("psi"), scale, violations)
    if result is not None and req.edit.strip() and not violations:
        try:
            result = (control.apply_edit(result[0], req.edit), *result[1:])
        except ValueError as exc:
            violations.append(("edit", str(exc)))
    if violations or result is None:
        raise RequestError(violations or [("source", "source: could not be resolved")])
    if limit:
        raise LimitError(limit)
    blender = _blender(settings) if parsed_needs_fbx(bundle) else None
    spec, understood, ignored = result
    return ParsedRequest(spec=spec, pipeline=pipe, bundle=bundle, understood=understood, ignored=ignored,
                         model=model, blender=blender, animations=clips)


def parsed_needs_fbx(bundle: BundleOptions) -> bool:
    return bundle.format in ("fbx", "both")


def build_bundle(parsed: ParsedRequest, cancel=None, batcher=None) -> Bundle:
    """Generate the head and its bundle files (the same bytes as ``exporters.bundle.write_bundle``).

    ``cancel`` (a ``threading.Event``) is checked between the stages (head, files, FBX): once set, the work
    stops with :class:`Cancelled`. ``batcher``: a :class:`assetgen.service.batching.TextureBatcher` that makes
    the head's textures in a batch with concurrent requests (the same maps; ``None``: alone).
    """
    from assetgen.pipeline import load_model

    model = parsed.model
    if model is None:
        model = load_model("open") if parsed.spec.model == "open" else None
    check_cancel(cancel)
    try:
        head = generate_head(parsed.spec, model=model, options=parsed.pipeline, animations=parsed.animations,
                             texture_fn=None if batcher is None else batcher.texture_fn(cancel))
    except ValueError as exc:
        raise RequestError([(_field_of(exc, "spec"), str(exc))]) from None
    check_cancel(cancel)
    files = bundle_files(head, parsed.bundle)
    if parsed_needs_fbx(parsed.bundle):
        import tempfile
        from pathlib import Path

        from exporters.fbx import export_fbx

        check_cancel(cancel)
        with tempfile.TemporaryDirectory(prefix="assetgen-svc-fbx-") as tmp:
            try:
                export_fbx(files["head.glb"], Path(tmp) / "head.fbx", preset=parsed.bundle.fbx_preset,
                           blender=parsed.blender)
            except RuntimeError as exc:
                if "Blender" in str(exc) and "install" in str(exc):
                    raise PreconditionError(f"formats: fbx needs Blender on the server: {exc}") from None
                raise
            files["head.fbx"] = (Path(tmp) / "head.fbx").read_bytes()
        if parsed.bundle.format == "fbx":
            del files["head.glb"]
    check_cancel(cancel)
    doc = manifest(head, files, parsed.bundle)
    files["manifest.json"] = json_bytes(doc)
    return Bundle(spec=parsed.spec, files=files, manifest=doc, understood=parsed.understood,
                  ignored=parsed.ignored)


def chunk_file(data: bytes, size: int = CHUNK_BYTES) -> Iterator[tuple[int, bytes, bool]]:
    """``(offset in bytes, data ≤ size bytes, last)`` covering ``data``; one empty chunk for an empty file."""
    if not data:
        yield 0, b"", True
        return
    for offset in range(0, len(data), size):
        yield offset, data[offset:offset + size], offset + size >= len(data)
