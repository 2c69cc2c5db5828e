"""The Animate RPC over a real local port (issue 7): animated bundles byte-identical to the in-process pipeline,
frame mode equal to ``Sequence.at``, Live Link CSV and keyframe sources, bad inputs, the frame cap, FLAME."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from assetgen import animation, control
from assetgen.client import animate_request
from assetgen.pipeline import PipelineOptions, generate_head, load_model
from assetgen.service import protos
from assetgen.service.animate import MAX_FRAMES, parse_animate_request
from assetgen.service.requests import GenerateSettings, RequestError
from exporters.bundle import BundleOptions, bundle_files
from service_fixture import TINY
from service_fixture import violations as _violations

pb2, pb2_grpc = protos.load()
@pytest.fixture(scope="module")
def spec():
    return control.spec_from_seed(4, load_model("open"))


def _code(fn) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn()
    return info.value


def _check_frames(header, frames, seq: animation.Sequence, fps: float):
    names = list(header.expression_names)
    assert names == list(control.ARKIT_52) and header.fps == pytest.approx(fps)
    expected_times = seq.resample(fps).times - seq.start
    assert header.frames == len(frames) == len(expected_times)
    times = np.array([f.time_s for f in frames])
    np.testing.assert_allclose(times, expected_times, atol=1e-9)
    w, rot = seq.at(times + seq.start)
    got = np.array([list(f.weights) for f in frames])
    want = np.zeros_like(got)
    for j, c in enumerate(seq.channels):
        want[:, names.index(c)] = w[:, j]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert list(header.joints) == [j for j in animation.ROTATION_JOINTS if j in rot]
    if header.joints:
        got_rot = np.array([list(f.rotations) for f in frames])
        np.testing.assert_allclose(got_rot, np.concatenate([rot[j] for j in header.joints], 1), atol=1e-6)
    assert [f.index for f in frames] == list(range(len(frames)))


# ------------------------------------------------------------------------------------------------- asset mode
def test_asset_mode_is_byte_identical_to_the_pipeline(client, spec, tmp_path):
    manifest = client.animate(tmp_path / "anim", spec_json=spec.to_json(), preset="smile, blink", export=TINY)
    seq = animation.preset("smile", "open").concat(animation.preset("blink", "open"), name="smile+blink")
    head = generate_head(spec, model=load_model("open"), options=PipelineOptions(**TINY), animations=[seq])
    local = bundle_files(head, BundleOptions())
    got = (tmp_path / "anim" / "head.glb").read_bytes()
    assert got == local["head.glb"] and len(head.asset.animations) == 1
    assert manifest["spec_hash"] == spec.hash
    for path, data in local.items():
        assert (tmp_path / "anim" / path).read_bytes() == data


# ------------------------------------------------------------------------------------------------ frame mode
def test_frame_mode_preset_equals_sequence_at(client):
    header, frames = client.animate_frames(preset=["talk", "nod"], fps=24)
    seq = animation.preset("talk", "open", fps=24).concat(animation.preset("nod", "open", fps=24))
    _check_frames(header, list(frames), seq, 24)
    assert {"jaw", "neck"} <= set(header.joints)


def test_frame_mode_keyframes(client):
    keys = [(0.0, {"jawOpen": 0.0}), (0.4, {"jawOpen": 0.9, "mouthFunnel": 0.5}), (1.0, {"jawOpen": 0.1})]
    header, frames = client.animate_frames(keyframes=keys, fps=30)
    seq = animation.from_keyframes({"jawOpen": [(0.0, 0.0), (0.4, 0.9), (1.0, 0.1)], "mouthFunnel": [(0.4, 0.5)]},
                                   fps=30, duration=1.0)
    _check_frames(header, list(frames), seq, 30)


def test_live_link_csv_source_frames_and_asset(client, spec, tmp_path):
    src = animation.preset("surprise", "open", fps=60).blend(animation.preset("shake", "open", fps=60))
    text = animation.write_livelink_csv(src, timecode_fps=60)
    header, frames = client.animate_frames(live_link_csv=text.encode("utf-8"), fps=30)
    seq = animation.read_livelink_csv(text, fps=30, name="live_link")
    _check_frames(header, list(frames), seq, 30)
    assert "neck" in header.joints
    _, files = client.animate_files(spec_json=spec.to_json(), live_link_csv=text.encode(), export=TINY)
    head = generate_head(spec, model=load_model("open"), options=PipelineOptions(**TINY), animations=[seq])
    assert files["head.glb"] == bundle_files(head, BundleOptions())["head.glb"]


# ------------------------------------------------------------------------------------------------ bad inputs
def test_unknown_preset_lists_the_presets(client, spec):
    err = _code(lambda: client.animate_files(spec_json=spec.to_json(), preset="smile,grin"))
    msg = _violations(err)["preset"]
    assert "'grin'" in msg and all(n in msg for n in animation.preset_names())


def test_malformed_csv_names_the_columns(client):
    bad = "Timecode,BlendShapeCount,EyeBlinkLeftt\n00:00:00:00.000,1,0.5\n".encode()
    err = _code(lambda: client.animate_frames(live_link_csv=bad))
    msg = _violations(err)["live_link_csv"]
    assert "EyeBlinkLeftt" in msg and "JawOpen" in msg
    err = _code(lambda: client.animate_frames(live_link_csv=b"\xff\xfe junk"))
    assert "UTF-8" in _violations(err)["live_link_csv"]
    err = _code(lambda: client.animate_frames(live_link_csv=b"/etc/passwd"))  # never read as a path
    assert "live_link_csv" in _violations(err)


@pytest.mark.parametrize("kw, field", [
    (dict(preset="smile", fps=500), "fps"),
    (dict(preset="smile", fps=0.5), "fps"),
    (dict(preset="smile", fps=float("nan")), "fps"),
    (dict(preset=" , "), "preset"),
    (dict(), "sequence"),
    (dict(preset="smile", model="flame:0000"), "model"),
    (dict(keyframes=[]), "keyframes.keys"),
    (dict(keyframes=[(0.0, {"jawOpenn": 0.5})]), "keyframes.keys[0].weights"),
    (dict(keyframes=[(0.0, {"jawOpen": 1.5})]), "keyframes.keys[0].weights"),
    (dict(keyframes=[(1.0, {"jawOpen": 0.5}), (0.5, {"jawOpen": 0.1})]), "keyframes.keys[1].time_s"),
])
def test_bad_fields(client, kw, field):
    err = _code(lambda: client.animate_frames(**kw))
    assert field in _violations(err)


def test_asset_mode_needs_a_spec_and_rejects_bad_export(client, spec):
    assert "spec_json" in _violations(_code(lambda: client.animate_files(preset="smile")))
    assert "spec_json" in _violations(_code(lambda: client.animate_files(spec_json="{", preset="smile")))
    err = _code(lambda: client.animate_files(spec_json=spec.to_json(), preset="smile",
                                             export=dict(texture_size=100)))
    assert "export.texture_size" in _violations(err)


def test_frame_cap_is_resource_exhausted(client):
    seconds = MAX_FRAMES / 30 + 1
    err = _code(lambda: client.animate_frames(keyframes=[(0.0, {"jawOpen": 0}), (seconds, {"jawOpen": 1})]))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and str(MAX_FRAMES) in err.details()
    csv = ("Timecode,BlendShapeCount," + ",".join(animation.LIVELINK_COLUMNS[2:]) + "\n"
           + "".join(f"{tc},61," + ",".join(["0"] * 61) + "\n" for tc in ("00:00:00:00.000", "20:00:00:00.000")))
    err = _code(lambda: client.animate_frames(live_link_csv=csv.encode(), fps=240))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_flame_takes_arkit_sources_through_the_mapping(tmp_path, monkeypatch):
    """On a FLAME head, ARKit presets, keyframes, text and Live Link captures become FLAME coefficients through
    the model's ARKit mapping (the same conversion as assetgen.animation.retarget.for_model); nod needs none."""
    from flame_fixture import write_flame_folder

    from assetgen.animation.retarget import arkit_mapping

    monkeypatch.setenv("ASSETGEN_CACHE", str(tmp_path / "cache"))
    # FLAME's layout: 300 identity columns, then the expressions (fewer columns load with no expressions)
    fx = write_flame_folder(tmp_path, num_shape=300, num_expression=10, subdivisions=2)
    model = load_model(str(fx.model))
    fid = control.model_id(model)
    settings = GenerateSettings(models={fid: model})
    mapping = arkit_mapping(model)
    flame_names = tuple(f"expr{i:03d}" for i in range(10))
    plan = parse_animate_request(animate_request(model=fid, preset="smile", frames=True), settings)
    np.testing.assert_allclose(plan.sequence.weights, mapping.convert(animation.preset("smile")).weights)
    plan = parse_animate_request(animate_request(model=fid, keyframes=[(0, {"jawOpen": 0}), (1, {"jawOpen": 1})],
                                                 frames=True), settings)
    assert plan.sequence.channels == flame_names
    np.testing.assert_allclose(plan.sequence.weights[-1], mapping.coefficients({"jawOpen": 1.0}), atol=1e-12)
    plan = parse_animate_request(animate_request(model=fid, text="smiles, then nods", frames=True), settings)
    assert plan.sequence.channels == flame_names and "neck" in plan.sequence.rotations
    csv = animation.write_livelink_csv(animation.preset("blink", duration=1.5), timecode_fps=60).encode()
    plan = parse_animate_request(animate_request(model=fid, live_link_csv=csv, frames=True), settings)
    assert plan.sequence.channels == flame_names
    plan = parse_animate_request(animate_request(model=fid, preset="nod", frames=True), settings)
    assert "neck" in plan.sequence.rotations and plan.sequence.channels == ()


def test_text_sequences(client, spec):
    header, frames = client.animate_frames(text="smiles, then blinks twice and looks left", fps=30)
    frames = list(frames)
    seq = animation.sequence_from_text("smiles, then blinks twice and looks left", fps=30).sequence
    assert header.frames == len(frames) == seq.resample(30).num_frames
    names = list(header.expression_names)
    w, rot = seq.at(seq.resample(30).times)
    got = np.array([list(f.weights) for f in frames])
    np.testing.assert_allclose(got[:, names.index("mouthSmileLeft")], w[:, seq.channels.index("mouthSmileLeft")],
                               atol=1e-6)
    assert "eye_left" in header.joints
    _, files = client.animate_files(spec_json=spec.to_json(), text="nods twice", export=TINY)
    assert "head.glb" in files
    err = _code(lambda: client.animate_frames(text="a car drives by"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "could be animated" in _violations(err)["text"]
    err = _code(lambda: client.animate_frames(text="smiles for 2000 seconds"))
    assert "text" in _violations(err)


# ----------------------------------------------------------------------- GenerateAsset / Crowd export.animations
CLI_TINY = ["--texture-size", "64", "--lods", "1", "--preview-size", "0"]


def _cli_bundle(tmp_path, argv) -> dict[str, bytes]:
    from exporters.cli import main

    out = tmp_path / "pack"
    assert main([*argv, *CLI_TINY, "--out", str(out)]) == 0
    folder = out / "head_0000"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_generate_asset_animations_are_byte_identical_to_the_cli(client, tmp_path):
    local = _cli_bundle(tmp_path, ["--seed", "5", "--animation", "blink,talk", "--fps", "24", "--loop", "2"])
    export = {**TINY, "animations": ["blink", "talk"], "animation_fps": 24, "animation_loop": 2}
    header, files = client.generate_files(seed=5, export=export)
    assert files == local  # every file, manifest.json included
    import pygltflib

    glb = pygltflib.GLTF2.load_from_bytes(files["head.glb"])
    assert [a.name for a in glb.animations] == ["blink", "talk"]
    # the crowd puts the same clips on every head: its head 0 is the CLI's head_0000 of the same seed
    got = list(client.crowd(tmp_path / "crowd", seed=5, count=1, export=export))
    assert [i for i, _ in got] == [0]
    folder = tmp_path / "crowd" / "head_000"
    assert {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == local


@pytest.mark.parametrize("export, field, words", [
    (dict(animations=["blink", "grin"]), "export.animations[1]", ["'grin'", *animation.preset_names()]),
    (dict(animations=["blink,smile"]), "export.animations[0]", ["one preset name per entry"]),
    (dict(animations=["blink", "blink"]), "export.animations", ["repeated"]),
    (dict(animations=["blink"], animation_fps=0.5), "export.animation_fps", ["1..240"]),
    (dict(animations=["blink"], animation_loop=0), "export.animation_loop", ["1..1000"]),
    (dict(animation_fps=24), "export.animation_fps", ["only used with export.animations"]),
])
def test_generate_asset_bad_animations(client, export, field, words, tmp_path):
    err = _code(lambda: client.generate_files(seed=1, export={**TINY, **export}))
    msg = _violations(err)[field]
    assert all(w in msg for w in words), msg
    err = _code(lambda: list(client.crowd(tmp_path, seed=1, count=2, export={**TINY, **export})))
    assert field in _violations(err)


def test_animation_frame_cap_and_animate_refuses_export_animations(client, spec):
    err = _code(lambda: client.generate_files(seed=1, export={**TINY, "animations": ["idle"], "animation_fps": 240,
                                                             "animation_loop": 1000}))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and str(MAX_FRAMES) in err.details()
    err = _code(lambda: client.animate_files(spec_json=spec.to_json(), preset="smile",
                                             export={**TINY, "animations": ["blink"]}))
    assert "sequence" in _violations(err)["export.animations"]
