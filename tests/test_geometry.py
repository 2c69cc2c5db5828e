"""Tests of assetgen.geometry: normals, UV-seam splitting and MikkTSpace-style tangents."""

import math

import pytest
import torch

import assetgen.heads as heads
from assetgen.geometry import face_normals, split_uv_seams, vertex_normals, vertex_tangents


def quad():
    """A unit square in the z = 0 plane, two triangles, UVs = (x, y)."""
    v = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=torch.float64)
    f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    return v, f


def test_face_and_vertex_normals_of_a_plane():
    v, f = quad()
    assert torch.allclose(face_normals(v, f), torch.tensor([[0.0, 0, 1], [0, 0, 1]], dtype=torch.float64))
    assert torch.allclose(face_normals(v, f, normalize=False).norm(dim=-1), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(vertex_normals(v, f), torch.tensor([0.0, 0, 1], dtype=torch.float64).expand(4, 3))


def test_vertex_normals_of_a_sphere_point_outward():
    model = heads.load("open")
    out = model()
    n = vertex_normals(out.vertices, model.faces)
    assert n.shape == out.vertices.shape
    assert torch.allclose(n.norm(dim=-1), torch.ones(n.shape[:2]), atol=1e-5)
    # the left eyeball is a closed surface: its normals point away from its centre
    eye = model.faces[model.parts["eye_left"]].unique()
    centre = out.vertices[0, eye].mean(0)
    radial = out.vertices[0, eye] - centre
    assert ((radial * n[0, eye]).sum(-1) > 0).float().mean() > 0.95


def test_vertex_normals_batched_and_isolated_vertex():
    v, f = quad()
    v = torch.cat([v, torch.tensor([[5.0, 5, 5]], dtype=torch.float64)])  # used by no face
    n = vertex_normals(torch.stack([v, v * 2]), f)
    assert n.shape == (2, 5, 3)
    assert torch.equal(n[:, 4], torch.tensor([[0.0, 0, 1], [0, 0, 1]], dtype=torch.float64))


def test_split_uv_seams_keeps_triangles_and_is_deterministic():
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    uv_faces = torch.tensor([[0, 1, 2], [4, 2, 3]])  # vertex 0 has two UVs: a seam
    s = split_uv_seams(faces, uv_faces)
    assert s.num_vertices == 5
    assert torch.equal(s.vertex_index[s.faces], faces)
    assert torch.equal(s.uv_index[s.faces], uv_faces)
    s2 = split_uv_seams(faces, uv_faces)
    assert torch.equal(s.vertex_index, s2.vertex_index) and torch.equal(s.faces, s2.faces)
    with pytest.raises(ValueError, match="uv_faces"):
        split_uv_seams(faces, uv_faces[:1])


def test_split_of_the_open_head_reproduces_every_corner():
    model = heads.load("open")
    s = split_uv_seams(model.faces, model.uv_faces)
    assert torch.equal(s.vertex_index[s.faces], model.faces)
    assert torch.equal(s.uv_index[s.faces], model.uv_faces)
    assert s.num_vertices >= model.num_vertices


def test_tangents_follow_increasing_u_and_handedness_follows_v():
    v, f = quad()
    n = vertex_normals(v, f)
    uv = v[:, :2].clone()
    t = vertex_tangents(v, n, uv, f)
    assert torch.allclose(t[:, :3], torch.tensor([1.0, 0, 0], dtype=torch.float64).expand(4, 3), atol=1e-12)
    assert torch.equal(t[:, 3], torch.ones(4, dtype=torch.float64))  # cross(n, t) = +y = increasing v
    mirrored = uv.clone()
    mirrored[:, 1] = 1 - mirrored[:, 1]  # v runs down: the bitangent flips
    t2 = vertex_tangents(v, n, mirrored, f)
    assert torch.allclose(t2[:, :3], t[:, :3]) and torch.equal(t2[:, 3], -torch.ones(4, dtype=torch.float64))


def test_tangents_are_unit_and_orthogonal_to_normals_on_the_head():
    model = heads.load("open")
    out = model(shape=(torch.rand(2, model.num_shape, generator=torch.Generator().manual_seed(0)) - 0.5) * 0.6)
    s = split_uv_seams(model.faces, model.uv_faces)
    n = vertex_normals(out.vertices, model.faces)[:, s.vertex_index]
    t = vertex_tangents(out.vertices[:, s.vertex_index], n, model.uvs[s.uv_index], s.faces)
    assert t.shape == (2, s.num_vertices, 4)
    assert torch.allclose(t[..., :3].norm(dim=-1), torch.ones(2, s.num_vertices), atol=1e-5)
    assert (t[..., :3] * n).sum(-1).abs().max() < 1e-5
    assert set(t[..., 3].unique().tolist()) <= {-1.0, 1.0}


def test_tangent_of_a_rotated_uv_mapping():
    v, f = quad()
    n = vertex_normals(v, f)
    a = math.radians(30)
    rot = torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=torch.float64)
    uv = v[:, :2] @ rot.T  # u grows along (cos a, -sin a) in xy
    t = vertex_tangents(v, n, uv, f)
    expected = torch.tensor([math.cos(a), -math.sin(a), 0.0], dtype=torch.float64)
    assert torch.allclose(t[:, :3], expected.expand(4, 3), atol=1e-9)


def test_degenerate_uvs_fall_back_to_a_perpendicular_tangent():
    v, f = quad()
    n = vertex_normals(v, f)
    t = vertex_tangents(v, n, torch.zeros(4, 2, dtype=torch.float64), f)
    assert torch.isfinite(t).all()
    assert (t[:, :3] * n).sum(-1).abs().max() < 1e-12
    assert torch.allclose(t[:, :3].norm(dim=-1), torch.ones(4, dtype=torch.float64))
