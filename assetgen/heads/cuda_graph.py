"""CUDA-graph replay of ``HeadModel.forward`` for a fixed batch size: launch overhead paid once.

At small batches on a GPU the forward is bound by kernel-launch and Python overhead (~80 small kernels),
not by the GPU. :class:`CudaGraphForward` captures the whole unchecked forward once, then each call
validates the inputs exactly as ``forward`` does, copies them into the graph's static buffers, replays the
graph and returns copies of the outputs. The caller creates and owns the runner (one per model, batch size
and set of given inputs); the model itself stays stateless.
"""

from __future__ import annotations

import torch

from assetgen.heads.base import HeadModel, HeadOutput

INPUT_NAMES = ("shape", "expression", "global_orient", "neck_pose", "jaw_pose", "eye_pose", "translation")


class CudaGraphForward:
    """Replays ``model.forward`` for batches of exactly ``batch`` items with the inputs named in ``given``.

    Args:
        model: a :class:`HeadModel` on a CUDA device.
        batch: the fixed batch size ``B``.
        given: which of :data:`INPUT_NAMES` every call passes (the others are ``None`` → neutral).
    Raises:
        ValueError: the model is not on CUDA, ``batch < 1``, or an unknown input name.
    """

    def __init__(self, model: HeadModel, batch: int, given: tuple[str, ...] = INPUT_NAMES, warmup: int = 3):
        if model.device.type != "cuda":
            raise ValueError(f"model: CudaGraphForward needs a model on a CUDA device, got {model.device}")
        if batch < 1:
            raise ValueError(f"batch: must be at least 1, got {batch}")
        unknown = set(given) - set(INPUT_NAMES)
        if unknown:
            raise ValueError(f"given: unknown inputs {sorted(unknown)}; expected names from {INPUT_NAMES}")
        self.model, self.batch, self.given = model, batch, tuple(given)
        tails = {"shape": (model.num_shape,), "expression": (model.num_expression,), "eye_pose": (2, 3)}
        self._tails = {name: tails.get(name, (3,)) for name in INPUT_NAMES}
        self._static = {n: torch.zeros(batch, *self._tails[n], dtype=model.dtype, device=model.device)
                        for n in self.given}
        args = [self._static.get(n) for n in INPUT_NAMES]
        stream = torch.cuda.Stream(device=model.device)
        stream.wait_stream(torch.cuda.current_stream(model.device))
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(warmup):
                model.forward_unchecked(batch, *args)
        torch.cuda.current_stream(model.device).wait_stream(stream)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph), torch.inference_mode():
            self._out = model.forward_unchecked(batch, *args)

    def __call__(self, **inputs: torch.Tensor) -> HeadOutput:
        """Same arguments, validation and result as ``model.forward`` (outputs are fresh tensors)."""
        if set(inputs) != set(self.given):
            raise ValueError(f"inputs: this graph was captured for {sorted(self.given)}, got {sorted(inputs)}")
        named = {n: (inputs[n], self._tails[n]) for n in self.given}
        batch = self.model._validate(named)
        if batch != self.batch:
            raise ValueError(f"batch: this graph was captured for batch size {self.batch}, got {batch}")
        for n in self.given:
            self._static[n].copy_(inputs[n])
        self._graph.replay()
        out = self._out
        return HeadOutput(vertices=out.vertices.clone(), joints=out.joints.clone(),
                          landmarks=None if out.landmarks is None else out.landmarks.clone(),
                          transforms=out.transforms.clone())
