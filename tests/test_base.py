"""The shared linear-blend HeadModel and its pure LBS functions, on a tiny hand-made model."""

from __future__ import annotations

import math

import pytest
import torch

import assetgen.heads as heads
from assetgen.heads import lbs
from assetgen.heads.base import HeadModel, HeadModelData, PoseMap


def tiny_model(dtype=torch.float64) -> HeadModel:
    """Two triangles on a 5-joint chain (FLAME's joint layout), 2 shape + 1 expression directions."""
    v = torch.tensor([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.0, 0.1, 0.0], [0.0, 0.2, 0.05]], dtype=torch.float64)
    j = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.05, 0.0], [0.0, 0.1, 0.0], [0.03, 0.15, 0.05],
                      [-0.03, 0.15, 0.05]], dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    vdirs = torch.randn(3, 4, 3, generator=g, dtype=torch.float64) * 0.01
    jdirs = torch.randn(3, 5, 3, generator=g, dtype=torch.float64) * 0.01
    w = torch.tensor([[1, 0, 0, 0, 0], [0.5, 0.5, 0, 0, 0], [0, 0.2, 0.8, 0, 0], [0, 0, 0, 0.5, 0.5]],
                     dtype=torch.float64)
    data = HeadModelData(v_template=v, j_template=j, vertex_dirs=vdirs, joint_dirs=jdirs, pose_dirs=None,
                         weights=w, parents=[-1, 0, 1, 1, 1], faces=torch.tensor([[0, 1, 2], [1, 2, 3]]),
                         uvs=torch.rand(4, 2, generator=g, dtype=torch.float64),
                         uv_faces=torch.tensor([[0, 1, 2], [1, 2, 3]]))
    return HeadModel(data, num_shape=2, num_identity_coefficients=2, shape_names=["a", "b"],
                     expression_names=["smile"], joint_names=["global", "neck", "jaw", "eye_l", "eye_r"],
                     pose_map=PoseMap((0, 1, 2, 3, 4), (0, 1, 2, 3, 4), (1.0,) * 5),
                     parts={"skin": torch.tensor([0, 1])}, regions={}, dtype=dtype)


def test_axis_angle_matches_closed_form():
    r = lbs.axis_angle_to_matrix(torch.tensor([[0.0, 0.0, math.pi / 2]], dtype=torch.float64))
    assert torch.allclose(r[0], torch.tensor([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]], dtype=torch.float64), atol=1e-12)
    assert torch.equal(lbs.axis_angle_to_matrix(torch.zeros(2, 3)), torch.eye(3).expand(2, 3, 3))
    rv = torch.randn(100, 3, dtype=torch.float64)
    rot = lbs.axis_angle_to_matrix(rv)
    assert torch.allclose(rot @ rot.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(100, 3, 3), atol=1e-12)
    assert torch.allclose(torch.linalg.det(rot), torch.ones(100, dtype=torch.float64), atol=1e-12)


def test_forward_is_standard_lbs():
    """Neutral shape, jaw rotated: the jaw-weighted vertex turns about the jaw joint."""
    m = tiny_model()
    jaw = torch.tensor([[0.0, 0.0, 0.3]], dtype=torch.float64)
    out = m(jaw_pose=jaw)
    rest = m().vertices[0]
    rot = lbs.axis_angle_to_matrix(jaw)[0]
    j2 = torch.tensor([0.0, 0.1, 0.0], dtype=torch.float64)
    expected = 0.2 * rest[2] + 0.8 * (rot @ (rest[2] - j2) + j2)
    assert torch.allclose(out.vertices[0, 2], expected, atol=1e-12)
    assert torch.allclose(out.vertices[0, 0], rest[0])


def test_translation_moves_everything():
    m = tiny_model()
    t = torch.tensor([[0.1, -0.2, 0.3]], dtype=torch.float64)
    pose = torch.tensor([[0.2, 0.1, -0.3]], dtype=torch.float64)
    a, b = m(neck_pose=pose), m(neck_pose=pose, translation=t)
    assert torch.allclose(b.vertices, a.vertices + t[:, None])
    assert torch.allclose(b.joints, a.joints + t[:, None])


def test_skin_chunking_is_exact():
    g = torch.Generator().manual_seed(1)
    b = lbs.CPU_SKIN_CHUNK * 2 + 3
    v = torch.randn(b, 50, 3, generator=g)
    w = torch.rand(50, 4, generator=g)
    w = w / w.sum(1, keepdim=True)
    t = torch.randn(b, 4, 3, 4, generator=g)
    expected = torch.einsum("vj,bjik,bvk->bvi", w, t[..., :3], v) + torch.einsum("vj,bji->bvi", w, t[..., 3])
    assert torch.allclose(lbs.skin(v, w, t), expected, atol=1e-5)


def test_module_is_stateless_and_movable():
    m = tiny_model(torch.float32)
    before = {k: v.clone() for k, v in m.named_buffers()}
    m(shape=torch.ones(3, 2), expression=torch.ones(3, 1))
    assert all(torch.equal(before[k], v) for k, v in m.named_buffers())
    m64 = m.to(torch.float64)
    assert m64.dtype == torch.float64 and m64().vertices.dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (run on the GPU test machine)")
@pytest.mark.parametrize("source", ["open", "tiny"])
def test_cuda_matches_cpu(source):
    m = heads.load("open") if source == "open" else tiny_model(torch.float32)
    g = torch.Generator().manual_seed(2)
    b = 33
    x = dict(expression=torch.rand(b, m.num_expression, generator=g),
             jaw_pose=torch.randn(b, 3, generator=g) * 0.2, eye_pose=torch.randn(b, 2, 3, generator=g) * 0.2,
             neck_pose=torch.randn(b, 3, generator=g) * 0.2, translation=torch.randn(b, 3, generator=g) * 0.1)
    cpu = m(**x)
    mc = m.to("cuda")
    gpu = mc(**{k: v.cuda() for k, v in x.items()})
    assert (gpu.vertices.cpu() - cpu.vertices).abs().max() < 1e-5
    assert (gpu.joints.cpu() - cpu.joints).abs().max() < 1e-5
    with pytest.raises(ValueError, match="device"):
        mc(jaw_pose=torch.zeros(1, 3))
