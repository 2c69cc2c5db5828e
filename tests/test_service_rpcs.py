"""Slice 2 of the gRPC service over a real local port: RenderPortrait, GenerateCrowd, caps, deadlines and
cancellation, FLAME models and FBX, through the real Python client (``assetgen.client``)."""

from __future__ import annotations

import io
import json
import os
import threading
import time

import grpc
import numpy as np
import pytest
from PIL import Image

from assetgen import control
from assetgen.client import AssetGenClient
from assetgen.pipeline import load_model
from assetgen.service import protos
from assetgen.service.crowds import FEMALE_SEX, MALE_SEX, crowd_spec, parse_crowd_request
from assetgen.service.portraits import parse_portrait_request, render_portraits
from assetgen.service.requests import GenerateSettings
from assetgen.service.server import ServerSettings
from service_fixture import TINY, RunningServer
from service_fixture import violations as _violations

pb2, pb2_grpc = protos.load()
def _code(fn) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


# -------------------------------------------------------------------------------------------------- describe
def test_describe_lists_slice_two(client):
    d = client.describe()
    assert set(d.rpcs_served) == {"DescribeModels", "GenerateAsset", "GenerateCrowd", "RenderPortrait", "Animate"}
    assert d.limits.max_crowd_size == 64 and d.limits.max_preview_size == 2048


# -------------------------------------------------------------------------------------------------- portrait
def test_render_portrait_cameras_lighting_and_sources(client):
    pngs = client.render_portrait([(0, 0, 64), (45, 10, 32)], seed=3, lighting="soft")
    assert [_decode(p).shape for p in pngs] == [(64, 64, 4), (32, 32, 4)]
    assert _decode(pngs[0])[..., 3].max() == 255 and _decode(pngs[0])[0, 0, 3] == 0  # head on transparent
    spec = control.spec_from_seed(3, load_model("open"))
    same = client.render_portrait([(0, 0, 64), (45, 10, 32)], spec_json=spec.to_json(), lighting="soft")
    assert same == pngs
    req = pb2.RenderPortraitRequest(spec_json=spec.to_json(), lighting=pb2.Lighting(preset="soft"),
                                    cameras=[pb2.Camera(yaw_deg=0, pitch_deg=0, size=64)])
    (local,) = render_portraits(parse_portrait_request(req, GenerateSettings()))
    assert local.png == pngs[0]
    sh = np.zeros(27)
    sh[0:3] = 0.8
    lit = client.render_portrait([(0, 0, 48)], seed=3, lighting=sh.tolist())
    assert _decode(lit[0]).shape == (48, 48, 4)
    default = client.render_portrait(text="an old woman", text_seed=2)  # one default camera, 512 px
    assert _decode(default[0]).shape == (512, 512, 4)


@pytest.mark.parametrize("kw, field", [
    (dict(cameras=[(0, 0, 64)], lighting=[0.1] * 26, seed=1), "lighting.sh.coefficients"),
    (dict(cameras=[(0, 0, 64)], lighting="neon", seed=1), "lighting.preset"),
    (dict(cameras=[(0, 95, 64)], seed=1), "cameras[0].pitch_deg"),
    (dict(cameras=[(float("nan"), 0, 64)], seed=1), "cameras[0].yaw_deg"),
    (dict(cameras=[(0, 0, 8)], seed=1), "cameras[0].size"),
    (dict(cameras=[(0, 0, 64)]), "spec_json"),
    (dict(cameras=[(0, 0, 64)], spec_json="{not json"), "spec_json"),
    (dict(cameras=[(0, 0, 64)], latent=[0.0] * 3), "head.latent.values"),
    (dict(cameras=[(0, 0, 64)], seed=1, model="flame:0000"), "head.model"),
])
def test_render_portrait_bad_fields(client, kw, field):
    err = _code(lambda: client.render_portrait(**kw))
    assert field in _violations(err)


def test_render_portrait_caps_neural_and_both_sources(client):
    err = _code(lambda: client.render_portrait([(0, 0, 4096)], seed=1))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "2048" in err.details()
    err = _code(lambda: client.render_portrait([(0, 0, 32)] * 17, seed=1))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "16" in err.details()
    err = _code(lambda: client.render_portrait([(0, 0, 32)], seed=1, renderer="neural"))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED and "neural portrait generator" in err.details()
    spec = control.spec_from_seed(1, load_model("open")).to_json()
    err = _code(lambda: client.render_portrait([(0, 0, 32)], seed=1, spec_json=spec))
    assert "head" in _violations(err)


# ----------------------------------------------------------------------------------------------------- crowd
def test_crowd_streams_each_head_with_rules(client, tmp_path):
    rules = dict(has_sex_ratio=True, female_fraction=0.5, min_age_years=60, max_age_years=70,
                 lighting_presets=["dramatic", "outdoor"])
    got = list(client.crowd(tmp_path / "crowd", seed=5, count=3, export=TINY, psi=0.8, rules=rules))
    assert sorted(i for i, _ in got) == [0, 1, 2]  # in completion order
    req = pb2.GenerateCrowdRequest(seed=5, count=3, psi=0.8, export=pb2.ExportOptions(**TINY),
                                   rules=pb2.CrowdRules(**rules))
    plan = parse_crowd_request(req, GenerateSettings())
    for i, manifest in got:
        ident = manifest["spec"]["identity"]
        assert ident["sex"] in (FEMALE_SEX, MALE_SEX) and 60 <= ident["age"] <= 70
        assert manifest["spec"]["lighting"]["preset"] in ("dramatic", "outdoor")
        assert manifest["spec_hash"] == crowd_spec(plan, i).hash
        folder = tmp_path / "crowd" / f"head_{i:03d}"
        assert json.loads((folder / "manifest.json").read_text())["spec_hash"] == manifest["spec_hash"]
        assert (folder / "head.glb").stat().st_size > 0
    assert len({m["spec_hash"] for _, m in got}) == 3


@pytest.mark.parametrize("kw, field", [
    (dict(count=0), "count"),
    (dict(count=2, rules=pb2.CrowdRules(has_sex_ratio=True, female_fraction=1.5)), "rules.female_fraction"),
    (dict(count=2, rules=pb2.CrowdRules(female_fraction=0.5)), "rules.has_sex_ratio"),
    (dict(count=2, rules=pb2.CrowdRules(min_age_years=50, max_age_years=30)), "rules.max_age_years"),
    (dict(count=2, rules=pb2.CrowdRules(min_age_years=5, max_age_years=30)), "rules.min_age_years"),
    (dict(count=2, rules=pb2.CrowdRules(lighting_presets=["neon"])), "rules.lighting_presets[0]"),
    (dict(count=2, psi=5.0), "psi"),
    (dict(count=2, seed=2**63 - 1), "seed"),
    (dict(count=2, export=pb2.ExportOptions(texture_size=100)), "export.texture_size"),
])
def test_crowd_bad_fields(client, kw, field):
    kw.setdefault("export", pb2.ExportOptions(**TINY))
    err = _code(lambda: list(client.stub.GenerateCrowd(pb2.GenerateCrowdRequest(**kw), timeout=30)))
    assert field in _violations(err)


def test_crowd_size_cap_is_resource_exhausted(client):
    err = _code(lambda: list(client.stub.GenerateCrowd(pb2.GenerateCrowdRequest(seed=1, count=65), timeout=30)))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "64" in err.details()


def test_crowd_builds_heads_in_parallel_with_identical_bytes(server, client, tmp_path):
    """Two heads at a time on the module's server (2 workers, 2 cores), each the same bytes as built alone."""
    from assetgen.service.crowds import crowd_request
    from assetgen.service.requests import build_bundle

    service = server.service
    width = min(2, os.cpu_count() or 1)
    assert service.crowd_parallelism == width
    inner, lock, state = service._crowd_head_sync, threading.Lock(), {"now": 0, "peak": 0}

    def counting(plan, i, cancel):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        try:
            return inner(plan, i, cancel)
        finally:
            with lock:
                state["now"] -= 1

    service._crowd_head_sync = counting
    try:
        got = list(client.crowd(tmp_path / "crowd", seed=21, count=4, export=TINY))
    finally:
        del service._crowd_head_sync
    assert sorted(i for i, _ in got) == [0, 1, 2, 3] and state["peak"] == width
    plan = parse_crowd_request(pb2.GenerateCrowdRequest(seed=21, count=4, export=pb2.ExportOptions(**TINY)),
                               GenerateSettings())
    for i in (3, 0):  # built alone, in another order: the same bytes
        local = build_bundle(crowd_request(plan, i)).files
        folder = tmp_path / "crowd" / f"head_{i:03d}"
        assert {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == local


def test_crowd_parallelism_setting():
    from assetgen.service.server import crowd_parallelism

    assert crowd_parallelism(ServerSettings(max_concurrency=1)) == 1
    assert crowd_parallelism(ServerSettings(max_concurrency=64)) >= 1
    assert crowd_parallelism(ServerSettings(max_concurrency=8, crowd_parallelism=3)) == 3
    with pytest.raises(ValueError, match="crowd_parallelism"):
        ServerSettings(crowd_parallelism=0)


def _settle(service, key, timeout=15.0):
    """Wait until ``service.stats[key]`` stops changing and no stream is active; returns the count."""
    last, stable = -1, time.time()
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = service.stats[key]
        if now != last:
            last, stable = now, time.time()
        elif service.active == 0 and time.time() - stable > 1.5:
            break
        time.sleep(0.05)
    return last


def test_deadline_and_cancel_stop_the_crowd(server, client):
    service = server.service
    before = _settle(service, "crowd_heads")
    req = pb2.GenerateCrowdRequest(seed=9, count=40, export=pb2.ExportOptions(**TINY))
    err = _code(lambda: list(client.stub.GenerateCrowd(req, timeout=1.0)))
    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    done = _settle(service, "crowd_heads") - before
    assert done < 10, f"{done} heads built after a 1 s deadline: the work did not stop"

    before = _settle(service, "crowd_heads")
    call = client.stub.GenerateCrowd(req, timeout=60)
    first = next(call)
    assert first.head_index in (0, 1) and first.chunk.WhichOneof("payload") == "header"
    call.cancel()
    done = _settle(service, "crowd_heads") - before
    assert done < 10 and service.active == 0


def test_texture_and_request_byte_caps_are_resource_exhausted(tmp_path):
    srv = RunningServer(ServerSettings(max_concurrency=1, device="cpu", max_texture_size=256,
                                       max_request_bytes=64 << 10))
    try:
        with AssetGenClient(srv.target, timeout_s=60) as c:
            assert c.describe().limits.max_texture_size == 256
            err = _code(lambda: c.generate_files(seed=1, export=dict(texture_size=512, lods=1, preview_size=0)))
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "256" in err.details()
            err = _code(lambda: list(c.crowd(tmp_path, seed=1, count=2, export=dict(texture_size=1024))))
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            err = _code(lambda: c.generate_files(text="x" * (100 << 10)))
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert c.describe().models[0].id == "open"  # still serving
    finally:
        srv.close()


# ---------------------------------------------------------------------------------------- client and samples
def test_client_generate_writes_bundle_atomically(client, tmp_path):
    out = tmp_path / "head"
    manifest = client.generate(out, seed=7, psi=0.7, export=dict(texture_size=64, lods=1, preview_size=32))
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == set(manifest["files"]) | {"manifest.json"}
    assert [p for p in tmp_path.iterdir()] == [out]  # no temporary leftovers
    with pytest.raises(FileExistsError):
        client.generate(out, seed=7, export=TINY)
    client.generate(out, seed=8, export=TINY, replace=True)
    assert json.loads((out / "manifest.json").read_text())["spec"]["seed"] == 8


def test_samples_run_against_the_server(server, tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "samples" / "client_examples.py"
    spec = importlib.util.spec_from_file_location("client_examples", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--target", server.target, "--out", str(tmp_path), "--tiny"]) == 0
    assert (tmp_path / "asset" / "manifest.json").is_file()
    assert (tmp_path / "asset_animated" / "head.glb").is_file()
    assert (tmp_path / "portraits" / "portrait_0.png").is_file()
    assert (tmp_path / "crowd" / "head_001" / "manifest.json").is_file()
    assert (tmp_path / "animated" / "head.glb").is_file()
