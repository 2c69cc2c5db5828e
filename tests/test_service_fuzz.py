"""Property-based fuzzing of the gRPC service (issue 7): ≥ 1,000 random and malformed GenerateAsset /
RenderPortrait / GenerateCrowd requests against one running server over a real port. Every answer is OK or a
described status (never UNKNOWN), the server never crashes and health is SERVING at the end.

Cheap by construction: most requests fail validation fast; the few valid ones use 64-texel textures, one LOD,
no preview, portraits of at most 32 pixels and crowds of at most 2 heads.
"""

from __future__ import annotations

import math

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetgen import control
from assetgen.service import protos
from assetgen.service.server import ServerSettings
from service_fixture import RunningServer

pb2, pb2_grpc = protos.load()
EXAMPLES = {"asset": 500, "portrait": 350, "crowd": 60, "raw": 150}
OK_OR_DESCRIBED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED,
                   grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.FAILED_PRECONDITION}
_SEEN: dict[str, int] = {}
_CODES: dict[tuple[str, str], int] = {}


@pytest.fixture(scope="module")
def server():
    srv = RunningServer(ServerSettings(max_concurrency=4, device="cpu", workers=2, max_request_bytes=256 << 10,
                                       blender="/nonexistent/blender"))
    yield srv
    with grpc.insecure_channel(srv.target) as ch:  # still up and healthy after everything
        resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        stub = pb2_grpc.AssetGeneratorStub(ch)
        assert stub.DescribeModels(pb2.DescribeModelsRequest(), timeout=30).models[0].id == "open"
    total = sum(_SEEN.values())
    srv.close()
    print(f"\n[fuzz] {total} requests: {dict(sorted(_CODES.items()))}")
    assert total >= 1000, f"only {total} fuzz requests were sent"


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(server.target) as ch:
        yield ch


floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.sampled_from([0.0, 0.5, 1.0, -1.0]))
texts = st.text(max_size=300)
junk_json = st.one_of(texts, st.sampled_from(['{"identity": {"age": 200}}', '{"identity": {"agee": 1}}', "[]", "null",
                                              '{"texture": {"skin_tone": "x"}}', '{"expression": {"jawOpen": 2}}',
                                              '{"pose": {"neck": [1, 2]}}', "{"]))
# 64 texels, 1 LOD, no preview is the only cheap valid export; everything else is mostly invalid.
exports = st.one_of(
    st.just(pb2.ExportOptions(texture_size=64, lods=1, preview_size=0)),
    st.builds(lambda t, l, p, f, a, c: pb2.ExportOptions(texture_size=t, lods=l, preview_size=p, formats=f,
                                                         animations=a, png_compress_level=c),
              st.sampled_from([0, 1, 63, 100, 4096, 2**32 - 1]), st.integers(0, 2**32 - 1),
              st.sampled_from([5000, 2**32 - 1, 0]), st.lists(st.integers(0, 5), max_size=3),
              st.lists(texts, max_size=2), st.integers(0, 2**32 - 1)))


def _source(draw) -> dict:
    kind = draw(st.sampled_from(["seed", "latent", "text", "params", "spec_json", "none", "edit"]))
    if kind == "seed":
        return {"seed": draw(st.one_of(st.integers(2**63, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 50)))}
    if kind == "latent":
        n = draw(st.sampled_from([0, 1, 511, 513, 512]))
        values = draw(st.lists(floats, min_size=min(n, 8), max_size=min(n, 8)))
        vals = (values * (n // max(len(values), 1) + 1))[:n] if values else [0.0] * n
        if n == 512 and all(math.isfinite(v) for v in vals):
            vals[0] = float("nan")  # a valid latent is covered by the service tests; keep this one cheap
        return {"latent": pb2.LatentCode(values=vals)}
    if kind == "text":
        return {"text": draw(st.one_of(texts, st.just("x" * 5000))), "text_seed": draw(st.integers(0, 2**64 - 1))}
    if kind == "params":
        return {"params": pb2.Params(json=draw(junk_json), shape=draw(st.lists(floats, max_size=4)),
                                     expression_coefficients=draw(st.lists(floats, max_size=60)))}
    if kind == "spec_json":
        return {"spec_json": draw(junk_json)}
    if kind == "edit":
        return {"seed": 1, "edit": draw(st.one_of(texts, st.sampled_from(["age += 500", "agee = 3", "sex = ;"])))}
    return {}


@st.composite
def asset_requests(draw):
    req = pb2.GenerateAssetRequest(model=draw(st.one_of(st.just(""), st.just("open"), texts)),
                                   export=draw(exports), **_source(draw))
    for name in ("psi", "expression_scale"):
        if draw(st.booleans()):
            setattr(req, name, draw(floats))
    return req


@st.composite
def portrait_requests(draw):
    req = pb2.RenderPortraitRequest(renderer=draw(st.sampled_from([0, 1, 2, 3])))
    cams = draw(st.lists(st.builds(lambda y, p, s: pb2.Camera(yaw_deg=y, pitch_deg=p, size=s), floats, floats,
                                   st.sampled_from([1, 8, 15, 16, 24, 32, 4096, 2**32 - 1])), min_size=1, max_size=18))
    req.cameras.extend(cams)
    light = draw(st.sampled_from(["none", "preset", "sh"]))
    if light == "preset":
        req.lighting.preset = draw(st.one_of(st.sampled_from(list(control.LIGHTING_PRESETS)), texts))
    elif light == "sh":
        req.lighting.sh.coefficients.extend(draw(st.lists(floats, min_size=25, max_size=29)))
    source = draw(st.sampled_from(["junk", "head", "both", "valid_head", "valid_head"]))
    if source in ("junk", "both"):
        req.spec_json = draw(junk_json)
    if source in ("head", "both"):
        req.head.CopyFrom(draw(asset_requests()))
    if source == "valid_head":
        req.head.seed = draw(st.integers(0, 20))
    else:
        req.model = draw(st.one_of(st.just(""), texts))
    return req


@st.composite
def crowd_requests(draw):
    rules = pb2.CrowdRules(female_fraction=draw(floats), has_sex_ratio=draw(st.booleans()),
                           min_age_years=draw(floats), max_age_years=draw(floats),
                           lighting_presets=draw(st.lists(st.one_of(st.sampled_from(["studio", "soft"]), texts),
                                                          max_size=3)))
    if draw(st.booleans()):
        rules = pb2.CrowdRules()
    req = pb2.GenerateCrowdRequest(seed=draw(st.integers(0, 2**64 - 1)), count=draw(st.sampled_from([0, 1, 2, 65,
                                                                                                    2**32 - 1])),
                                   model=draw(st.sampled_from(["", "open", "flame:00"])), export=draw(exports),
                                   rules=rules)
    if draw(st.booleans()):
        req.psi = draw(floats)
    return req


def _call(channel, method: str, request: bytes, kind: str) -> None:
    _SEEN[kind] = _SEEN.get(kind, 0) + 1
    call = channel.unary_stream(f"/assetgen.v1.AssetGenerator/{method}", request_serializer=lambda b: b,
                                response_deserializer=lambda b: b)
    try:
        for _ in call(request, timeout=60):
            pass
        code = grpc.StatusCode.OK
    except grpc.RpcError as exc:
        code = exc.code()
        assert code in OK_OR_DESCRIBED, (method, code, exc.details())
        assert exc.details(), (method, code)
    _CODES[(method, code.name)] = _CODES.get((method, code.name), 0) + 1


COMMON = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)


@settings(max_examples=EXAMPLES["asset"], **COMMON)
@given(req=asset_requests())
def test_fuzz_generate_asset(channel, req):
    _call(channel, "GenerateAsset", req.SerializeToString(), "asset")


@settings(max_examples=EXAMPLES["portrait"], **COMMON)
@given(req=portrait_requests())
def test_fuzz_render_portrait(channel, req):
    _call(channel, "RenderPortrait", req.SerializeToString(), "portrait")


@settings(max_examples=EXAMPLES["crowd"], **COMMON)
@given(req=crowd_requests())
def test_fuzz_generate_crowd(channel, req):
    _call(channel, "GenerateCrowd", req.SerializeToString(), "crowd")


@settings(max_examples=EXAMPLES["raw"], **COMMON)
@given(raw=st.binary(max_size=300), method=st.sampled_from(["GenerateAsset", "RenderPortrait", "GenerateCrowd"]))
def test_fuzz_malformed_bytes(channel, raw, method):
    _call(channel, method, raw, "raw")
