"""Tests of assetgen.heads.samples with tiny fake head models (a tetrahedron with two joints)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from assetgen.heads import samples
from assetgen.heads.base import HeadModel, HeadModelData, PoseMap

OPEN_SHAPE = ["gender", "age", "nose_width", "chin_height"]
OPEN_EXPR = ["jawOpen", "mouthSmileLeft", "mouthSmileRight", "eyeBlinkLeft", "eyeBlinkRight", "tongueOut"]


def _tetra(num_shape: int, num_expr: int) -> HeadModelData:
    g = torch.Generator().manual_seed(0)
    k = num_shape + num_expr
    return HeadModelData(
        v_template=torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.0, 0.1]]),
        j_template=torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.05, 0.0]]),
        vertex_dirs=torch.randn(k, 4, 3, generator=g) * 0.01,
        joint_dirs=torch.zeros(k, 2, 3),
        pose_dirs=None,
        weights=torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]),
        parents=[-1, 0],
        faces=torch.tensor([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]),
        # Six UVs with a seam: vertex 0 and 1 appear with two different UVs each.
        uvs=torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5], [0.5, 0.5], [1.0, 0.5], [0.5, 1.0]]),
        uv_faces=torch.tensor([[0, 2, 1], [3, 1, 4], [0, 5, 2], [1, 2, 4]]),
    )


class FakeOpen(HeadModel):
    """Bounded like the open head: phenotypes in [0, 1], local changes in [-1, 1], ARKit expressions."""

    model_id = "fake-open"
    license = "CC0-1.0"
    source = "tests"

    def __init__(self, dtype: torch.dtype = torch.float32) -> None:
        super().__init__(
            _tetra(len(OPEN_SHAPE), len(OPEN_EXPR)),
            num_shape=len(OPEN_SHAPE),
            num_identity_coefficients=len(OPEN_SHAPE),
            shape_names=OPEN_SHAPE,
            expression_names=OPEN_EXPR,
            joint_names=["neck", "head"],
            pose_map=PoseMap(source=(0, 1), joint=(0, 1), fraction=(1.0, 1.0)),
            parts={},
            regions={},
            dtype=dtype,
        )

    def shape_bounds(self):
        low = torch.tensor([0.0, 0.0, -1.0, -1.0], dtype=self.dtype)
        high = torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=self.dtype)
        return low, high


class FakeFlame(HeadModel):
    """Unbounded PCA shape and expression, like FLAME."""

    model_id = "flame"
    license = "test"
    source = "tests"

    def __init__(self) -> None:
        super().__init__(
            _tetra(10, 5),
            num_shape=10,
            num_identity_coefficients=10,
            shape_names=[f"shape{i:03d}" for i in range(10)],
            expression_names=[f"expression{i:03d}" for i in range(5)],
            joint_names=["neck", "head"],
            pose_map=PoseMap(source=(0, 1), joint=(0, 1), fraction=(1.0, 1.0)),
            parts={},
            regions={},
        )


def _read_obj(path: Path):
    v, vt, f = [], [], []
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            v.append([float(x) for x in parts[1:]])
        elif parts[0] == "vt":
            vt.append([float(x) for x in parts[1:]])
        elif parts[0] == "f":
            f.append([[int(i) - 1 for i in corner.split("/")] for corner in parts[1:]])
    f = np.array(f)
    return np.array(v), np.array(vt), f[..., 0], f[..., 1]


def test_written_meshes_match_the_model_and_reload(tmp_path):
    model = FakeOpen()
    infos = samples.write_samples(model, tmp_path, count=3, seed=7, formats="both")
    names = sorted(p.name for p in tmp_path.iterdir())
    expected = [f"head_{i:04d}.{ext}" for i in range(3) for ext in ("obj", "ply")]
    assert names == sorted(expected + ["summary.json"])  # and no temp files left behind

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"]["id"] == "fake-open" and summary["seed"] == 7 and summary["count"] == 3
    assert summary["shape_names"] == OPEN_SHAPE and summary["expression_names"] == OPEN_EXPR
    faces, uvs, uv_faces = model.faces.numpy(), model.uvs.numpy(), model.uv_faces.numpy()
    for info, record in zip(infos, summary["samples"]):
        assert record["files"] == [f"head_{info.index:04d}.obj", f"head_{info.index:04d}.ply"]
        shape = torch.tensor([record["shape"]])
        expression = torch.tensor([record["expression"]])
        expected_v = model(shape=shape, expression=expression).vertices[0].numpy()
        np.testing.assert_allclose(record["size_m"], np.ptp(expected_v, axis=0), atol=2e-6)

        v, vt, f, ft = _read_obj(tmp_path / record["files"][0])
        np.testing.assert_allclose(v, expected_v, atol=1e-6)
        np.testing.assert_allclose(vt, uvs, atol=1e-6)
        np.testing.assert_array_equal(f, faces)
        np.testing.assert_array_equal(ft, uv_faces)

        ply = trimesh.load(tmp_path / record["files"][1], process=False)
        np.testing.assert_allclose(ply.vertices[ply.faces], expected_v[faces], atol=1e-6)
        np.testing.assert_allclose(ply.visual.uv[ply.faces], uvs[uv_faces], atol=1e-6)


def test_samples_depend_only_on_seed_and_index(tmp_path):
    model = FakeOpen()
    samples.write_samples(model, tmp_path / "a", count=3, seed=0)
    samples.write_samples(model, tmp_path / "b", count=2, seed=0)
    samples.write_samples(model, tmp_path / "c", count=2, seed=1)
    for name in ("head_0000.obj", "head_0001.obj"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()
    assert (tmp_path / "a" / "head_0000.obj").read_bytes() != (tmp_path / "a" / "head_0001.obj").read_bytes()


def test_open_style_controls_are_modest_and_in_range():
    model = FakeOpen(dtype=torch.float64)
    shape, expression = (t.numpy() for t in samples.sample_controls(model, seed=3, indices=range(300)))
    gender, age, local = shape[:, 0], shape[:, 1], shape[:, 2:]
    assert gender.min() >= 0.1 and gender.max() <= 0.9 and np.ptp(gender) > 0.6  # middle 80 %
    assert age.min() >= 0.5 and age.max() <= 0.9  # adults
    assert np.abs(local).max() <= 1.0 and 0.1 < local.std() < 0.3  # small Gaussian, clipped
    nonzero = (expression != 0).sum(1)
    assert nonzero.min() >= 1 and nonzero.max() <= 6
    active = expression[expression != 0]
    assert active.min() >= 0.1 and active.max() <= 0.7
    left, right = OPEN_EXPR.index("mouthSmileLeft"), OPEN_EXPR.index("mouthSmileRight")
    np.testing.assert_array_equal(expression[:, left], expression[:, right])  # symmetric pairs


def test_flame_style_controls():
    model = FakeFlame()
    shape, expression = (t.numpy() for t in samples.sample_controls(model, seed=0, indices=range(300)))
    assert np.abs(shape).max() <= 2.0 and 0.8 < shape.std() < 1.1
    assert 0.4 < expression.std() < 0.6 and (expression != 0).all()


def test_out_dir_rules(tmp_path):
    model = FakeOpen()
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not empty"):
        samples.write_samples(model, out, count=1)
    (out / "head_0005.obj").write_text("stale")
    samples.write_samples(model, out, count=2, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["head_0000.obj", "head_0001.obj", "notes.txt", "summary.json"]
    with pytest.raises(NotADirectoryError):
        samples.write_samples(model, out / "notes.txt", count=1, force=True)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"count": 0}, "count"),
        ({"count": 1001}, "count"),
        ({"count": True}, "count"),
        ({"count": 1, "seed": -1}, "seed"),
        ({"count": 1, "formats": "stl"}, "formats"),
        ({"count": 1, "formats": []}, "formats"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        samples.write_samples(FakeOpen(), tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv", [["--count", "0"], ["--count", "1001"], ["--format", "stl"], ["--seed", "-1"]])
def test_cli_rejects_bad_input_with_exit_code_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        samples.main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_unknown_model_path(tmp_path, capsys):
    code = samples.main(["--model", str(tmp_path / "missing.pkl"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--model" in err
    assert not (tmp_path / "out").exists()


def test_cli_writes_samples_and_prints_a_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(samples, "load", lambda source: FakeOpen())
    out = tmp_path / "out"
    assert samples.main(["--count", "2", "--seed", "0", "--out", str(out), "--format", "both"]) == 0
    text = capsys.readouterr().out
    assert "head_0000.{obj,ply}" in text and "head_0001.{obj,ply}" in text and str(out.resolve()) in text
    assert (out / "summary.json").is_file()
    assert samples.main(["--count", "1", "--out", str(out)]) == 2  # non-empty, no --force
    assert "--force" in capsys.readouterr().err
    assert samples.main(["--count", "1", "--out", str(out), "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["head_0000.obj", "summary.json"]
