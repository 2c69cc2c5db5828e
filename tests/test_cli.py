"""Tests of the pack command line, `python -m exporters.gltf` (exporters/cli.py)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assetgen import control
from exporters.cli import main

REPO = Path(__file__).resolve().parents[1]
FAST = ["--texture-size", "64", "--lods", "1", "--preview-size", "48"]


def run_cli(*args) -> int:
    return main([str(a) for a in args])


def test_pack_of_seeds(tmp_path, capsys):
    out = tmp_path / "pack"
    assert run_cli("--count", 2, "--seed", 5, "--out", out, *FAST) == 0
    index = json.loads((out / "index.json").read_text())
    assert [h["folder"] for h in index["heads"]] == ["head_0000", "head_0001"]
    assert [h["seed"] for h in index["heads"]] == [5, 6]
    assert index["heads"][0]["spec_hash"] == control.spec_from_seed(5).hash
    manifest = json.loads((out / "head_0001" / "manifest.json").read_text())
    assert manifest["spec"]["seed"] == 6
    sheet = Image.open(out / "contact_sheet.png")
    assert sheet.size == (96, 48)
    assert "wrote 2 head(s)" in capsys.readouterr().err


def test_params_latent_and_edit_doors(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("identity:\n  age: 70\nexpression:\n  mouthSmileLeft: 0.7\n  mouthSmileRight: 0.7\n")
    assert run_cli("--params", params, "--out", tmp_path / "p", *FAST) == 0
    spec = json.loads((tmp_path / "p" / "head_0000" / "manifest.json").read_text())["spec"]
    assert spec["identity"]["age"] == 70 and spec["expression"]["mouthSmileLeft"] == 0.7

    z = np.random.default_rng(0).standard_normal((2, 512))
    np.save(tmp_path / "z.npy", z)
    assert run_cli("--latent", tmp_path / "z.npy", "--truncation", 0.5, "--out", tmp_path / "z", *FAST) == 0
    index = json.loads((tmp_path / "z" / "index.json").read_text())
    assert index["count"] == 2
    assert index["heads"][0]["spec_hash"] == control.specs_from_latents(z, psi=0.5, seeds=[0, 1])[0].hash

    base = tmp_path / "p" / "head_0000" / "manifest.json"
    assert run_cli("--edit", "age += 10", "--base", base, "--out", tmp_path / "e", *FAST) == 0
    edited = json.loads((tmp_path / "e" / "head_0000" / "manifest.json").read_text())["spec"]
    assert edited["identity"]["age"] == 80


@pytest.mark.parametrize("args,message", [
    (["--count", "0"], "--count"),
    (["--count", "10001"], "--count"),
    (["--texture-size", "1000"], "--texture-size"),
    (["--texture-size", "4096"], "--texture-size"),
    (["--lods", "0"], "--lods"),
    (["--model", "/no/such/flame.pkl"], "--model"),
    (["--truncation", "1.5"], "--truncation"),
    (["--text", "x", "--params", "p.json"], "choose one"),
    (["--edit", "age += 1"], "--base"),
    (["--params", "/no/such.yaml"], "params"),
    (["--bogus"], "unrecognized"),
])
def test_bad_arguments_one_line_exit_2_nothing_written(tmp_path, capsys, args, message):
    out = tmp_path / "pack"
    assert run_cli(*FAST, *args, "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left either


def test_existing_non_empty_folder_needs_force(tmp_path, capsys):
    out = tmp_path / "pack"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert run_cli("--out", out, *FAST) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    assert run_cli("--out", out, "--force", *FAST) == 0
    assert not (out / "keep.txt").exists() and (out / "head_0000" / "head.glb").exists()


def test_unwritable_destination(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run_cli("--out", blocker / "pack", *FAST) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_same_command_in_two_processes_gives_byte_identical_files(tmp_path):
    digests = []
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-m", "exporters.gltf", "--count", "1", "--seed", "42",
                        "--out", str(tmp_path / name), *FAST], cwd=REPO, check=True, capture_output=True, timeout=600)
        digests.append(json.loads((tmp_path / name / "index.json").read_text())["heads"][0]["files"])
    assert digests[0] == digests[1]
    assert (tmp_path / "a" / "head_0000" / "head.glb").read_bytes() == (tmp_path / "b" / "head_0000" / "head.glb").read_bytes()


def test_text_door(tmp_path, capsys):
    out = tmp_path / "t"
    assert run_cli(*FAST, "--text", "a very old man with a wide nose, smiling", "--seed", "4", "--out", out) == 0
    spec = json.loads((out / "head_0000" / "manifest.json").read_text())["spec"]
    assert spec["identity"]["age"] >= 70 and spec["identity"]["sex"] > 0.5
    assert spec["expression"]["mouthSmileLeft"] > 0.3
    err = capsys.readouterr().err
    assert "understood:" in err and "age" in err
    assert run_cli(*FAST, "--text", "the weather in paris", "--out", tmp_path / "none") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: text:") and "\n" not in err and not (tmp_path / "none").exists()
    assert run_cli(*FAST, "--edit", "make him look younger", "--base", out / "head_0000" / "manifest.json",
                   "--out", tmp_path / "young") == 0
    young = json.loads((tmp_path / "young" / "head_0000" / "manifest.json").read_text())["spec"]
    assert young["identity"]["age"] < spec["identity"]["age"]


def test_flame_model_through_every_door(tmp_path):
    from flame_fixture import write_flame_folder

    folder = write_flame_folder(tmp_path / "flame").folder  # FLAME 2020 layout: 300 shape + 100 expression
    assert run_cli(*FAST, "--model", folder, "--count", 2, "--out", tmp_path / "seed") == 0
    index = json.loads((tmp_path / "seed" / "index.json").read_text())
    assert index["model"].startswith("flame:") and index["count"] == 2
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"model": "flame", "identity": {"shape": [1.0] + [0.0] * 299},
                                  "expression": {"coefficients": [0.5] * 100}}))
    assert run_cli(*FAST, "--model", folder, "--params", params, "--out", tmp_path / "params") == 0
    base = tmp_path / "params" / "head_0000" / "manifest.json"
    assert json.loads(base.read_text())["provenance"]["head_model"]["id"] == index["model"]
    assert run_cli(*FAST, "--model", folder, "--text", "a wide face with a big nose", "--out", tmp_path / "t") == 0
    assert run_cli(*FAST, "--model", folder, "--edit", "wrinkles *= 2", "--base", base, "--out", tmp_path / "e") == 0
    # a base manifest from another model is refused
    open_base = tmp_path / "open"
    assert run_cli(*FAST, "--out", open_base) == 0
    assert run_cli(*FAST, "--model", folder, "--edit", "age += 1", "--base", open_base / "head_0000" / "manifest.json",
                   "--out", tmp_path / "bad") == 2
