"""three.js ``AnimationMixer`` in headless Chromium plays the exported clips: morph weights and bone rotations at
chosen times match the clips (within 1e-3). Real tools as in tests/test_threejs.py (page:
tests/js/animation_check.html + .mjs).
"""

from __future__ import annotations

import subprocess
import tempfile

import numpy as np
import pytest
from asset_helpers import make_textures
from real_tools import require_tool
from scipy.spatial.transform import Rotation, Slerp
from test_threejs import CHROMIUM_FLAGS, _Server, chromium, tools_missing

import assetgen.heads
from assetgen.animation import attach_animations, preset, sequence_from_text
from assetgen.asset import build_head_asset
from exporters.gltf import export_glb

TIMES = (0.0, 0.1, 0.2337, 0.5, 0.81, 1.25, 1.7, 2.4)
MORPHS = ("jawOpen", "eyeBlinkLeft", "mouthSmileLeft", "mouthFunnel", "eyeLookOutLeft")
BONES = ("jaw", "neck01", "head", "eye.L")



@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require_tool(tools_missing())
    model = assetgen.heads.load("open")
    talk = preset("talk", model, duration=2.5, seed=4).blend(preset("blink", model), offset=0.2, name="talk")
    said = sequence_from_text("winks right, then shakes his head twice", model, use_encoder=False).sequence
    clips = [preset("smile", model), talk, preset("look_around", model), preset("nod", model), said]
    asset = attach_animations(build_head_asset(model, None, make_textures(64), lods=2, provenance={}), clips)
    shot = tmp_path_factory.mktemp("anim-threejs") / "shot.png"
    with _Server(export_glb(asset)) as server, tempfile.TemporaryDirectory(prefix="assetgen-chromium-") as profile:
        url = (f"http://127.0.0.1:{server.port}/animation_check.html?glb=/asset.glb"
               f"&times={','.join(map(str, TIMES))}"
               f"&morphs={','.join(MORPHS)}&bones={','.join(BONES)}")
        cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        server.got.wait(timeout=5)
    assert server.results, f"the page posted no result (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    result = server.results[-1]
    assert result.get("ok"), result.get("error")
    return result, asset


@pytest.mark.slow
def test_mixer_matches_clips(run):
    result, asset = run
    assert sorted(result["clips"]) == sorted(a.name for a in asset.animations)
    names = asset.morph_target_names
    checked = 0
    for anim in asset.animations:
        got = result["clips"][anim.name]
        assert got["duration"] == pytest.approx(float(anim.times[-1]), abs=1e-6)
        times = anim.times.astype(np.float64)
        for sample in got["samples"]:
            t = sample["t"]
            for m in MORPHS:
                expected = (0.0 if anim.morph_weights is None
                            else np.interp(t, times, anim.morph_weights[:, names.index(m)]))
                assert sample["weights"][m] == pytest.approx(expected, abs=1e-3), (anim.name, t, m)
                checked += 1
            for bone in BONES:
                if bone not in anim.joint_rotations:
                    continue
                keys = Rotation.from_quat(anim.joint_rotations[bone].astype(np.float64))
                q = Slerp(times, keys)([t]).as_quat()[0]
                got_q = np.array(sample["bones"][bone])
                assert min(np.abs(got_q - q).max(), np.abs(got_q + q).max()) < 1e-3, (anim.name, t, bone)
                checked += 1
    assert checked > 100
    talk = result["clips"]["talk"]["samples"]
    assert max(s["weights"]["jawOpen"] for s in talk) > 0.1  # the clip really moves the face
