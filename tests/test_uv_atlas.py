"""Tests of assetgen.render.uv_atlas: texel → (triangle, barycentrics) with built-in padding."""

import pytest
import torch

import assetgen.heads as heads
from assetgen.render.uv_atlas import MAX_ATLAS_SIZE, model_atlas, uv_atlas


def square_layout():
    """The lower-left triangle of the UV square only: half the texels are covered."""
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    return uvs, torch.tensor([[0, 1, 2]])


def test_coverage_and_texel_convention():
    uvs, faces = square_layout()
    a = uv_atlas(uvs, faces, 8)
    # row 0 is the top (v = 1): the covered triangle (u + v <= 1) is in the lower-left of the image
    assert bool(a.covered[-1, 0]) and not bool(a.covered[0, -1])
    assert int(a.covered.sum()) == 36  # centres with (c + 0.5) + (j + 0.5) <= 8: pairs c + j <= 7
    # barycentrics reproduce the texel centre's UV
    pos = a.sample(uvs.to(torch.float32), faces)  # [8, 8, 2] UV of each texel
    r, c = torch.nonzero(a.covered, as_tuple=True)
    assert torch.allclose(pos[r, c, 0], (c.float() + 0.5) / 8, atol=1e-6)
    assert torch.allclose(pos[r, c, 1], 1 - (r.float() + 0.5) / 8, atol=1e-6)


def test_padding_gives_every_texel_a_point_on_the_surface():
    uvs, faces = square_layout()
    a = uv_atlas(uvs, faces, 16)
    assert (a.bary >= 0).all() and torch.allclose(a.bary.sum(-1), torch.ones(16, 16))
    assert (a.distance[a.covered] == 0).all() and (a.distance[~a.covered] > 0).all()
    pos = a.sample(uvs.to(torch.float32), faces)
    assert (pos.sum(-1) <= 1 + 1e-6).all()  # padding texels hold the nearest point of the triangle


def test_open_head_atlas_fills_the_texture():
    model = heads.load("open")
    a = model_atlas(model, 256)
    assert a.face.shape == (256, 256) and a.bary.shape == (256, 256, 3)
    assert float(a.covered.float().mean()) > 0.6  # repacked UVs (MakeHuman's body atlas gave 0.21)
    assert a is not None and model_atlas(model, 256) is a  # cached
    out = model()
    pos = a.sample(out.vertices, model.faces)  # [1, 256, 256, 3] positions in meters
    assert pos.shape == (1, 256, 256, 3)
    lo, hi = out.vertices[0].amin(0), out.vertices[0].amax(0)
    assert ((pos[0] >= lo - 1e-6) & (pos[0] <= hi + 1e-6)).all()
    # batched sampling equals per-item sampling
    both = a.sample(torch.cat([out.vertices, out.vertices * 2]), model.faces)
    assert torch.allclose(both[1], pos[0] * 2, atol=1e-6)


def test_every_triangle_with_uv_area_gets_texels_at_1k():
    model = heads.load("open")
    a = model_atlas(model, 1024)
    hit = torch.zeros(model.faces.shape[0], dtype=torch.bool)
    hit[a.face[a.covered]] = True
    assert float(hit.float().mean()) > 0.97


@pytest.mark.parametrize("size", [0, -4, MAX_ATLAS_SIZE + 1, 2.5, True])
def test_bad_sizes(size):
    uvs, faces = square_layout()
    with pytest.raises(ValueError, match="size"):
        uv_atlas(uvs, faces, size)


def test_bad_layouts():
    uvs, faces = square_layout()
    with pytest.raises(ValueError, match="degenerate"):
        uv_atlas(torch.zeros(3, 2), faces, 8)
    with pytest.raises(ValueError, match="NaN"):
        uv_atlas(torch.tensor([[0.0, 0.0], [float("nan"), 0.0], [0.0, 1.0]]), faces, 8)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        uv_atlas(uvs * 3, faces, 8)
    with pytest.raises(ValueError, match="uv_faces"):
        uv_atlas(uvs, torch.tensor([[0, 1, 7]]), 8)
