"""Tests of assetgen.io: atomic files and folders, deterministic PNGs."""

import io

import numpy as np
import pytest
from PIL import Image

import assetgen.io
from assetgen.io import atomic_folder, atomic_write_bytes, encode_png, json_bytes


def test_atomic_write_bytes_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]
    assert target.stat().st_mode & 0o777 == 0o666 & ~assetgen.io._UMASK  # not mkstemp's 0600


def test_json_bytes_is_canonical():
    assert json_bytes({"b": 1, "a": [1.5, "é"]}) == json_bytes({"a": [1.5, "é"], "b": 1})
    assert json_bytes({"a": "é"}).decode("utf-8").endswith("\n")


@pytest.mark.parametrize("shape,dtype,mode", [((5, 7), np.uint8, "L"), ((5, 7, 1), np.uint8, "L"),
                                              ((5, 7, 2), np.uint8, "LA"), ((5, 7, 3), np.uint8, "RGB"),
                                              ((5, 7, 4), np.uint8, "RGBA"), ((5, 7), np.uint16, "I;16")])
def test_encode_png_round_trips_and_is_deterministic(shape, dtype, mode):
    rng = np.random.default_rng(0)
    px = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    data = encode_png(px)
    assert data == encode_png(px.copy())
    img = Image.open(io.BytesIO(data))
    assert img.mode == mode
    assert np.array_equal(np.asarray(img), px.reshape(shape[:2] + shape[2:] if shape[-1:] != (1,) else shape[:2]))


def test_encode_png_rejects_other_arrays():
    with pytest.raises(ValueError, match="pixels"):
        encode_png(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ValueError, match="pixels"):
        encode_png(np.zeros((4, 4), np.float32))


def test_atomic_folder_success_failure_and_replace(tmp_path):
    final = tmp_path / "pack"
    with atomic_folder(final) as tmp:
        (tmp / "x.txt").write_text("1")
        assert not final.exists()
    assert (final / "x.txt").read_text() == "1"

    with pytest.raises(RuntimeError):
        with atomic_folder(final, replace=True) as tmp:
            (tmp / "x.txt").write_text("2")
            raise RuntimeError("boom")
    assert (final / "x.txt").read_text() == "1"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]  # no temporary left

    with pytest.raises(FileExistsError):
        with atomic_folder(final) as tmp:
            pass
    with atomic_folder(final, replace=True) as tmp:
        (tmp / "y.txt").write_text("3")
    assert sorted(p.name for p in final.iterdir()) == ["y.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack"]
