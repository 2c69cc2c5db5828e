"""Micro-batching of concurrent requests' texture generation (issue 7: "concurrent requests batched on the GPU").

Every request builds its head in a worker thread through the one pipeline (:func:`assetgen.pipeline.head_surface`).
When the server batches, it hands the pipeline a :class:`TextureBatcher`'s ``texture_fn`` (``head_surface(...,
texture_fn=...)``): instead of generating its maps alone, the request *submits* ``(model, controls, seed, size,
shape)`` and waits. One batching thread takes the first submission, collects more for up to ``window_ms``
milliseconds (or until ``max_batch`` are waiting), groups them by ``(model, size, device)`` and runs ONE
:func:`~assetgen.textures.procedural.generate_texture_batch` call per group; each caller gets its own
:class:`~assetgen.textures.types.TextureSet`. On a GPU that call is far cheaper per head at batch 8–64 than one
head at a time; on a (small) CPU it buys nothing, so the server batches by default only on CUDA
(``ServerSettings.batch_textures``; ``server.py --batch-textures auto|on|off --batch-window-ms MS --max-batch N``).

Results: on the CPU a batched head's maps are byte-identical to the unbatched ones (``generate_texture_batch``
does not let a head depend on the rest of its batch there); on CUDA they may differ by a few codes in a tiny
fraction of texels (the batched identity forward rounds differently from batch 1; the tests bound it).

Requests: a submission's inputs are validated in the caller's thread, so a bad request fails alone. A caller
whose call ended (its ``cancel`` event set: client cancel, deadline) stops waiting at once with
:class:`~assetgen.service.requests.Cancelled`; its submission is dropped if its batch has not started, else its
result is discarded. An exception in a batch reaches every caller in that batch as the same exception object,
and the loop goes on. :meth:`TextureBatcher.close` (the server's shutdown) runs what was submitted and stops the
thread; later submissions are generated unbatched in the caller's thread. :meth:`TextureBatcher.stats` counts
batches and heads (the tests check that batches of more than one formed).
"""

from __future__ import annotations

import collections
import functools
import queue
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from assetgen.service.requests import Cancelled
from assetgen.textures.bake import check_size
from assetgen.textures.procedural import _check_seed, generate_texture_batch, generate_textures, resolve_controls
from assetgen.textures.types import TextureSet

__all__ = ["DEFAULT_MAX_BATCH", "DEFAULT_WINDOW_MS", "TextureBatcher"]

DEFAULT_WINDOW_MS = 5.0
"""How long (milliseconds) the batching thread waits for more submissions after the first of a batch."""
DEFAULT_MAX_BATCH = 32
"""Most submissions one batch collects (a batch starts at once when this many are waiting)."""
_POLL_S = 0.05  # how often a waiting caller looks at its cancel event
_STOP = object()


@dataclass(eq=False)
class _Submission:
    model: Any
    controls: dict[str, float]
    seed: int
    size: int
    shape: torch.Tensor | None
    cancel: Any
    future: Future = field(default_factory=Future)

    @property
    def key(self) -> tuple:
        return id(self.model), self.size, str(self.model.device), self.shape is None


def _bucket(n: int) -> int:
    """The power of two ≥ ``n``: on CUDA a batch is padded (repeating its last head, whose copies are dropped)
    so the compiled texture kernels see only 1, 2, 4, 8… heads instead of recompiling for every batch size
    (torch.compile's recompile limit would otherwise send them back to eager mode)."""
    return 1 << max(0, (n - 1).bit_length())


class TextureBatcher:
    """Groups concurrent texture requests into :func:`generate_texture_batch` calls (see the module docstring).

    Args:
        window_ms: how long to wait for more submissions after the first one of a batch (milliseconds, ≥ 0).
        max_batch: most submissions per batch (≥ 1).
        generate_batch: the batch generator (default :func:`generate_texture_batch`; tests pass a stand-in).

    Thread-safe; the batching thread starts here and stops in :meth:`close`.
    """

    def __init__(self, window_ms: float = DEFAULT_WINDOW_MS, max_batch: int = DEFAULT_MAX_BATCH, *,
                 generate_batch: Callable[..., Any] = generate_texture_batch):
        if isinstance(window_ms, bool) or not isinstance(window_ms, (int, float)) or not 0 <= window_ms <= 10_000:
            raise ValueError(f"window_ms: expected milliseconds in [0, 10000], got {window_ms!r}")
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise ValueError(f"max_batch: expected an integer ≥ 1, got {max_batch!r}")
        self.window_s = float(window_ms) / 1000.0
        self.max_batch = max_batch
        self._generate_batch = generate_batch
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._counts: collections.Counter = collections.Counter()
        self._sizes: collections.Counter = collections.Counter()
        self._thread = threading.Thread(target=self._loop, name="assetgen-texture-batcher", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------------- callers
    def textures(self, model, *, controls: dict[str, Any] | None = None, seed: int = 0, size: int = 1024,
                 shape: torch.Tensor | None = None, cancel=None) -> TextureSet:
        """One head's texture set, as :func:`generate_textures` (same arguments, computed on the model's device),
        made in a batch with whatever else is submitted meanwhile. ``cancel``: a ``threading.Event``; once set,
        raises :class:`Cancelled` (the submission is dropped or its result discarded)."""
        sub = _Submission(model=model, controls=resolve_controls(controls), seed=_check_seed(seed),
                          size=check_size(size), shape=None if shape is None else torch.as_tensor(shape),
                          cancel=cancel)
        with self._lock:
            closed = self._closed
            if not closed:
                self._counts["submitted"] += 1
                self._queue.put(sub)
        if closed:
            return generate_textures(model, controls=sub.controls, seed=sub.seed, size=sub.size, shape=sub.shape)
        while True:
            try:
                return sub.future.result(timeout=None if cancel is None else _POLL_S)
            except FutureTimeout:
                if cancel.is_set():
                    with self._lock:
                        self._counts["cancelled"] += 1
                    sub.future.cancel()  # not started: the loop drops it; running: the result is discarded
                    raise Cancelled() from None

    def texture_fn(self, cancel=None) -> Callable[..., TextureSet]:
        """A ``texture_fn`` for :func:`assetgen.pipeline.head_surface` / ``generate_head`` bound to ``cancel``."""
        return functools.partial(self.textures, cancel=cancel)

    def stats(self) -> dict[str, Any]:
        """Counters: ``submitted``, ``batches`` (generator calls), ``heads`` (sets made in them),
        ``multi_batches`` (calls with more than one head), ``max_batch`` (largest), ``cancelled`` (callers that
        stopped waiting), ``dropped`` (submissions skipped because their caller had gone), ``errors`` (failed
        calls), ``sizes`` (batch size → calls)."""
        with self._lock:
            out = {k: self._counts[k] for k in ("submitted", "batches", "heads", "multi_batches", "cancelled",
                                                 "dropped", "errors")}
            out["max_batch"] = max(self._sizes, default=0)
            out["sizes"] = dict(sorted(self._sizes.items()))
        return out

    @property
    def running(self) -> bool:
        """Whether the batching thread is alive."""
        return self._thread.is_alive()

    def close(self, timeout: float | None = 30.0) -> None:
        """Run what was submitted, then stop the batching thread (idempotent). Later submissions run unbatched."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(_STOP)
        self._thread.join(timeout)

    # ------------------------------------------------------------------------------------------ the loop
    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is _STOP:
                break
            batch = [first]
            deadline = time.monotonic() + self.window_s
            while len(batch) < self.max_batch:
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._run(batch)

    def _run(self, batch: list[_Submission]) -> None:
        groups: dict[tuple, list[_Submission]] = {}
        for sub in batch:
            if not sub.future.set_running_or_notify_cancel():  # its caller has gone
                with self._lock:
                    self._counts["dropped"] += 1
                continue
            groups.setdefault(sub.key, []).append(sub)
        for subs in groups.values():
            try:
                first = subs[0]
                run = subs + [subs[-1]] * (_bucket(len(subs)) - len(subs) if first.model.device.type == "cuda" else 0)
                shapes = None if first.shape is None else [s.shape for s in run]
                sets = self._generate_batch(first.model, [s.controls for s in run], [s.seed for s in run],
                                            size=first.size, shapes=shapes).texture_sets()[:len(subs)]
            except Exception as exc:  # every caller of the batch gets the same exception; the loop goes on
                with self._lock:
                    self._counts["errors"] += 1
                for sub in subs:
                    sub.future.set_exception(exc)
                continue
            with self._lock:
                self._counts["batches"] += 1
                self._counts["heads"] += len(subs)
                self._counts["multi_batches"] += len(subs) > 1
                self._sizes[len(subs)] += 1
            for sub, tex in zip(subs, sets):
                sub.future.set_result(tex)
