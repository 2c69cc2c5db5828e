"""The gRPC service over a real local port: a real ``grpc.aio`` server on port 0 and a real client."""

from __future__ import annotations

import hashlib
import json
import time

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from service_fixture import RunningServer
from service_fixture import violations as _violations
from assetgen import control
from assetgen.pipeline import PipelineOptions, generate_head, load_model
from assetgen.service import protos
from assetgen.service.server import ServerSettings
from exporters.bundle import BundleOptions, bundle_files

pb2, pb2_grpc = protos.load()
SMALL = dict(texture_size=64, lods=1, preview_size=48)
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def server():
    srv = RunningServer(ServerSettings(max_concurrency=1, device="cpu", workers=2))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as ch:
        yield ch


@pytest.fixture(scope="module")
def stub(channel):
    return pb2_grpc.AssetGeneratorStub(channel)


def _request(**kw) -> pb2.GenerateAssetRequest:
    export = kw.pop("export", pb2.ExportOptions(**SMALL))
    return pb2.GenerateAssetRequest(export=export, **kw)


def _collect(stub, req, metadata=None):
    """(header, files path → bytes, chunk sizes) from one GenerateAsset stream, checking offsets and order."""
    chunks = list(stub.GenerateAsset(req, timeout=60, metadata=metadata))
    assert chunks[0].WhichOneof("payload") == "header"
    header, files, sizes, done = chunks[0].header, {}, [], set()
    for c in chunks[1:]:
        assert c.WhichOneof("payload") == "file"
        f = c.file
        assert f.path not in done and len(files.get(f.path, b"")) == f.offset
        files[f.path] = files.get(f.path, b"") + f.data
        sizes.append(len(f.data))
        if f.last:
            done.add(f.path)
    assert done == set(files)
    return header, files, sizes


def _in_process(spec) -> bytes:
    head = generate_head(spec, model=load_model("open"), options=PipelineOptions(**SMALL))
    return bundle_files(head, BundleOptions())["head.glb"]


def test_describe_models(stub):
    resp = stub.DescribeModels(pb2.DescribeModelsRequest(), timeout=60)
    (m,) = resp.models
    assert m.id == "open" and "CC0" in m.license
    assert list(m.expression_names) == list(control.ARKIT_52) and len(m.expression_names) == 52
    sections = {s.name: {c.name: c for c in s.controls} for s in resp.models[0].sections}
    assert {"identity", "expression", "pose", "texture", "lighting"} <= set(sections)
    age = sections["identity"]["age"]
    assert (age.min, age.max, age.unit) == (18.0, 90.0, "years")
    assert set(sections["texture"]) == set(control.TEXTURE_CONTROLS)
    assert m.latent_dim == 512 and list(m.formats)[0] == "glb" and 64 in m.texture_sizes
    assert list(m.lighting_presets) == list(control.LIGHTING_PRESETS)
    assert resp.limits.max_chunk_bytes == 1 << 20 and resp.limits.max_concurrent_streams == 1
    assert resp.versions.api == "assetgen.v1" and set(resp.rpcs_served) == {
        "DescribeModels", "GenerateAsset", "GenerateCrowd", "RenderPortrait", "Animate"}
    assert "smile" in m.animation_presets and resp.limits.max_frames == 36_000


def test_generate_by_seed_streams_verified_identical_files(stub):
    header, files, sizes = _collect(stub, _request(seed=7, psi=0.7))
    assert max(sizes) <= 1 << 20 and header.chunk_bytes == 1 << 20
    assert len(files["head.glb"]) > 1 << 20, "the glb should need several chunks"
    listed = {f.path: f for f in header.files}
    assert set(listed) == set(files) >= {"head.glb", "textures/albedo.png", "preview.png", "manifest.json"}
    for path, data in files.items():
        assert listed[path].size == len(data) and listed[path].sha256 == hashlib.sha256(data).hexdigest()
    assert header.total_bytes == sum(map(len, files.values()))
    man = json.loads(header.manifest_json)
    assert files["manifest.json"].decode() == header.manifest_json
    for path, info in man["files"].items():
        assert info["sha256"] == listed[path].sha256
    spec = control.spec_from_seed(7, load_model("open"), psi=np.float32(0.7).item())
    assert header.spec_hash == spec.hash == man["spec_hash"]
    assert files["head.glb"] == _in_process(spec)


def test_generate_from_text_params_and_latent(stub):
    model = load_model("open")
    header, files, _ = _collect(stub, _request(text="a very old man, smiling", text_seed=3))
    expected = control.spec_from_text("a very old man, smiling", model, seed=3).spec
    assert header.spec_hash == expected.hash and any("age" in u for u in header.text.understood)

    doc = {"identity": {"age": 60, "sex": 0.2}, "texture": {"skin_tone": 4}}
    coeffs = [0.0] * 52
    coeffs[list(control.ARKIT_52).index("jawOpen")] = 0.5
    header, files, _ = _collect(stub, _request(params=pb2.Params(json=json.dumps(doc),
                                                                 expression_coefficients=coeffs)))
    expected = control.spec_from_params({**doc, "expression": {"coefficients": coeffs}}, model)
    assert header.spec_hash == expected.hash and expected.expression["jawOpen"] == 0.5
    assert files["head.glb"] == _in_process(expected)

    z = np.random.default_rng(0).standard_normal(512).astype(np.float32)
    header, files, _ = _collect(stub, _request(latent=pb2.LatentCode(values=z.tolist()), latent_seed=11))
    expected = control.spec_from_latent(z.astype(np.float64), model, seed=11)
    assert header.spec_hash == expected.hash


@pytest.mark.parametrize("kw, field", [
    (dict(latent=pb2.LatentCode(values=[0.0] * 511)), "latent.values"),
    (dict(latent=pb2.LatentCode(values=[0.0] * 100 + [float("nan")] + [0.0] * 411)), "latent.values"),
    (dict(params=pb2.Params(json='{"identity": {"agee": 30}}')), "params.identity.agee"),
    (dict(params=pb2.Params(json='{"identty": {}}')), "params.identty"),
    (dict(params=pb2.Params(json="{not json")), "params.json"),
    (dict(text="qwerty zxcv"), "text"),
    (dict(seed=1, model="flame:0123456789abcdef"), "model"),
    (dict(seed=1, export=pb2.ExportOptions(texture_size=100, lods=1)), "export.texture_size"),
    (dict(seed=1, export=pb2.ExportOptions(texture_size=4096, lods=1)), "export.texture_size"),
    (dict(seed=1, export=pb2.ExportOptions(texture_size=64, formats=[7])), "export.formats[0]"),
    (dict(seed=1, psi=3.0), "psi"),
    (dict(seed=2**64 - 1), "seed"),
    (dict(), "source"),
])
def test_bad_fields_are_invalid_argument_with_field_violations(stub, kw, field):
    export = kw.pop("export", pb2.ExportOptions(**SMALL))
    with pytest.raises(grpc.RpcError) as info:
        list(stub.GenerateAsset(pb2.GenerateAssetRequest(export=export, **kw), timeout=60))
    violations = _violations(info.value)
    assert field in violations, violations
    if field == "params.identity.agee":
        assert "did you mean 'age'" in violations[field]


def test_every_bad_export_field_is_reported(stub):
    req = pb2.GenerateAssetRequest(seed=1, export=pb2.ExportOptions(texture_size=65, lods=99, preview_size=5000))
    with pytest.raises(grpc.RpcError) as info:
        list(stub.GenerateAsset(req, timeout=30))
    assert {"export.texture_size", "export.lods", "export.preview_size"} <= set(_violations(info.value))


def test_text_animation_streams_frames(stub):
    req = pb2.AnimateRequest(text="smile then blink", mode=pb2.ANIMATE_MODE_FRAMES)
    chunks = list(stub.Animate(req, timeout=60))
    assert chunks[0].WhichOneof("payload") == "header" and chunks[0].header.frames == len(chunks) - 1 > 10
    req = pb2.AnimateRequest(text="the weather is nice", mode=pb2.ANIMATE_MODE_FRAMES)
    with pytest.raises(grpc.RpcError) as info:
        list(stub.Animate(req, timeout=60))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "text" in info.value.details()


def test_health_and_reflection(channel):
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "assetgen.v1.AssetGenerator"):
        resp = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    (resp,) = list(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                             timeout=5))
    names = {s.name for s in resp.list_services_response.service}
    assert {"assetgen.v1.AssetGenerator", "grpc.health.v1.Health"} <= names
    (resp,) = list(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="assetgen.v1.AssetGenerator")]), timeout=5))
    assert resp.file_descriptor_response.file_descriptor_proto


def test_concurrent_streams_beyond_the_limit_are_resource_exhausted(server, stub):
    service = server.server.assetgen_service
    first = stub.GenerateAsset(_request(seed=5, export=pb2.ExportOptions(texture_size=256, lods=1,
                                                                         preview_size=0)), timeout=60)
    deadline = time.time() + 10
    while service.active == 0 and time.time() < deadline:
        time.sleep(0.005)
    assert service.active == 1
    with pytest.raises(grpc.RpcError) as info:
        list(stub.GenerateAsset(_request(seed=6), timeout=30))
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert next(first).WhichOneof("payload") == "header"
    first.cancel()


def test_bearer_token_auth():
    srv = RunningServer(ServerSettings(max_concurrency=1, device="cpu", auth_token=TOKEN))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{srv.port}") as ch:
            stub = pb2_grpc.AssetGeneratorStub(ch)
            for metadata in (None, (("authorization", "Bearer wrong"),)):
                with pytest.raises(grpc.RpcError) as info:
                    stub.DescribeModels(pb2.DescribeModelsRequest(), timeout=30, metadata=metadata)
                assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
                with pytest.raises(grpc.RpcError) as info:
                    list(stub.GenerateAsset(_request(seed=1), timeout=30, metadata=metadata))
                assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            ok = stub.DescribeModels(pb2.DescribeModelsRequest(), timeout=60,
                                     metadata=(("authorization", f"Bearer {TOKEN}"),))
            assert ok.models[0].id == "open"
            health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        srv.close()


def test_stubs_are_generated_and_current():
    assert protos.is_current()
    assert not protos.generate()  # up to date: nothing rewritten
    assert (protos.GENERATED_DIR / "assetgen_pb2_grpc.py").read_text().count("from . import assetgen_pb2") == 1
