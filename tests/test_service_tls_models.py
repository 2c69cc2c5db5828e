"""The gRPC service with TLS (a self-signed certificate made here), FLAME models (``--flame``) and FBX over a
real local port, through the real Python client."""

from __future__ import annotations

import shutil
import subprocess

import grpc
import pytest

from assetgen.client import AssetGenClient
from assetgen.service.server import ServerSettings
from flame_fixture import write_flame_folder
from service_fixture import RunningServer

TINY = dict(texture_size=64, lods=1, preview_size=0)


def _self_signed(folder):
    """(cert, key) PEM paths for CN=localhost with SANs localhost and 127.0.0.1, made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None,
                    reason="needs the openssl command (the cryptography package is not installed here) to make a "
                           "self-signed certificate")
def test_tls_with_a_self_signed_certificate(tmp_path):
    cert, key = _self_signed(tmp_path)
    srv = RunningServer(ServerSettings(max_concurrency=1, device="cpu", tls_cert=cert, tls_key=key,
                                       auth_token="tok"))
    try:
        with AssetGenClient(srv.target, token="tok", tls_ca=cert, timeout_s=60) as c:
            assert c.describe().models[0].id == "open"
            header, files = c.generate_files(seed=1, export=TINY)
            assert "head.glb" in files
        with AssetGenClient(srv.target, tls_ca=cert, timeout_s=60) as c:  # TLS, but no token
            with pytest.raises(grpc.RpcError) as info:
                c.describe()
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with AssetGenClient(srv.target, token="tok", timeout_s=5) as c:  # plaintext to a TLS port
            with pytest.raises(grpc.RpcError) as info:
                c.describe()
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.close()


def test_tls_settings_go_together(tmp_path):
    with pytest.raises(ValueError, match="tls"):
        ServerSettings(tls_cert=tmp_path / "c.pem")


@pytest.fixture(scope="module")
def flame_server(tmp_path_factory):
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=7, num_expression=3, subdivisions=2)
    srv = RunningServer(ServerSettings(max_concurrency=2, device="cpu", workers=2, flame_models=(fx.model,)))
    yield srv
    srv.close()


def test_flame_model_is_described_and_served(flame_server, tmp_path):
    with AssetGenClient(flame_server.target, timeout_s=120) as c:
        models = {m.id: m for m in c.describe().models}
        (fid,) = [i for i in models if i.startswith("flame:")]
        assert models[fid].kind == "flame" and set(models) == {"open", fid}
        manifest = c.generate(tmp_path / "flame", seed=3, model=fid, export=TINY)
        assert manifest["spec"]["model"] == fid
        (png,) = c.render_portrait([(20, 0, 48)], seed=3, model=fid)
        assert png.startswith(b"\x89PNG")
        with pytest.raises(grpc.RpcError) as info:
            c.generate_files(seed=3, model="flame:ffffffffffffffff", export=TINY)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and fid in info.value.details()


def test_fbx_without_blender_is_failed_precondition():
    srv = RunningServer(ServerSettings(max_concurrency=1, device="cpu", blender="/nonexistent/blender"))
    try:
        with AssetGenClient(srv.target, timeout_s=60) as c:
            assert list(c.describe().models[0].formats) == ["glb"]
            with pytest.raises(grpc.RpcError) as info:
                c.generate_files(seed=1, export={**TINY, "formats": ["fbx"]})
            assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "install_tools.sh" in info.value.details()
    finally:
        srv.close()


def test_fbx_over_grpc(flame_server, tmp_path):
    from exporters.fbx import find_blender

    try:
        find_blender()
    except RuntimeError as exc:
        pytest.skip(f"Blender is not installed: {exc}")
    with AssetGenClient(flame_server.target, timeout_s=300) as c:
        manifest = c.generate(tmp_path / "both", seed=2,
                              export={**TINY, "formats": ["glb", "fbx"], "fbx_preset": "unreal"})
        assert {"head.glb", "head.fbx"} <= set(manifest["files"]) and manifest["fbx_preset"] == "unreal"
        data = (tmp_path / "both" / "head.fbx").read_bytes()
        assert data.startswith(b"Kaydara FBX Binary")
