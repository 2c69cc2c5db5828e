"""A small Python client of the ``assetgen.v1.AssetGenerator`` gRPC service (issue 7).

::

    from assetgen.client import AssetGenClient
    with AssetGenClient("127.0.0.1:50051", token=None, tls_ca=None) as c:
        print(c.describe().models[0].id)
        manifest = c.generate("out/head_7", seed=7, export={"texture_size": 512})
        manifest = c.generate("out/head_7_anim", seed=7, export={"animations": "blink,talk", "animation_fps": 24})
        pngs = c.render_portrait(seed=7, cameras=[(0, 0, 512), (45, 0, 512)])
        for index, manifest in c.crowd("out/crowd", seed=1, count=4): ...
        manifest = c.animate("out/smile", spec_json=spec, preset="smile,blink")
        header, frames = c.animate_frames(preset="talk", fps=30)   # live preview: per-frame weights

Bundles are written atomically (a temporary sibling folder renamed into place) after every file's size and
sha256 were checked against the stream header. Errors are ``grpc.RpcError`` (``.code()``, ``.details()``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

import grpc

from assetgen.io import atomic_folder, atomic_write_bytes
from assetgen.service import protos

__all__ = ["AssetGenClient", "BundleError", "animate_request", "asset_request", "receive_bundle"]

pb2, pb2_grpc = protos.load()
_SOURCES = ("seed", "latent", "text", "params", "spec_json")


class BundleError(RuntimeError):
    """The stream did not match its header (missing file, size or sha256 mismatch, bad offsets)."""


def receive_bundle(chunks: Iterable) -> tuple[Any, dict[str, bytes]]:
    """``(AssetHeader, path → bytes)`` from ``AssetChunk``s (header first), checked against the header."""
    header, files, done = None, {}, set()
    for c in chunks:
        kind = c.WhichOneof("payload")
        if kind == "header":
            if header is not None:
                raise BundleError("two headers in one bundle stream")
            header = c.header
            continue
        if header is None or kind != "file":
            raise BundleError("file chunk before the header")
        f = c.file
        buf = files.setdefault(f.path, bytearray())
        if f.path in done or len(buf) != f.offset:
            raise BundleError(f"{f.path}: chunk at offset {f.offset}, expected {len(buf)}")
        buf += f.data
        if f.last:
            done.add(f.path)
    if header is None:
        raise BundleError("empty stream")
    out = {p: bytes(b) for p, b in files.items()}
    for info in header.files:
        data = out.get(info.path)
        if data is None or info.path not in done:
            raise BundleError(f"{info.path}: missing or incomplete")
        if len(data) != info.size or hashlib.sha256(data).hexdigest() != info.sha256:
            raise BundleError(f"{info.path}: size or sha256 differs from the header")
    return header, out


def _write(folder: str | Path, files: dict[str, bytes], replace: bool) -> None:
    with atomic_folder(folder, replace=replace) as tmp:
        for rel, data in files.items():
            target = (tmp / rel).resolve()
            if tmp.resolve() not in target.parents:
                raise BundleError(f"{rel}: path escapes the bundle folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data)


def _export(export) -> Any:
    if export is None or isinstance(export, pb2.ExportOptions):
        return export
    export = dict(export)
    fmts = [getattr(pb2, f"FORMAT_{str(f).upper()}") if isinstance(f, str) else f for f in export.pop("formats", [])]
    preset = export.pop("fbx_preset", 0)
    if isinstance(preset, str):
        preset = getattr(pb2, f"FBX_PRESET_{preset.upper()}")
    if isinstance(export.get("animations"), str):  # "blink,smile" as the CLI's --animation
        export["animations"] = [n.strip() for n in export["animations"].split(",")]
    return pb2.ExportOptions(formats=fmts, fbx_preset=preset, **export)


def asset_request(model: str = "", export=None, **source) -> Any:
    """A ``GenerateAssetRequest``: ``seed=``/``latent=[...]``/``text=``/``params={...} or Params``/``spec_json=``,
    plus ``psi``, ``expression_scale``, ``text_seed``, ``latent_seed``, ``edit``; ``export`` is a dict of
    ``ExportOptions`` fields (``formats=["glb", "fbx"]``, ``fbx_preset="unreal"``, ``animations="blink,talk"`` or
    a list, ``animation_fps=24``, ``animation_loop=2``) or an ``ExportOptions``."""
    kw = dict(source)
    if "latent" in kw and not isinstance(kw["latent"], pb2.LatentCode):
        kw["latent"] = pb2.LatentCode(values=[float(v) for v in kw["latent"]])
    if isinstance(kw.get("params"), dict):
        kw["params"] = pb2.Params(json=json.dumps(kw["params"]))
    return pb2.GenerateAssetRequest(model=model, export=_export(export), **kw)


def animate_request(*, spec_json: str = "", model: str = "", preset: str | Iterable[str] | None = None,
                    keyframes=None, live_link_csv: bytes | str | Path | None = None, text: str | None = None,
                    fps: float = 0.0, frames: bool = False, export=None) -> Any:
    """An ``AnimateRequest``. One sequence source: ``preset`` (a name, a comma list or a list of names, played
    one after another), ``keyframes`` (``[(time_s, {ARKit name: weight}), ...]`` or a ``Keyframes``),
    ``live_link_csv`` (the CSV's bytes, or a path to read) or ``text``. ``frames``: frame mode (per-frame
    weights) instead of the animated bundle; ``fps`` 0 means the server's default (30)."""
    kw: dict[str, Any] = {}
    if preset is not None:
        kw["preset"] = preset if isinstance(preset, str) else ",".join(preset)
    if keyframes is not None:
        kw["keyframes"] = keyframes if isinstance(keyframes, pb2.Keyframes) else pb2.Keyframes(keys=[
            pb2.Keyframe(time_s=float(t), weights={str(k): float(v) for k, v in w.items()}) for t, w in keyframes])
    if live_link_csv is not None:
        kw["live_link_csv"] = live_link_csv if isinstance(live_link_csv, bytes) else Path(live_link_csv).read_bytes()
    if text is not None:
        kw["text"] = text
    mode = pb2.ANIMATE_MODE_FRAMES if frames else pb2.ANIMATE_MODE_ASSET
    return pb2.AnimateRequest(spec_json=spec_json, model=model, fps=fps, mode=mode, export=_export(export), **kw)


class AssetGenClient:
    """A blocking client: ``target`` ``"host:port"``; ``token`` sends ``authorization: Bearer <token>``;
    ``tls_ca`` (PEM path or bytes) switches to TLS and trusts that CA (``True``: the system roots)."""

    def __init__(self, target: str, token: str | None = None, tls_ca: str | Path | bytes | bool | None = None, *,
                 timeout_s: float = 300.0, server_name: str | None = None):
        options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
        if tls_ca is None or tls_ca is False:
            self.channel = grpc.insecure_channel(target, options=options)
        else:
            root = None if tls_ca is True else (tls_ca if isinstance(tls_ca, bytes) else Path(tls_ca).read_bytes())
            self.channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root), options=options)
        self.stub = pb2_grpc.AssetGeneratorStub(self.channel)
        self.metadata = (("authorization", f"Bearer {token}"),) if token else None
        self.timeout_s = timeout_s

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "AssetGenClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _kw(self, timeout_s):
        return {"timeout": self.timeout_s if timeout_s is None else timeout_s, "metadata": self.metadata}

    def describe(self, timeout_s: float | None = None):
        """The ``DescribeModelsResponse`` (models, limits, versions, RPCs served)."""
        return self.stub.DescribeModels(pb2.DescribeModelsRequest(), **self._kw(timeout_s))

    def generate_files(self, request=None, timeout_s: float | None = None, **kw) -> tuple[Any, dict[str, bytes]]:
        """``(AssetHeader, path → bytes)`` of one head (``request`` or :func:`asset_request` keywords)."""
        req = request if request is not None else asset_request(**kw)
        return receive_bundle(self.stub.GenerateAsset(req, **self._kw(timeout_s)))

    def generate(self, out_dir: str | Path, request=None, *, replace: bool = False,
                 timeout_s: float | None = None, **kw) -> dict:
        """Generate one head and write its bundle folder ``out_dir`` atomically; returns the manifest."""
        header, files = self.generate_files(request, timeout_s, **kw)
        _write(out_dir, files, replace)
        return json.loads(header.manifest_json)

    def render_portrait(self, cameras: Iterable[tuple[float, float, int]] = (), *, spec_json: str = "",
                        lighting: str | Iterable[float] | None = None, renderer: str = "raster", model: str = "",
                        out_dir: str | Path | None = None, timeout_s: float | None = None, **source) -> list[bytes]:
        """PNG bytes per camera ``(yaw°, pitch°, size px)``; the head is ``spec_json`` or a GenerateAsset source
        (``seed=7``, ``text=...``). ``lighting``: a preset name or 27 SH numbers. With ``out_dir`` also writes
        ``portrait_<i>.png`` files."""
        light = None
        if isinstance(lighting, str):
            light = pb2.Lighting(preset=lighting)
        elif lighting is not None:
            light = pb2.Lighting(sh=pb2.ShLighting(coefficients=[float(v) for v in lighting]))
        req = pb2.RenderPortraitRequest(
            spec_json=spec_json, model=model, lighting=light,
            cameras=[pb2.Camera(yaw_deg=y, pitch_deg=p, size=s) for y, p, s in cameras],
            renderer=getattr(pb2, f"RENDERER_{renderer.upper()}"))
        if source:
            req.head.CopyFrom(asset_request(model=model, **source))
        images: dict[int, bytearray] = {}
        meta: dict[int, tuple[int, str]] = {}
        for c in self.stub.RenderPortrait(req, **self._kw(timeout_s)):
            buf = images.setdefault(c.camera_index, bytearray())
            if len(buf) != c.offset:
                raise BundleError(f"camera {c.camera_index}: chunk at offset {c.offset}, expected {len(buf)}")
            buf += c.data
            meta[c.camera_index] = (c.size, c.sha256)
        out = []
        for i in sorted(images):
            data = bytes(images[i])
            if (len(data), hashlib.sha256(data).hexdigest()) != meta[i]:
                raise BundleError(f"camera {i}: size or sha256 differs")
            out.append(data)
        if out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            for i, data in enumerate(out):
                atomic_write_bytes(Path(out_dir) / f"portrait_{i}.png", data)
        return out

    def crowd(self, out_dir: str | Path, *, seed: int, count: int, model: str = "", export=None,
              psi: float | None = None, rules: dict | None = None, timeout_s: float | None = None,
              replace: bool = False) -> Iterator[tuple[int, dict]]:
        """Generate ``count`` heads; each bundle is written to ``out_dir/head_<i:03d>`` as it arrives.

        Yields ``(head index, manifest)`` per finished head (a generator: iterate it)."""
        req = pb2.GenerateCrowdRequest(seed=seed, count=count, model=model, export=_export(export),
                                       rules=pb2.CrowdRules(**(rules or {})))
        if psi is not None:
            req.psi = psi
        current, pending = None, []

        def finish():
            header, files = receive_bundle(pending)
            _write(Path(out_dir) / f"head_{current:03d}", files, replace)
            return current, json.loads(header.manifest_json)

        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for c in self.stub.GenerateCrowd(req, **self._kw(timeout_s)):
            if c.head_index != current and pending:
                yield finish()
                pending = []
            current = c.head_index
            pending.append(c.chunk)
        if pending:
            yield finish()

    def animate_files(self, request=None, timeout_s: float | None = None, **kw) -> tuple[Any, dict[str, bytes]]:
        """``(AssetHeader, path → bytes)`` of an animated head (``request`` or :func:`animate_request`
        keywords; asset mode)."""
        req = request if request is not None else animate_request(**kw)
        chunks = self.stub.Animate(req, **self._kw(timeout_s))
        return receive_bundle(c.asset for c in chunks if c.WhichOneof("payload") == "asset")

    def animate(self, out_dir: str | Path, request=None, *, replace: bool = False, timeout_s: float | None = None,
                **kw) -> dict:
        """Animate a head (``spec_json=`` plus a sequence, see :func:`animate_request`) and write its bundle
        folder ``out_dir`` atomically (``head.glb`` carries the clip); returns the manifest."""
        header, files = self.animate_files(request, timeout_s, **kw)
        _write(out_dir, files, replace)
        return json.loads(header.manifest_json)

    def animate_frames(self, request=None, timeout_s: float | None = None, **kw) -> tuple[Any, Iterator[Any]]:
        """Frame mode: ``(AnimateHeader, iterator of FrameWeights)``; each frame's ``weights`` follow
        ``header.expression_names`` and its ``rotations`` (axis-angle radians, 3 per joint) ``header.joints``."""
        req = request if request is not None else animate_request(frames=True, **kw)
        call = self.stub.Animate(req, **self._kw(timeout_s))
        first = next(call)
        if first.WhichOneof("payload") != "header":
            call.cancel()
            raise BundleError("Animate frame stream: expected the header first")
        return first.header, (c.frame for c in call)
