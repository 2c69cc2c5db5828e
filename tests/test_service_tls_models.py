"""The gRPC service with TLS (a self-signed certificate made here), FLAME models (``--flame``: generation,
portraits, Animate in asset and frame mode, baked export animations) and FBX over a real local port, through the
real Python client."""

from __future__ import annotations

import shutil
import subprocess

import grpc
import numpy as np
import pytest

from assetgen import animation, control
from assetgen.client import AssetGenClient
from assetgen.pipeline import PipelineOptions, generate_head, load_model
from assetgen.service.server import ServerSettings
from flame_fixture import write_flame_folder
from service_fixture import RunningServer
from service_fixture import violations as _violations

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
    # FLAME's layout: 300 identity columns, then the expressions (fewer columns load with no expressions)
    fx = write_flame_folder(tmp_path_factory.mktemp("flame"), num_shape=300, num_expression=10, subdivisions=2)
    srv = RunningServer(ServerSettings(max_concurrency=2, device="cpu", workers=2, flame_models=(fx.model,)))
    srv.flame_path = fx.model
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


def _preset_error(name: str, model) -> str | None:
    """The preset module's refusal of ``name`` on ``model`` (the service passes it through), or None."""
    try:
        animation.preset(name, model)
    except ValueError as exc:
        return str(exc)
    return None


def test_flame_animate_asset_and_frame_modes(flame_server):
    """A FLAME head animated end to end: FLAME-usable presets (nod, look_around) as an animated bundle
    byte-identical to the pipeline's, and as frames equal to the sequence (neck and eye rotations)."""
    from exporters.bundle import BundleOptions, bundle_files

    model = load_model(str(flame_server.flame_path))
    fid = control.model_id(model)
    spec = control.spec_from_seed(6, model)
    with AssetGenClient(flame_server.target, timeout_s=300) as c:
        described = next(m for m in c.describe().models if m.id == fid)
        assert list(described.animation_presets) == animation.presets_for(model)
        assert {"nod", "look_around"} <= set(described.animation_presets)
        header, files = c.animate_files(spec_json=spec.to_json(), model=fid, preset="nod, look_around", export=TINY)
        seq = animation.preset("nod", model).concat(animation.preset("look_around", model), name="nod+look_around")
        head = generate_head(spec, model=model, options=PipelineOptions(**TINY), animations=[seq])
        assert files == {**bundle_files(head, BundleOptions()), "manifest.json": files["manifest.json"]}
        assert header.spec_hash == spec.hash and len(head.asset.animations) == 1

        for name, joints in (("nod", {"neck"}), ("look_around", {"eye_left", "eye_right"})):
            hdr, frames = c.animate_frames(model=fid, preset=name, fps=20)
            frames = list(frames)
            seq = animation.preset(name, model, fps=20)
            times = seq.resample(20).times
            w, rot = seq.at(times)
            assert list(hdr.expression_names) == list(seq.channels) and hdr.fps == 20
            assert list(hdr.joints) == [j for j in animation.ROTATION_JOINTS if j in rot] and joints <= set(hdr.joints)
            assert hdr.frames == len(frames) == len(times)
            got = np.array([list(f.rotations) for f in frames])
            np.testing.assert_allclose(got, np.concatenate([rot[j] for j in hdr.joints], 1), atol=1e-6)
            if seq.channels:  # FLAME coefficients through the ARKit mapping
                np.testing.assert_allclose(np.array([list(f.weights) for f in frames]), w, atol=1e-6)
            else:
                assert all(len(f.weights) == 0 for f in frames)
            moved = np.concatenate([rot[j] for j in joints], 1)
            assert np.abs(moved).max() > 0.05

        refusal = _preset_error("smile", model)  # an ARKit preset on a FLAME head: as the preset module says
        if refusal is not None:
            with pytest.raises(grpc.RpcError) as info:
                c.animate_frames(model=fid, preset="smile")
            assert _violations(info.value)["preset"] == refusal and "nod" in refusal
        else:
            hdr, frames = c.animate_frames(model=fid, preset="smile")
            assert hdr.frames == len(list(frames)) > 0


def test_flame_generate_asset_with_animations(flame_server):
    from exporters.bundle import BundleOptions, bundle_files

    model = load_model(str(flame_server.flame_path))
    fid = control.model_id(model)
    with AssetGenClient(flame_server.target, timeout_s=300) as c:
        header, files = c.generate_files(seed=2, model=fid, export={**TINY, "animations": ["nod", "shake"]})
        spec = control.spec_from_seed(2, model)
        clips = [animation.preset(n, model, seed=2) for n in ("nod", "shake")]
        head = generate_head(spec, model=model, options=PipelineOptions(**TINY), animations=clips)
        assert files["head.glb"] == bundle_files(head, BundleOptions())["head.glb"]
        assert len(head.asset.animations) == 2
        arkit_only = [n for n in animation.preset_names() if n not in animation.presets_for(model)]
        for name in arkit_only[:1]:  # none once FLAME heads take every preset through the ARKit mapping
            with pytest.raises(grpc.RpcError) as info:
                c.generate_files(seed=2, model=fid, export={**TINY, "animations": ["nod", name]})
            msg = _violations(info.value)["export.animations[1]"]
            assert msg == f"animations[1]: {_preset_error(name, model)}" and "look_around" in msg
        with pytest.raises(grpc.RpcError) as info:
            c.generate_files(seed=2, model=fid, export={**TINY, "animations": ["nod", "grin"]})
        assert "'grin'" in _violations(info.value)["export.animations[1]"]


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
