"""Camera: clip conventions, round trips, look_at, portrait framing, bad input."""

import math

import pytest
import torch

from assetgen.render.camera import MAX_IMAGE_SIZE, Camera, look_at, portrait_camera


def _camera(batch=2, w=64, h=48):
    eye = torch.tensor([[0.3, 0.2, 1.0], [-0.5, 0.1, 0.8]])[:batch]
    return Camera.from_fov(look_at(eye, torch.zeros(3)), fov_y_deg=30.0, width=w, height=h, near=0.1, far=10.0)


def test_look_at_orthonormal_and_looks_down_minus_z():
    m = look_at(torch.tensor([0.0, 0.0, 2.0]), torch.zeros(3))
    assert torch.allclose(m[0], torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2], [0, 0, 0, 1]]), atol=1e-6)
    m = look_at(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([0.5, 0.0, 0.0]))
    r = m[0, :3, :3]
    assert torch.allclose(r.T @ r, torch.eye(3), atol=1e-6) and abs(float(torch.det(r)) - 1) < 1e-6
    fwd = -r[:, 2]
    assert torch.allclose(fwd, torch.nn.functional.normalize(torch.tensor([-0.5, -2.0, -3.0]), dim=0), atol=1e-6)


def test_project_unproject_round_trip_and_clip_consistency():
    cam = _camera()
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(2, 50, 3, generator=g) * 0.4 - 0.2
    pix = cam.project(pts)
    depth = -cam.to_camera(pts)[..., 2]
    assert torch.allclose(cam.unproject(pix, depth), pts, atol=1e-5)
    clip = cam.to_clip(pts)
    ndc = clip[..., :3] / clip[..., 3:]
    assert torch.allclose(clip[..., 3], depth, atol=1e-6)  # w = distance along the view axis
    assert torch.allclose((ndc[..., 0] + 1) / 2 * cam.width, pix[..., 0], atol=1e-3)
    assert torch.allclose((1 - ndc[..., 1]) / 2 * cam.height, pix[..., 1], atol=1e-3)  # NDC +y = top row


def test_near_far_map_to_ndc_minus_one_plus_one():
    cam = Camera.from_fov(look_at(torch.tensor([0.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, -1.0])),
                          fov_y_deg=40, width=8, height=8, near=0.5, far=4.0)
    clip = cam.to_clip(torch.tensor([[[0.0, 0.0, -0.5], [0.0, 0.0, -4.0]]]))
    z = clip[0, :, 2] / clip[0, :, 3]
    assert torch.allclose(z, torch.tensor([-1.0, 1.0]), atol=1e-5)


def test_principal_point_is_image_centre_and_scaling():
    cam = _camera(1)
    target_px = cam.project(torch.zeros(1, 1, 3))[0, 0]
    assert torch.allclose(target_px, torch.tensor([32.0, 24.0]), atol=1e-4)
    big = cam.scaled(2)
    assert big.width == 128 and torch.allclose(big.project(torch.zeros(1, 1, 3))[0, 0], target_px * 2, atol=1e-3)


def test_portrait_camera_frames_the_head_from_every_yaw():
    g = torch.Generator().manual_seed(1)
    head = torch.rand(1, 500, 3, generator=g) * torch.tensor([0.17, 0.25, 0.21]) - torch.tensor([0.085, 0.0, 0.06])
    cam = portrait_camera(head, yaw_deg=[0, 90, 180, 270, 45], pitch_deg=10, size=128)
    assert cam.batch_size == 5 and cam.width == cam.height == 128
    pix = cam.project(head)
    assert (pix >= 0).all() and (pix <= 128).all()
    assert float((pix[..., 1].amax(-1) - pix[..., 1].amin(-1)).min()) > 0.55 * 128  # head fills the frame
    side = cam.position[1] - 0.5 * (head.amin(1) + head.amax(1))[0]
    assert side[0] > 0 and abs(float(side[2])) < 1e-5  # yaw 90 looks from +X
    assert cam.position[0, 1] > 0.5 * float(head[..., 1].max())  # pitch up: camera above the centre


def test_bad_inputs():
    m = look_at(torch.tensor([0.0, 0.0, 1.0]), torch.zeros(3))
    with pytest.raises(ValueError, match="width"):
        Camera.from_fov(m, fov_y_deg=30, width=0, height=10)
    with pytest.raises(ValueError, match="height"):
        Camera.from_fov(m, fov_y_deg=30, width=10, height=MAX_IMAGE_SIZE + 1)
    with pytest.raises(ValueError, match="focal"):
        Camera(torch.zeros(1), torch.ones(1), torch.ones(1), torch.ones(1), 8, 8, m)
    with pytest.raises(ValueError, match="NaN"):
        Camera.from_fov(m * math.nan, fov_y_deg=30, width=8, height=8)
    with pytest.raises(ValueError, match="near/far"):
        Camera.from_fov(m, fov_y_deg=30, width=8, height=8, near=1.0, far=0.5)
    with pytest.raises(ValueError, match="coincide"):
        look_at(torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="parallel"):
        look_at(torch.tensor([0.0, 1.0, 0.0]), torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        portrait_camera(torch.full((1, 3, 3), math.nan))
