"""CudaGraphForward: same validation and results as HeadModel.forward (CUDA parts run on the GPU machine)."""

from __future__ import annotations

import pytest
import torch

import assetgen.heads as heads
from assetgen.heads.cuda_graph import CudaGraphForward

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (run on the GPU test machine)")


def test_refuses_cpu_model():
    with pytest.raises(ValueError, match="model: CudaGraphForward needs a model on a CUDA device"):
        CudaGraphForward(heads.load("open"), 2)


@cuda
def test_replay_matches_forward():
    model = heads.load("open", device="cuda")
    graph = CudaGraphForward(model, 4, given=("expression", "jaw_pose", "translation"))
    g = torch.Generator().manual_seed(0)
    for _ in range(3):  # new inputs each call: static buffers are refreshed
        x = dict(expression=torch.rand(4, 52, generator=g).cuda(), jaw_pose=torch.randn(4, 3, generator=g).cuda() * 0.2,
                 translation=torch.randn(4, 3, generator=g).cuda() * 0.1)
        a, b = graph(**x), model(**x)
        assert (a.vertices - b.vertices).abs().max() < 1e-6
        assert (a.joints - b.joints).abs().max() < 1e-6


@cuda
def test_replay_validates():
    model = heads.load("open", device="cuda")
    graph = CudaGraphForward(model, 2, given=("jaw_pose",))
    with pytest.raises(ValueError, match="jaw_pose: contains NaN"):
        graph(jaw_pose=torch.full((2, 3), float("nan"), device="cuda"))
    with pytest.raises(ValueError, match="captured for batch size 2"):
        graph(jaw_pose=torch.zeros(3, 3, device="cuda"))
    with pytest.raises(ValueError, match="captured for"):
        graph(neck_pose=torch.zeros(2, 3, device="cuda"))
