"""Animation clips in exported files: Khronos validator, Blender re-import, and the pack CLI options."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from asset_helpers import make_textures
from real_tools import require_tool
from test_fbx import needs_blender
from test_gltf import Glb, validate, validator_missing

import assetgen.heads
from assetgen.animation import attach_animations, from_keyframes, preset, read_livelink_csv, sequence_from_text
from assetgen.asset import build_head_asset
from exporters.cli import main
from exporters.fbx import blender_inspect
from exporters.gltf import export_glb

FPS = 30
CLIPS = ("blink", "smile", "talk", "look_around", "nod")
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "livelink_take.csv"


@pytest.fixture(scope="module")
def model():
    return assetgen.heads.load("open")


@pytest.fixture(scope="module")
def sequences(model):
    seqs = [preset(n, model, fps=FPS, seed=3) for n in CLIPS]
    seqs[2] = seqs[2].blend(seqs[0], offset=0.6, name="talk")  # a blink layered over talking
    keys = from_keyframes({"jawOpen": [(0, 0), (0.4, 0.8, "ease_out"), (1.0, 0)]},
                          {"jaw": [(0, (0, 0, 0)), (0.4, (0.2, 0, 0), "ease_out"), (1.0, (0, 0, 0))]}, fps=FPS)
    said = sequence_from_text("smiles, then winks left and looks up", model, fps=FPS, use_encoder=False).sequence
    return seqs + [keys, said, read_livelink_csv(SAMPLE, fps=FPS)]


@pytest.fixture(scope="module")
def glb_path(model, sequences, tmp_path_factory):
    asset = build_head_asset(model, None, make_textures(64, seed=4), lods=2, provenance={"seed": 1})
    path = tmp_path_factory.mktemp("anim") / "animated.glb"
    path.write_bytes(export_glb(attach_animations(asset, sequences)))
    return path


def test_glb_clips(glb_path, sequences):
    g = Glb(glb_path.read_bytes())
    anims = {a.name: a for a in g.gltf.animations}
    assert list(anims) == [s.name for s in sequences]
    for seq in sequences:
        a = anims[seq.name]
        times = g.read(a.samplers[0].input)[:, 0]
        assert times[-1] == pytest.approx(seq.duration, abs=1e-5) and len(times) == seq.num_frames
        paths = {c.target.path for c in a.channels}
        assert ("weights" in paths) == bool(seq.channels) and ("rotation" in paths) == bool(seq.rotations)


def test_validator_clean(glb_path):
    require_tool(validator_missing())
    (report,) = validate([glb_path])
    issues = report["issues"]
    assert (issues["numErrors"], issues["numWarnings"]) == (0, 0), json.dumps(issues["messages"][:5])


@pytest.mark.slow
def test_blender_reimport(glb_path, sequences):
    needs_blender()
    report = blender_inspect(glb_path, fps=FPS)
    actions = report["actions"]
    for seq in sequences:
        mine = [a for a in actions if a["name"].startswith(seq.name)]
        assert mine, f"no Blender action for clip {seq.name!r}: {[a['name'] for a in actions]}"
        for a in mine:
            start, end = a["frame_range"]
            assert (end - start) / FPS == pytest.approx(seq.duration, abs=1e-4), a["name"]
        keys = [a for a in mine if a["id_root"] == "KEY"]
        assert bool(keys) == bool(seq.channels)
        for a in keys:  # two LODs: one shape-key action each
            assert a["fcurves"] == 52
            assert a["keys"][f'key_blocks["{seq.channels[0]}"].value[0]'] == seq.num_frames
            lo, hi = a["value_range"][f'key_blocks["{seq.channels[0]}"].value[0]']
            ch = seq.channel(seq.channels[0])
            assert (lo, hi) == (pytest.approx(ch.min(), abs=1e-5), pytest.approx(ch.max(), abs=1e-5))
        if seq.rotations:
            arm = [a for a in mine if a["id_root"] == "OBJECT"]
            assert arm and any(k.startswith("pose.bones[") for k in arm[0]["keys"])
            assert all(n == seq.num_frames for k, n in arm[0]["keys"].items() if "rotation_quaternion" in k)


# ---------------------------------------------------------------------------------------------- CLI
SMALL = ["--texture-size", "64", "--lods", "1", "--preview-size", "0"]


def test_cli_animation_and_csv(tmp_path, capsys):
    out = tmp_path / "pack"
    rc = main(["--seed", "2", "--animation", "blink,smile,talk", "--expression-csv", str(SAMPLE), "--fps", "24",
               "--loop", "2", *SMALL, "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    g = pygltflib.GLTF2.load(str(out / "head_0000" / "head.glb"))
    names = [a.name for a in g.animations]
    assert names == ["blink", "smile", "talk", "livelink_take"]
    glb = Glb((out / "head_0000" / "head.glb").read_bytes())
    smile = g.animations[1]
    times = glb.read(smile.samplers[0].input)[:, 0]
    assert times[-1] == pytest.approx(2 * 1.5, abs=1e-4)  # looped twice; the preset ends where it starts
    assert np.diff(times) == pytest.approx(np.full(len(times) - 1, 1 / 24), abs=1e-5)


def test_cli_text_clip_and_vertex_cache(tmp_path, capsys):
    out = tmp_path / "pack"
    rc = main(["--seed", "2", "--animation", "blink", "--animation-text", "smiles, then nods twice", "--fps", "20",
               "--vertex-cache", *SMALL, "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    head = out / "head_0000"
    assert [a.name for a in pygltflib.GLTF2.load(str(head / "head.glb")).animations] == ["blink", "text"]
    manifest = json.loads((head / "manifest.json").read_text())
    assert [a["name"] for a in manifest["animations"]] == ["blink", "text"]
    cache = json.loads((head / "cache" / "vertex_cache.json").read_text())
    assert cache["fps"] == 20.0 and [c["file"] for c in cache["clips"]] == ["blink.pc2", "text.pc2"]
    assert {"cache/blink.pc2", "cache/text.pc2"} <= set(manifest["files"])


@pytest.mark.parametrize("argv,match", [
    (["--animation", "blink,grin"], "--animation: preset: unknown preset 'grin'; available presets: blink"),
    (["--animation", "blink,blink"], "--animation: presets repeated: blink"),
    (["--animation", "blink,"], "--animation: expected a comma list"),
    (["--loop", "2"], "--loop: only used with --animation, --animation-text or --expression-csv"),
    (["--animation", "blink", "--loop", "0"], "--loop: expected 1..1000"),
    (["--animation", "blink", "--fps", "0"], "--fps: expected 1..240"),
    (["--expression-csv", "missing.csv"], "--expression-csv: missing.csv is not a file"),
    (["--expression-csv", "BAD"], "--expression-csv: .*missing \\['JawOpen'\\]"),
    (["--animation-text", "a car drives by"], "--animation-text: text: nothing in 'a car drives by' could be"),
    (["--vertex-cache"], "--vertex-cache: only used with --animation"),
    (["--animation", "nod", "--vertex-cache", "--fps", "500"], "--fps: expected 1..240"),
])
def test_cli_bad_input(argv, match, tmp_path, capsys):
    if "BAD" in argv:
        bad = tmp_path / "bad.csv"
        bad.write_text(SAMPLE.read_text().replace("JawOpen,", "JawOpne,", 1))
        argv = [str(bad) if a == "BAD" else a for a in argv]
    out = tmp_path / "pack"
    assert main([*argv, *SMALL, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert re.search(match, err[0]), err[0]
    assert not out.exists()
