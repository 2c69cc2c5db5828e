"""exporters.vertex_cache: PC2 encoding, clip sampling, morph and skinning evaluation against the head model's own
forward, and Blender (real tool): its playback of the glb clip equals the cache frame by frame, and its Mesh Cache
modifier plays the cache on the imported mesh exactly."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch
from test_fbx import needs_blender

import assetgen.heads
from assetgen.animation import attach_animations, from_keyframes, preset
from assetgen.asset import build_head_asset
from assetgen.asset.types import Animation
from exporters.fbx import find_blender
from exporters.gltf import export_glb
from exporters.vertex_cache import (BLENDER_MESH_CACHE, decode_pc2, encode_pc2, pose_frames, sample_animation,
                                    vertex_cache_files)

ROT = {"jaw": (0.2, 0.0, 0.0), "neck": (0.1, 0.3, 0.05), "eye_left": (0.1, 0.2, 0.0)}


@pytest.fixture(scope="module")
def model():
    return assetgen.heads.load("open")


@pytest.fixture(scope="module")
def asset(model):
    base = build_head_asset(model, None, None, lods=2, provenance={})
    keys = from_keyframes({"jawOpen": [(0, 0), (1, 1)], "eyeBlinkLeft": [(0, 0), (1, 0.5)]},
                          {j: [(0, (0, 0, 0)), (1, r)] for j, r in ROT.items()}, fps=10, name="keys")
    return attach_animations(base, [keys, preset("blink", model, fps=10)])


def test_pc2_round_trip_and_layout():
    frames = np.random.default_rng(0).normal(size=(4, 7, 3)).astype(np.float32)
    data = encode_pc2(frames, start_frame=2.0, sample_rate=0.5)
    assert data[:12] == b"POINTCACHE2\x00" and len(data) == 32 + 4 * 7 * 12
    back, start, rate = decode_pc2(data)
    np.testing.assert_array_equal(back, frames)
    assert (start, rate) == (2.0, 0.5)
    for bad, match in [(np.zeros((0, 3, 3)), "K >= 1"), (np.zeros((2, 3)), "shape"),
                       (np.full((1, 2, 3), np.nan), "NaN")]:
        with pytest.raises(ValueError, match=match):
            encode_pc2(bad)
    with pytest.raises(ValueError, match="not a PC2"):
        decode_pc2(b"x" * 40)
    with pytest.raises(ValueError, match="expected"):
        decode_pc2(data[:-4])


def test_sampling_is_gltf_linear():
    q1 = np.array([np.sin(0.5), 0, 0, np.cos(0.5)], np.float32)  # 1 rad about x
    anim = Animation("a", times=np.array([0.0, 1.0], np.float32), morph_weights=np.array([[0.0], [1.0]], np.float32),
                     joint_rotations={"jaw": np.array([[0, 0, 0, 1], q1], np.float32)})
    times, w, rot = sample_animation(anim, 4)
    np.testing.assert_allclose(times, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(w[:, 0], times, atol=1e-7)
    np.testing.assert_allclose(rot["jaw"][2], [np.sin(0.25), 0, 0, np.cos(0.25)], atol=1e-6)  # slerp: 0.5 rad
    times, _, _ = sample_animation(Animation("b", times=np.array([0.0, 0.9], np.float32),
                                             morph_weights=np.zeros((2, 1), np.float32)), 4)
    assert times[-1] == pytest.approx(0.9) and times.size == 5  # the last key is always a frame
    with pytest.raises(ValueError, match="fps"):
        sample_animation(anim, 0)


def test_frames_equal_the_model_forward(asset, model):
    """Rotations alone and blendshapes alone equal the head model's forward with the same inputs, on every vertex
    whose skinning fits glTF's 4 influences (the others differ only by the influence limit). Together they follow
    glTF (joints stay where the neutral face puts them: the Blender check below), not the model, whose joints
    follow the expression."""
    parts = asset.lods[0].parts
    mv = np.concatenate([p.model_vertex for p in parts])
    fits = ((model.skin_weights > 1e-6).sum(1) <= 4).numpy()[mv]
    assert fits.mean() > 0.95
    names = list(model.expression_names)
    e = torch.zeros(1, model.num_expression)
    e[0, names.index("jawOpen")], e[0, names.index("eyeBlinkLeft")] = 1.0, 0.5
    poses = dict(jaw_pose=torch.tensor([ROT["jaw"]]), neck_pose=torch.tensor([ROT["neck"]]),
                 eye_pose=torch.tensor([[ROT["eye_left"], (0.0, 0.0, 0.0)]]))
    rot_only = from_keyframes(None, {j: [(0, (0, 0, 0)), (1, r)] for j, r in ROT.items()}, fps=10, name="r")
    morph_only = from_keyframes({"jawOpen": [(0, 0), (1, 1)], "eyeBlinkLeft": [(0, 0), (1, 0.5)]}, fps=10, name="m")
    one = attach_animations(build_head_asset(model, None, None, lods=1, provenance={}), [rot_only, morph_only])
    for anim, kwargs in ((one.animations[0], poses), (one.animations[1], dict(expression=e))):
        times, frames = pose_frames(one, anim, fps=10)
        assert frames.shape == (11, mv.size, 3) and times[-1] == pytest.approx(1.0)
        np.testing.assert_allclose(frames[0], np.concatenate([p.positions for p in parts]), atol=1e-7)
        out = model(**kwargs).vertices[0].double().numpy()[mv]
        np.testing.assert_allclose(frames[-1][fits], out[fits], atol=2e-6)
        assert np.abs(frames[-1] - frames[0]).max() > 2e-3  # it moves
    _, lod1 = pose_frames(asset, asset.animations[0], fps=10, lod=1)
    assert lod1.shape[1] == sum(p.positions.shape[0] for p in asset.lods[1].parts)


def test_files_and_determinism(asset):
    files = vertex_cache_files(asset, fps=10)
    assert sorted(files) == ["cache/blink.pc2", "cache/keys.pc2", "cache/vertex_cache.json"]
    doc = json.loads(files["cache/vertex_cache.json"])
    assert doc["mesh"] == "head_LOD0" and doc["fps"] == 10.0 and doc["blender_mesh_cache"] == BLENDER_MESH_CACHE
    assert [c["clip"] for c in doc["clips"]] == ["keys", "blink"] and doc["clips"][0]["samples"] == 11
    assert [r["part"] for r in doc["parts"]] == [p.name for p in asset.lods[0].parts]
    assert doc["parts"][0]["first"] == 0 and doc["parts"][-1]["end"] == doc["points"]
    frames, _, _ = decode_pc2(files["cache/keys.pc2"])
    assert frames.shape[1] == doc["points"]
    assert vertex_cache_files(asset, fps=10) == files
    with pytest.raises(ValueError, match="no animation clips"):
        vertex_cache_files(build_head_asset(assetgen.heads.load("open"), None, None, lods=1, provenance={}))
    with pytest.raises(ValueError, match="lod"):
        pose_frames(asset, asset.animations[0], lod=5)


@pytest.mark.slow
def test_blender_mesh_cache_plays_it_exactly(asset, tmp_path):
    needs_blender()
    files = vertex_cache_files(asset, fps=10)
    (tmp_path / "head.glb").write_bytes(export_glb(asset))
    (tmp_path / "keys.pc2").write_bytes(files["cache/keys.pc2"])
    args = dict(glb=str(tmp_path / "head.glb"), pc2=str(tmp_path / "keys.pc2"), fps=10, frames=[0, 5, 10],
                settings=BLENDER_MESH_CACHE, out=str(tmp_path / "out.json"))
    script = __file__.rsplit("/", 1)[0] + "/blender/mesh_cache_check.py"
    subprocess.run([find_blender(), "-b", "--factory-startup", "--python-exit-code", "3", "--python", script, "--",
                    json.dumps(args)], check=True, capture_output=True, timeout=300)
    got = json.loads((tmp_path / "out.json").read_text())
    frames, _, _ = decode_pc2(files["cache/keys.pc2"])
    for f in (0, 5, 10):
        expected = np.stack([frames[f][:, 0], -frames[f][:, 2], frames[f][:, 1]], 1)  # glTF → Blender (+Z up)
        # the cache played by the Mesh Cache modifier with the documented settings
        np.testing.assert_allclose(np.array(got["frames"][str(f)]).reshape(-1, 3), expected, atol=1e-6)
        # Blender's own playback of the glb clip (shape keys, then the armature) at the same frame
        np.testing.assert_allclose(np.array(got["played"][str(f)]).reshape(-1, 3), expected, atol=1e-5)
