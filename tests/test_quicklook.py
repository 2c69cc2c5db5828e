"""Tests of the quick-look command, `python -m assetgen.render` (assetgen/render/quicklook.py)."""

import json

import numpy as np
import pytest
from PIL import Image

from assetgen.render.quicklook import main

FAST = ["--size", "64", "--texture-size", "64"]


def test_portrait_and_maps(tmp_path, capsys):
    out = tmp_path / "head.png"
    assert main([*FAST, "--seed", "3", "--out", str(out), "--textures-out", str(tmp_path / "maps")]) == 0
    img = np.asarray(Image.open(out))
    assert img.shape == (64, 64, 4)
    alpha = img[..., 3]
    assert alpha[0, 0] == 0 and alpha[32, 32] == 255  # transparent background, opaque head in the middle
    assert img[32, 32, :3].std() < 80 and img[alpha > 0, :3].mean() > 40  # lit, not black
    maps = {p.name for p in (tmp_path / "maps").iterdir()}
    assert maps == {"albedo.png", "normal.png", "orm.png", "displacement.png", "displacement.json"}
    assert Image.open(tmp_path / "maps" / "albedo.png").size == (64, 64)
    assert Image.open(tmp_path / "maps" / "displacement.png").mode == "I;16"
    assert json.loads((tmp_path / "maps" / "displacement.json").read_text())["scale_m"] > 0
    assert "wrote" in capsys.readouterr().err


def test_yaw_changes_the_view_and_output_is_deterministic(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.png", "b.png", "c.png"))
    assert main([*FAST, "--out", str(a)]) == 0
    assert main([*FAST, "--out", str(b)]) == 0
    assert main([*FAST, "--yaw", "90", "--out", str(c)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert not np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(c)))


def test_turntable_sheet(tmp_path):
    out = tmp_path / "tt.png"
    assert main([*FAST, "--turntable", "6", "--out", str(out)]) == 0
    sheet = Image.open(out)
    assert sheet.size[0] % 64 == 0 and sheet.size[1] % 64 == 0
    assert (sheet.size[0] // 64) * (sheet.size[1] // 64) >= 6


@pytest.mark.parametrize("args,message", [
    (["--size", "0"], "width"),
    (["--texture-size", "100"], "--texture-size"),
    (["--turntable", "1"], "--turntable"),
    (["--lighting", "moon"], "lighting"),
    (["--model", "/no/such.pkl"], "--model"),
    (["--truncation", "2"], "--truncation"),
    (["--backend", "metal"], "backend"),
])
def test_bad_input_one_line_no_file(tmp_path, capsys, args, message):
    out = tmp_path / "x.png"
    assert main([*FAST, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_out_must_be_a_png_in_an_existing_folder(tmp_path, capsys):
    assert main([*FAST, "--out", str(tmp_path / "x.jpg")]) == 2
    assert main([*FAST, "--out", str(tmp_path / "missing" / "x.png")]) == 2
    assert capsys.readouterr().err.count("error: --out") == 2
