"""The asyncio gRPC server of ``assetgen.v1.AssetGenerator`` (issue 7).

Served: ``DescribeModels``, ``GenerateAsset``, ``GenerateCrowd``, ``RenderPortrait`` and ``Animate`` (plus
``grpc.health.v1.Health`` and server reflection). Generation runs in a thread pool, so the event loop (health
checks included) stays responsive.

Errors: ``INVALID_ARGUMENT`` with ``google.rpc.BadRequest`` field violations for bad fields;
``RESOURCE_EXHAUSTED`` for the documented caps (``Limits``: concurrent streams, crowd size, texture size,
portrait size and cameras, animation frames, request bytes); ``FAILED_PRECONDITION`` when FBX is asked for and
Blender is missing; ``UNIMPLEMENTED`` for the neural renderer and text animation sequences;
``UNAUTHENTICATED`` when a bearer token is configured and the call's ``authorization`` metadata is missing or
wrong (health and reflection stay open); ``INTERNAL`` (never ``UNKNOWN``) for failures of ours. When a call
ends early (client cancel: ``CANCELLED``; deadline: ``DEADLINE_EXCEEDED``) the work in progress stops at the next
stage boundary (between pipeline stages, between crowd heads, between portrait cameras, between animation
frames). TLS: ``ServerSettings.tls_cert`` / ``tls_key``.
GenerateCrowd builds several heads at once (``ServerSettings.crowd_parallelism``) and streams each as it finishes.
Batching (``ServerSettings.batch_textures``; on by default on CUDA only): concurrent heads (GenerateAsset,
GenerateCrowd, Animate) make their textures in shared batches through a
:class:`~assetgen.service.batching.TextureBatcher` (collect for ``batch_window_ms``, at most ``max_batch``), the
same maps as alone; ``AssetGeneratorService.batching_stats()`` counts the batches. The batcher stops with the server.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

import assetgen
from assetgen import control
from assetgen.asset.build import MAX_LODS
from assetgen.control.text import MAX_PROMPT_CHARS
from assetgen.pipeline import MAX_TEXTURE_SIZE, load_model
from assetgen.animation import presets_for
from assetgen.service import protos
from assetgen.service.batching import DEFAULT_MAX_BATCH, DEFAULT_WINDOW_MS, TextureBatcher
from assetgen.service.animate import MAX_FRAMES, frame_values, parse_animate_request
from assetgen.service.crowds import MAX_CROWD_SIZE, crowd_request, parse_crowd_request
from assetgen.service.portraits import MAX_PORTRAIT_SIZE, parse_portrait_request, render_portraits
from assetgen.service.requests import CHUNK_BYTES, Cancelled, GenerateSettings, LimitError, PreconditionError, \
    RequestError, Unavailable, build_bundle, check_cancel, chunk_file, parse_generate_request
from exporters.bundle import BUNDLE_FORMAT_VERSION

__all__ = ["SERVICE_NAME", "ServerSettings", "AssetGeneratorService", "create_server", "crowd_parallelism",
           "resolve_device"]

pb2, pb2_grpc = protos.load()
SERVICE_NAME = pb2.DESCRIPTOR.services_by_name["AssetGenerator"].full_name
MAX_REQUEST_BYTES = 4 << 20
_LOG = logging.getLogger("assetgen.service")
RPCS_SERVED = ("DescribeModels", "GenerateAsset", "GenerateCrowd", "RenderPortrait", "Animate")


@dataclass(frozen=True)
class ServerSettings:
    """How the server runs.

    Attributes:
        max_concurrency: concurrent GenerateAsset streams; one more gets ``RESOURCE_EXHAUSTED``.
        workers: threads that run generation (default: ``max_concurrency``).
        device: ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        max_texture_size: largest texture size a request may ask for (texels a side).
        grace_s: seconds in-flight calls get to finish on shutdown (SIGTERM).
        auth_token: bearer token every AssetGenerator call must carry; ``None`` for none.
        max_request_bytes: largest request message (bytes); larger ones get ``RESOURCE_EXHAUSTED``.
        tls_cert, tls_key: PEM certificate chain and private key files; both or neither (plaintext).
        flame_models: FLAME model files served next to the open head (by ``control.model_id``).
        blender: Blender executable for FBX (``None``: ``exporters.fbx.find_blender``'s search).
        crowd_parallelism: heads one GenerateCrowd call builds at once (``None``: :func:`crowd_parallelism`'s
            default, the pool's threads capped at the CPU cores; 1 builds them one after another).
        batch_textures: make concurrent heads' textures in shared batches (``None``: on for CUDA, off for CPU,
            where batching buys nothing).
        batch_window_ms: how long a batch waits for more heads after its first (milliseconds).
        max_batch: most heads per texture batch.
    """

    max_concurrency: int = 4
    workers: int | None = None
    device: str = "auto"
    max_texture_size: int = MAX_TEXTURE_SIZE
    grace_s: float = 10.0
    auth_token: str | None = None
    max_request_bytes: int = MAX_REQUEST_BYTES
    tls_cert: str | Path | None = None
    tls_key: str | Path | None = None
    flame_models: tuple[str | Path, ...] = ()
    blender: str | None = None
    crowd_parallelism: int | None = None
    batch_textures: bool | None = None
    batch_window_ms: float = DEFAULT_WINDOW_MS
    max_batch: int = DEFAULT_MAX_BATCH

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls: give both tls_cert and tls_key (or neither)")
        if self.max_request_bytes < 1024:
            raise ValueError(f"max_request_bytes: expected ≥ 1024, got {self.max_request_bytes}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency: expected ≥ 1, got {self.max_concurrency}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device: expected auto, cpu or cuda, got {self.device!r}")
        if self.crowd_parallelism is not None and self.crowd_parallelism < 1:
            raise ValueError(f"crowd_parallelism: expected ≥ 1, got {self.crowd_parallelism}")
        if not (isinstance(self.batch_window_ms, (int, float)) and 0 <= self.batch_window_ms <= 10_000):
            raise ValueError(f"batch_window_ms: expected milliseconds in [0, 10000], got {self.batch_window_ms!r}")
        if isinstance(self.max_batch, bool) or not isinstance(self.max_batch, int) or self.max_batch < 1:
            raise ValueError(f"max_batch: expected an integer ≥ 1, got {self.max_batch!r}")
        if self.auth_token is not None and not self.auth_token.strip():
            raise ValueError("auth_token: the token is empty")


def crowd_parallelism(settings: ServerSettings) -> int:
    """Heads one GenerateCrowd call builds at once: ``settings.crowd_parallelism``, else the pool's threads
    (``workers``, default ``max_concurrency``) but at most the CPU cores."""
    if settings.crowd_parallelism:
        return settings.crowd_parallelism
    return max(1, min(settings.workers or settings.max_concurrency, os.cpu_count() or 1))


def resolve_device(device: str) -> str:
    """``"auto"`` → ``"cuda"`` when a CUDA GPU is visible, else ``"cpu"``; ``ValueError`` for cuda without one."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: cuda requested but no CUDA GPU is available")
    return device


def bad_request_status(violations: list[tuple[str, str]]) -> grpc.Status:
    """An ``INVALID_ARGUMENT`` status carrying ``google.rpc.BadRequest`` with one violation per field."""
    detail = error_details_pb2.BadRequest(field_violations=[
        error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations])
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=str(RequestError(violations))[:1000])
    status.details.add().Pack(detail)
    return rpc_status.to_status(status)


class AssetGeneratorService(pb2_grpc.AssetGeneratorServicer):
    """The servicer; ``active`` counts streams in flight (GenerateAsset, GenerateCrowd, RenderPortrait, Animate);
    ``stats`` counts finished work units (``"heads"``, ``"crowd_heads"``, ``"portraits"``, ``"animated_heads"``,
    ``"animate_frames"``, ``"cancelled"``); ``batcher`` is the :class:`TextureBatcher` (``None``: not batching)."""

    def __init__(self, settings: ServerSettings, executor: ThreadPoolExecutor):
        self.settings = settings
        self.device = resolve_device(settings.device)
        models = {}
        for path in settings.flame_models:
            model = load_model(str(path))
            models[control.model_id(model)] = model
        self.generate = GenerateSettings(device=self.device, max_texture_size=settings.max_texture_size,
                                         chunk_bytes=CHUNK_BYTES, blender=settings.blender, models=models)
        self.executor = executor
        self.crowd_parallelism = crowd_parallelism(settings)
        batch = settings.batch_textures if settings.batch_textures is not None else self.device == "cuda"
        self.batcher = TextureBatcher(settings.batch_window_ms, settings.max_batch) if batch else None
        self.active = 0
        self.stats: collections.Counter = collections.Counter()
        self._describe: Any = None

    def batching_stats(self) -> dict[str, Any]:
        """The batcher's counters (:meth:`TextureBatcher.stats`), ``{}`` when not batching."""
        return {} if self.batcher is None else self.batcher.stats()

    def close(self) -> None:
        """Stop the batcher (what was submitted still runs); the server calls this on shutdown."""
        if self.batcher is not None:
            self.batcher.close()

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def _guarded(self, context, cancel: threading.Event, fn, *args):
        """Run ``fn(*args)`` in the pool; map our exceptions to status codes (never UNKNOWN)."""
        return await self._checked(context, cancel, self._run(fn, *args), getattr(fn, "__name__", "call"))

    async def _checked(self, context, cancel: threading.Event, awaitable, what: str = "call"):
        """Await ``awaitable`` (pool work); map our exceptions to status codes (never UNKNOWN)."""
        try:
            return await awaitable
        except RequestError as exc:
            await context.abort_with_status(bad_request_status(exc.violations))
        except LimitError as exc:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc)[:1000])
        except PreconditionError as exc:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc)[:2000])
        except Unavailable as exc:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, str(exc)[:1000])
        except Cancelled:
            self.stats["cancelled"] += 1
            await context.abort(grpc.StatusCode.CANCELLED, "the call ended; work stopped")
        except asyncio.CancelledError:
            cancel.set()
            raise
        except Exception as exc:  # never UNKNOWN for a failure we can describe
            _LOG.exception("%s failed", what)
            await context.abort(grpc.StatusCode.INTERNAL, f"generation failed: {type(exc).__name__}: {exc}"[:1000])

    async def _admit(self, context, rpc: str) -> threading.Event:
        if self.active >= self.settings.max_concurrency:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"concurrent streams: {self.active} streams are in flight ({rpc} refused), the "
                                f"limit is {self.settings.max_concurrency}; retry later")
        self.active += 1
        cancel = threading.Event()
        try:
            context.add_done_callback(lambda _ctx: cancel.set())
        except Exception:  # pragma: no cover  (older grpc.aio): the handler's finally sets it
            pass
        return cancel

    def _release(self, cancel: threading.Event) -> None:
        cancel.set()  # the call is over: stop whatever a worker still does for it
        self.active -= 1

    def _header(self, bundle):
        infos = bundle.file_infos()
        return pb2.AssetChunk(header=pb2.AssetHeader(
            manifest_json=bundle.files["manifest.json"].decode("utf-8"),
            files=[pb2.FileInfo(path=p, size=n, sha256=h, media_type=m) for p, n, h, m in infos],
            spec_hash=bundle.spec.hash, spec_json=bundle.spec.to_json(),
            text=pb2.TextReport(understood=bundle.understood, ignored=bundle.ignored),
            chunk_bytes=self.generate.chunk_bytes, total_bytes=sum(i[1] for i in infos)))

    def _chunks(self, bundle):
        yield self._header(bundle)
        for path, data in bundle.files.items():
            for offset, piece, last in chunk_file(data, self.generate.chunk_bytes):
                yield pb2.AssetChunk(file=pb2.FileChunk(path=path, offset=offset, data=piece, last=last))

    # ----------------------------------------------------------------------------------------- describe
    def _describe_model(self, model, kind: str):
        sections = []
        for section, rows in control.describe_controls(model).items():
            sections.append(pb2.ControlSection(name=section, controls=[
                pb2.ControlRange(name=n, min=r["min"], max=r["max"], default_value=r["default"], unit=r["unit"],
                                 doc=r["doc"]) for n, r in rows.items()]))
        sizes = [s for s in (64 << i for i in range(16)) if s <= self.generate.max_texture_size]
        formats = ["glb"]
        try:
            from exporters.fbx import find_blender

            find_blender(self.settings.blender)
            formats.append("fbx")
        except RuntimeError:
            pass
        return pb2.ModelDescription(
            id=control.model_id(model), kind=kind, license=str(model.license), source=str(model.source),
            expression_names=list(control.ARKIT_52) if kind == "open" else [], sections=sections,
            lighting_presets=list(control.LIGHTING_PRESETS), pose_joints=list(control.POSE_JOINTS),
            texture_sizes=sizes, latent_dim=control.LATENT_DIM, formats=formats,
            animation_presets=presets_for(model))

    def _describe_sync(self):
        descs = [self._describe_model(load_model("open"), "open")]
        descs += [self._describe_model(m, "flame") for _, m in sorted(self.generate.models.items())]
        limits = pb2.Limits(max_texture_size=self.generate.max_texture_size, max_lods=MAX_LODS,
                            max_preview_size=MAX_PORTRAIT_SIZE, max_chunk_bytes=CHUNK_BYTES,
                            max_concurrent_streams=self.settings.max_concurrency, max_prompt_chars=MAX_PROMPT_CHARS,
                            max_request_bytes=self.settings.max_request_bytes, max_crowd_size=MAX_CROWD_SIZE,
                            max_frames=MAX_FRAMES)
        versions = pb2.Versions(api="assetgen.v1", assetgen=assetgen.__version__, bundle_format=BUNDLE_FORMAT_VERSION,
                                spec_version=control.SPEC_VERSION)
        return pb2.DescribeModelsResponse(models=descs, limits=limits, versions=versions,
                                          rpcs_served=list(RPCS_SERVED))

    async def DescribeModels(self, request, context):
        if self._describe is None:
            self._describe = await self._run(self._describe_sync)
        return self._describe

    # ----------------------------------------------------------------------------------------- generate
    def _generate_sync(self, request, cancel):
        bundle = build_bundle(parse_generate_request(request, self.generate), cancel, self.batcher)
        self.stats["heads"] += 1
        return bundle

    async def GenerateAsset(self, request, context):
        cancel = await self._admit(context, "GenerateAsset")
        try:
            bundle = await self._guarded(context, cancel, self._generate_sync, request, cancel)
            for chunk in self._chunks(bundle):
                yield chunk
        finally:
            self._release(cancel)

    # ------------------------------------------------------------------------------------------- crowd
    def _crowd_head_sync(self, plan, i, cancel):
        check_cancel(cancel)
        bundle = build_bundle(crowd_request(plan, i), cancel, self.batcher)
        self.stats["crowd_heads"] += 1
        return bundle

    async def GenerateCrowd(self, request, context):
        """Heads are built ``crowd_parallelism`` at a time in the pool and each is streamed as it finishes (heads
        that finish together go in index order). A head's bytes depend only on the request and its index. When
        the call ends (cancel, deadline, an error) no further head starts and the running ones stop at their
        next stage boundary."""
        cancel = await self._admit(context, "GenerateCrowd")
        running: dict[asyncio.Future, int] = {}
        try:
            plan = await self._guarded(context, cancel, parse_crowd_request, request, self.generate)
            width = max(1, min(plan.count, self.crowd_parallelism))
            loop = asyncio.get_running_loop()
            next_i = 0
            while next_i < plan.count or running:
                while len(running) < width and next_i < plan.count and not (cancel.is_set() or context.done()):
                    fut = loop.run_in_executor(self.executor, self._crowd_head_sync, plan, next_i, cancel)
                    running[fut] = next_i
                    next_i += 1
                if not running:
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for fut in sorted(done, key=running.__getitem__):
                    i = running.pop(fut)
                    bundle = await self._checked(context, cancel, fut, "crowd head")
                    for chunk in self._chunks(bundle):
                        yield pb2.CrowdChunk(head_index=i, chunk=chunk)
        finally:
            self._release(cancel)
            for fut in running:  # not started: dropped; running: stop at the next stage (cancel is set)
                if fut.done() and not fut.cancelled():
                    fut.exception()  # retrieved: no "exception was never retrieved" noise
                fut.cancel()

    # ---------------------------------------------------------------------------------------- portrait
    def _portraits_sync(self, request, cancel):
        parsed = parse_portrait_request(request, self.generate)
        out = list(render_portraits(parsed, self.device, cancel))
        self.stats["portraits"] += len(out)
        return out

    async def RenderPortrait(self, request, context):
        cancel = await self._admit(context, "RenderPortrait")
        try:
            portraits = await self._guarded(context, cancel, self._portraits_sync, request, cancel)
            for p in portraits:
                digest = p.sha256
                for offset, piece, last in chunk_file(p.png, self.generate.chunk_bytes):
                    yield pb2.ImageChunk(camera_index=p.camera_index, media_type="image/png", offset=offset,
                                         data=piece, last=last, size=len(p.png), sha256=digest)
        finally:
            self._release(cancel)

    # ----------------------------------------------------------------------------------------- animate
    def _animate_sync(self, request, cancel):
        plan = parse_animate_request(request, self.generate)
        check_cancel(cancel)
        if plan.frames_mode:
            return plan, frame_values(plan)
        bundle = build_bundle(plan.parsed, cancel, self.batcher)
        self.stats["animated_heads"] += 1
        return plan, bundle

    async def Animate(self, request, context):
        cancel = await self._admit(context, "Animate")
        try:
            plan, result = await self._guarded(context, cancel, self._animate_sync, request, cancel)
            if not plan.frames_mode:
                for chunk in self._chunks(result):
                    yield pb2.AnimateChunk(asset=chunk)
                return
            names, joints, times, weights, rots = result
            yield pb2.AnimateChunk(header=pb2.AnimateHeader(expression_names=names, frames=len(times),
                                                            fps=plan.fps, joints=joints))
            for i in range(len(times)):
                if cancel.is_set() or context.done():
                    break
                yield pb2.AnimateChunk(frame=pb2.FrameWeights(index=i, time_s=float(times[i]),
                                                              weights=weights[i].tolist(),
                                                              rotations=rots[i].tolist()))
                self.stats["animate_frames"] += 1
        finally:
            self._release(cancel)


class _Malformed:
    """What the safe deserializer returns for request bytes that are not a valid message."""

    def __init__(self, exc: Exception):
        self.error = f"{type(exc).__name__}: {exc}"[:300]


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):
    """``INVALID_ARGUMENT`` (field ``request``) for request bytes that do not parse as the method's message.

    grpc answers ``UNKNOWN`` when a deserializer raises; this wraps each AssetGenerator deserializer so that
    it returns a marker instead, which the wrapped behaviour turns into a described error."""

    def __init__(self, service_name: str):
        self._prefix = f"/{service_name}/"

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or not details.method.startswith(self._prefix) or handler.request_deserializer is None:
            return handler
        deserialize = handler.request_deserializer
        name = details.method.rsplit("/", 1)[-1]

        def safe(data):
            try:
                return deserialize(data)
            except Exception as exc:  # DecodeError and friends
                return _Malformed(exc)

        async def refuse(request, context):
            await context.abort_with_status(bad_request_status([
                ("request", f"request: not a valid {name} request message ({request.error})")]))

        kw = dict(request_deserializer=safe, response_serializer=handler.response_serializer)
        if handler.unary_stream:
            inner_stream = handler.unary_stream

            async def stream(request, context):
                if isinstance(request, _Malformed):
                    await refuse(request, context)
                result = inner_stream(request, context)
                if hasattr(result, "__aiter__"):
                    async for item in result:
                        yield item
                else:  # a coroutine handler (writes with context.write, or aborts)
                    await result

            return grpc.unary_stream_rpc_method_handler(stream, **kw)
        if handler.unary_unary:
            inner_unary = handler.unary_unary

            async def unary(request, context):
                if isinstance(request, _Malformed):
                    await refuse(request, context)
                return await inner_unary(request, context)

            return grpc.unary_unary_rpc_method_handler(unary, **kw)
        return handler


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """``UNAUTHENTICATED`` unless ``authorization: Bearer <token>`` matches (constant-time compare).

    Health checks and reflection are exempt (load balancers and grpcurl-style discovery)."""

    _OPEN = ("/grpc.health.v1.Health/", "/grpc.reflection.")

    def __init__(self, token: str):
        self._expected = f"Bearer {token.strip()}".encode()

    async def intercept_service(self, continuation, details):
        handler = await continuation(details)
        if handler is None or details.method.startswith(self._OPEN):
            return handler
        got = dict(details.invocation_metadata or ()).get("authorization", "")
        if hmac.compare_digest(str(got).encode(), self._expected):
            return handler

        async def deny(request, context):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "authorization: missing or wrong bearer token (metadata 'authorization: Bearer …')")

        async def deny_stream(request, context):
            await deny(request, context)
            yield  # pragma: no cover  (makes this an async generator)

        kw = dict(request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer)
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(deny_stream, **kw)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(deny, **kw)
        return None


async def create_server(host: str = "127.0.0.1", port: int = 0,
                        settings: ServerSettings = ServerSettings()) -> tuple[grpc.aio.Server, int]:
    """Build and start the server on ``host:port`` (0: a free port); returns ``(server, bound port)``.

    The servicer is ``server.assetgen_service`` and the health servicer ``server.health_service``. Stop with
    ``await server.stop(settings.grace_s)`` (``stop_server`` also marks health NOT_SERVING first).
    """
    executor = ThreadPoolExecutor(max_workers=settings.workers or settings.max_concurrency,
                                  thread_name_prefix="assetgen-gen")
    interceptors = [BearerTokenInterceptor(settings.auth_token)] if settings.auth_token else []
    interceptors.append(MalformedRequestInterceptor(SERVICE_NAME))
    server = grpc.aio.server(interceptors=interceptors, options=[
        ("grpc.max_receive_message_length", settings.max_request_bytes),
        ("grpc.max_send_message_length", 4 << 20)])
    service = AssetGeneratorService(settings, executor)
    pb2_grpc.add_AssetGeneratorServicer_to_server(service, server)
    health_service = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_service, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    if settings.tls_cert is not None:
        creds = grpc.ssl_server_credentials([(Path(settings.tls_key).read_bytes(),
                                              Path(settings.tls_cert).read_bytes())])
        bound = server.add_secure_port(f"{host}:{port}", creds)
    else:
        bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise OSError(f"could not bind {host}:{port}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_service.set(name, health_pb2.HealthCheckResponse.SERVING)
    server.assetgen_service = service
    server.health_service = health_service
    server.assetgen_executor = executor
    return server, bound


async def stop_server(server: grpc.aio.Server, grace_s: float = 10.0) -> None:
    """Graceful stop: health NOT_SERVING, new calls refused, in-flight calls get ``grace_s`` seconds."""
    health_service = getattr(server, "health_service", None)
    if health_service is not None:
        await health_service.enter_graceful_shutdown()
    await server.stop(grace_s)
    executor = getattr(server, "assetgen_executor", None)
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    service = getattr(server, "assetgen_service", None)
    if service is not None:
        await asyncio.get_running_loop().run_in_executor(None, service.close)
