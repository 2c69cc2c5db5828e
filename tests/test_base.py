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


def rodrigues(rotvec: torch.Tensor) -> torch.Tensor:
    """Reference ``[N, 3] → [N, 3, 3]``: R = I + sin θ [k]× + (1 − cos θ) [k]×² (as smplx's batch_rodrigues)."""
    angle = rotvec.norm(dim=1, keepdim=True)
    x, y, z = (rotvec / angle).unbind(1)
    zero = torch.zeros_like(x)
    k = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], 1).view(-1, 3, 3)
    eye = torch.eye(3, dtype=rotvec.dtype)
    return eye + angle.sin()[:, :, None] * k + (1 - angle.cos())[:, :, None] * (k @ k)


def reference_kinematics(rot: torch.Tensor, joints: torch.Tensor, parents: list[int]):
    """Per-joint loop in smplx's form (rotate about each joint, compose with the parent)."""
    b, num = joints.shape[:2]
    world = []
    for j in range(num):
        local = torch.eye(4, dtype=rot.dtype).repeat(b, 1, 1)
        local[:, :3, :3] = rot[:, j]
        offset = joints[:, j] - (joints[:, parents[j]] if j else 0)
        local[:, :3, 3] = offset
        world.append(local if j == 0 else world[parents[j]] @ local)
    world = torch.stack(world, 1)
    transforms = world[..., :3, :].clone()
    transforms[..., 3] -= (world[..., :3, :3] @ joints.unsqueeze(-1)).squeeze(-1)
    return transforms, world[..., :3, 3]


def test_quaternion_basis_is_rodrigues_and_pose_features():
    g = torch.Generator().manual_seed(3)
    rotvec = torch.randn(7, 3, generator=g, dtype=torch.float64) * 2.0  # angles past π too
    homogeneous, features = lbs.rotation_basis(num_joints=8)
    products = lbs.quaternion_products(rotvec.view(-1, 3, 1) * 0.5)
    hom = (products @ homogeneous).view(-1, 4, 4)
    expected = rodrigues(rotvec)
    assert torch.allclose(hom[:, :3, :3], expected, atol=1e-12)
    assert torch.allclose(hom[:, 3], torch.tensor([0.0, 0, 0, 1], dtype=torch.float64).expand(7, 4), atol=1e-12)
    assert torch.equal(hom[:, :3, 3], torch.zeros(7, 3, dtype=torch.float64))
    # joints 1..7 of a batch of one: smplx's pose-corrective features vec(R − I)
    feats = products.view(1, -1) @ features
    assert torch.allclose(feats, (expected - torch.eye(3, dtype=torch.float64)).view(1, -1), atol=1e-12)
    assert features.shape == (16 * 7, 9 * 7) and lbs.rotation_basis(1)[1].numel() == 0


def test_kinematic_tree_groups_siblings():
    assert lbs.KinematicTree.from_parents([-1, 0, 1, 1, 1]).segments == ((1, 2, 0, 0), (2, 5, 1, 0))
    open_parents = [-1, 0, 1, 2, 3, 4, 4, 4, 5, 8, 9, 10, 11]
    segments = lbs.KinematicTree.from_parents(open_parents).segments
    assert segments[4] == (5, 8, 4, 0) and segments[5] == (8, 9, 5, 0)  # jaw/eyes, then tongue00 under the jaw
    for bad in ([0, 0], [-1, 1], [-1, 0, 3, 0], []):
        with pytest.raises(ValueError, match="parents"):
            lbs.KinematicTree.from_parents(bad)


@pytest.mark.parametrize("parents", [[-1, 0, 1, 1, 1], [-1, 0, 1, 2, 3, 4, 4, 4, 5, 8, 9, 10, 11], [-1, 0, 0, 1]])
def test_forward_kinematics_matches_per_joint_loop(parents):
    g = torch.Generator().manual_seed(4)
    b, num = 3, len(parents)
    rotvec = torch.randn(b * num, 3, generator=g, dtype=torch.float64)
    joints = torch.randn(b, num, 3, generator=g, dtype=torch.float64) * 0.1
    translation = torch.randn(b, 3, generator=g, dtype=torch.float64)
    homogeneous, _ = lbs.rotation_basis()
    rotations = (lbs.quaternion_products(rotvec.view(-1, 3, 1) * 0.5) @ homogeneous).view(b, num, 4, 4)
    joints_h = torch.cat([joints, torch.ones(b, num, 1, dtype=torch.float64)], 2).unsqueeze(-1)
    transforms, posed = lbs.forward_kinematics(rotations, joints_h, lbs.KinematicTree.from_parents(parents),
                                               translation)
    ref_transforms, ref_posed = reference_kinematics(rodrigues(rotvec).view(b, num, 3, 3), joints, parents)
    ref_transforms[..., 3] += translation[:, None]
    assert transforms.is_contiguous() and posed.is_contiguous()
    assert torch.allclose(transforms, ref_transforms, atol=1e-12)
    assert torch.allclose(posed, ref_posed + translation[:, None], atol=1e-12)


def test_skin_chunking_is_exact():
    g = torch.Generator().manual_seed(1)
    for b in (1, lbs.CPU_SKIN_CHUNK * 2 + 3):
        v = torch.randn(b, 50, 3, generator=g)
        w = torch.rand(50, 4, generator=g)
        w = w / w.sum(1, keepdim=True)
        t = torch.randn(b, 4, 3, 4, generator=g)
        expected = torch.einsum("vj,bjik,bvk->bvi", w, t[..., :3], v) + torch.einsum("vj,bji->bvi", w, t[..., 3])
        planar = v.transpose(1, 2).contiguous()
        out = lbs.skin(planar, w.t().contiguous(), t)  # planar in, [B, V, 3] out
        assert out.is_contiguous() and torch.allclose(out, expected, atol=1e-5)
        assert torch.equal(lbs.skin(planar, w.t().contiguous(), t, overwrite=True), out)
        assert planar.data_ptr() == lbs.skin(planar, w.t().contiguous(), t, overwrite=True).data_ptr()  # (garbage in)


def test_embedded_points_match_barycentric_points():
    g = torch.Generator().manual_seed(5)
    vertices = torch.randn(4, 30, 3, generator=g, dtype=torch.float64)
    faces = torch.randint(0, 30, (4, 7, 3), generator=g)  # a different embedding per batch item
    bary = torch.rand(4, 7, 3, generator=g, dtype=torch.float64)
    index, weights = lbs.embedding_table(faces, bary)
    expected = torch.stack([lbs.barycentric_points(vertices[i : i + 1], faces[i], bary[i])[0] for i in range(4)])
    assert torch.allclose(lbs.embedded_points(vertices, index, weights), expected, atol=1e-12)
    index, weights = lbs.embedding_table(faces[0], bary[0])  # one embedding for all
    shared = lbs.embedded_points(vertices, index.unsqueeze(0), weights.unsqueeze(0))
    assert torch.allclose(shared, lbs.barycentric_points(vertices, faces[0], bary[0]), atol=1e-12)


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
