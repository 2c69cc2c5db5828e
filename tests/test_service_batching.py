"""Micro-batching of concurrent requests' textures (assetgen.service.batching): byte-identical maps, batches that
really form over a real server port, cancellation, errors shared by a batch, shutdown."""

from __future__ import annotations

import threading
import time

import grpc
import numpy as np
import pytest
import torch

from assetgen import control
from assetgen.pipeline import load_model
from assetgen.service import protos
from assetgen.service.batching import TextureBatcher
from assetgen.service.requests import Cancelled, GenerateSettings, build_bundle, parse_generate_request
from assetgen.service.server import ServerSettings
from assetgen.textures.procedural import generate_texture_batch, generate_textures
from service_fixture import TINY, RunningServer

pb2, pb2_grpc = protos.load()
MAPS = ("albedo", "normal", "orm", "displacement")


def _inputs(seed: int):
    """(controls, texture seed, shape) of the head of ``seed`` (what head_surface hands the texture generator)."""
    model = load_model("open")
    inputs = control.resolve(control.spec_from_seed(seed, model), model)
    return {k: float(v) for k, v in inputs.texture.items()}, int(inputs.texture_seed), inputs.shape


def _assert_same(a, b):
    for name in MAPS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    assert a.provenance == b.provenance


def test_texture_batch_is_independent_of_the_batch_on_cpu():
    """A head's maps from generate_texture_batch equal its generate_textures maps whatever else is in the batch
    (other identities, asymmetry 0 next to asymmetry > 0, other order)."""
    model = load_model("open")
    heads = [_inputs(s) for s in (0, 1, 3)]
    heads.append(({**heads[0][0], "asymmetry": 0.0}, 7, heads[0][2]))
    alone = [generate_textures(model, controls=c, seed=s, size=64, shape=sh) for c, s, sh in heads]
    for order in ([0, 1, 2, 3], [3, 1], [2, 0]):
        batch = generate_texture_batch(model, [heads[i][0] for i in order], [heads[i][1] for i in order], size=64,
                                       shapes=[heads[i][2] for i in order]).texture_sets()
        for i, got in zip(order, batch):
            _assert_same(got, alone[i])


def _parallel(fn, args_list):
    """Run ``fn(*args)`` for each args in threads; (results or exceptions) in order."""
    out = [None] * len(args_list)

    def call(i, args):
        try:
            out[i] = fn(*args)
        except BaseException as exc:  # noqa: BLE001  (returned to the test)
            out[i] = exc

    threads = [threading.Thread(target=call, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_batcher_groups_concurrent_heads_with_the_same_maps():
    model = load_model("open")
    heads = [_inputs(s) for s in (2, 5, 9)]
    batcher = TextureBatcher(window_ms=5000, max_batch=3)  # the batch starts as soon as the three are in
    try:
        got = _parallel(lambda c, s, sh: batcher.textures(model, controls=c, seed=s, size=64, shape=sh), heads)
        for (c, s, sh), tex in zip(heads, got):
            _assert_same(tex, generate_textures(model, controls=c, seed=s, size=64, shape=sh))
        stats = batcher.stats()
        assert stats["submitted"] == 3 and stats["heads"] == 3 and stats["batches"] == 1
        assert stats["multi_batches"] == 1 and stats["max_batch"] == 3 and stats["sizes"] == {3: 1}
        # different sizes never share a batch
        got = _parallel(lambda size: batcher.textures(model, controls=heads[0][0], seed=1, size=size), [(64,), (32,)])
        assert [g.albedo.shape[0] for g in got] == [64, 32]
        assert batcher.stats()["batches"] == 3
    finally:
        batcher.close()
    assert not batcher.running


class _Boom(RuntimeError):
    pass


def test_batch_errors_reach_every_caller_and_the_loop_goes_on():
    calls = []

    def failing(model, controls_list, seeds, **kw):
        calls.append(len(seeds))
        if len(calls) == 1:
            raise _Boom("the batch failed")
        return generate_texture_batch(model, controls_list, seeds, **kw)

    model = load_model("open")
    batcher = TextureBatcher(window_ms=5000, max_batch=2, generate_batch=failing)
    try:
        got = _parallel(lambda s: batcher.textures(model, seed=s, size=16), [(1,), (2,)])
        assert calls == [2] and all(isinstance(g, _Boom) for g in got) and got[0] is got[1]
        ok = batcher.textures(model, seed=3, size=16, cancel=threading.Event())  # the loop still runs
        _assert_same(ok, generate_textures(model, seed=3, size=16))
        with pytest.raises(ValueError, match="controls"):  # bad input fails alone, before any batch
            batcher.textures(model, controls={"nope": 1.0}, size=16)
        stats = batcher.stats()
        assert stats["errors"] == 1 and stats["batches"] == 1 and stats["submitted"] == 3
    finally:
        batcher.close()


class _Background:
    """``fn()`` in a daemon thread; ``result(timeout)`` is its value or exception."""

    def __init__(self, fn):
        self._value, self._done = None, threading.Event()

        def run():
            try:
                self._value = fn()
            except BaseException as exc:  # noqa: BLE001
                self._value = exc
            self._done.set()

        threading.Thread(target=run, daemon=True).start()

    def result(self, timeout):
        assert self._done.wait(timeout), "timed out"
        return self._value


def test_cancelled_submission_is_dropped_and_close_stops_the_thread():
    started, release = threading.Event(), threading.Event()

    def slow(model, controls_list, seeds, **kw):
        started.set()
        release.wait(30)
        return generate_texture_batch(model, controls_list, seeds, **kw)

    model = load_model("open")
    batcher = TextureBatcher(window_ms=0, max_batch=1, generate_batch=slow)
    try:
        first = _Background(lambda: batcher.textures(model, seed=1, size=16))
        assert started.wait(30)  # the loop is busy with the first head
        cancel = threading.Event()
        second = _Background(lambda: batcher.textures(model, seed=2, size=16, cancel=cancel))
        time.sleep(0.2)
        cancel.set()  # its call ended while it waited: the caller stops at once, the submission is dropped
        assert isinstance(second.result(10), Cancelled)
        release.set()
        _assert_same(first.result(60), generate_textures(model, seed=1, size=16))
    finally:
        release.set()
        batcher.close()
    stats = batcher.stats()
    assert stats["cancelled"] == 1 and stats["dropped"] == 1 and stats["heads"] == 1
    assert not batcher.running
    # after close, submissions are made unbatched in the caller's thread
    _assert_same(batcher.textures(model, seed=4, size=16), generate_textures(model, seed=4, size=16))
    assert batcher.stats()["submitted"] == 2


def test_batcher_validates_its_settings():
    with pytest.raises(ValueError, match="window_ms"):
        TextureBatcher(window_ms=-1)
    with pytest.raises(ValueError, match="max_batch"):
        TextureBatcher(max_batch=0)
    with pytest.raises(ValueError, match="max_batch"):
        ServerSettings(max_batch=0)


def test_server_batches_concurrent_requests_with_unbatched_bytes():
    """Several concurrent GenerateAsset calls over a real port on a CPU server with batching on: batches of more
    than one form, and every bundle is byte-identical to the unbatched build of the same request."""
    n = 3
    srv = RunningServer(ServerSettings(max_concurrency=n, workers=n, device="cpu", batch_textures=True,
                                       batch_window_ms=5000, max_batch=n))
    requests = [pb2.GenerateAssetRequest(seed=11 + i, export=pb2.ExportOptions(**TINY)) for i in range(n)]
    try:
        assert srv.service.batcher is not None and srv.service.batcher.running

        def call(req):
            with grpc.insecure_channel(srv.target) as ch:
                chunks = list(pb2_grpc.AssetGeneratorStub(ch).GenerateAsset(req, timeout=300))
            files = {}
            for c in chunks[1:]:
                files[c.file.path] = files.get(c.file.path, b"") + c.file.data
            return files

        got = _parallel(call, [(r,) for r in requests])
        stats = srv.service.batching_stats()
        assert stats["multi_batches"] >= 1 and stats["max_batch"] > 1, stats
        assert stats["heads"] == n and stats["errors"] == 0
        settings = GenerateSettings(device="cpu")
        for req, files in zip(requests, got):
            assert isinstance(files, dict), files
            alone = build_bundle(parse_generate_request(req, settings)).files
            assert files == alone
    finally:
        batcher = srv.service.batcher
        srv.close()
    assert not batcher.running  # the batcher stops with the server


def test_batching_defaults_off_on_cpu(server):
    assert server.service.batcher is None and server.service.batching_stats() == {}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_texture_batch_on_cuda_stays_close_to_alone():
    """On CUDA the batched identity forward may round differently from batch 1: a head's batched maps stay within
    a few codes of its maps made alone, in a tiny fraction of texels (the tolerance the module docstring states)."""
    model = load_model("open")
    heads = [_inputs(s) for s in (0, 1, 3, 4)]
    alone = [generate_textures(model, controls=c, seed=s, size=256, shape=sh, device="cuda") for c, s, sh in heads]
    batch = generate_texture_batch(model, [h[0] for h in heads], [h[1] for h in heads], size=256,
                                   shapes=[h[2] for h in heads], device="cuda").texture_sets()
    for got, ref in zip(batch, alone):
        for name in ("albedo", "normal", "orm"):
            diff = np.abs(getattr(got, name).astype(np.int16) - getattr(ref, name).astype(np.int16))
            assert diff.max() <= 16 and diff.mean() < 0.05, (name, diff.max(), diff.mean())
        disp = np.abs(got.displacement.astype(np.int32) - ref.displacement.astype(np.int32))
        assert disp.max() <= 64


def test_server_deadline_drops_the_waiting_submission():
    """A call whose deadline passes while its head waits for a batch ends DEADLINE_EXCEEDED; its submission is
    dropped (nothing is generated for it) and the batcher keeps serving."""
    srv = RunningServer(ServerSettings(max_concurrency=2, workers=2, device="cpu", batch_textures=True,
                                       batch_window_ms=8000, max_batch=8))
    try:
        with grpc.insecure_channel(srv.target) as ch:
            stub = pb2_grpc.AssetGeneratorStub(ch)
            with pytest.raises(grpc.RpcError) as info:
                list(stub.GenerateAsset(pb2.GenerateAssetRequest(seed=3, export=pb2.ExportOptions(**TINY)),
                                        timeout=3.0))
            assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            deadline = time.monotonic() + 30
            while srv.service.batching_stats()["dropped"] < 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            stats = srv.service.batching_stats()
            assert stats["submitted"] == 1 and stats["cancelled"] == 1 and stats["dropped"] == 1, stats
            assert stats["heads"] == 0 and srv.service.batcher.running
    finally:
        srv.close()
