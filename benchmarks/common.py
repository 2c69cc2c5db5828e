"""What every benchmark prints about where it ran (benchmarks/README.md: name the machine)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

__all__ = ["machine"]


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine(device: str = "cpu") -> str:
    """One line: the GPU (CUDA) or the CPU model, CPU count and torch threads; torch and Python versions."""
    versions = f"torch {torch.__version__}, Python {platform.python_version()}"
    if device == "cuda":
        return f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda}; {versions})"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpu_model()}, {os.cpu_count()} CPUs ({usable} usable), {torch.get_num_threads()} torch threads "
            f"({versions}; load average {os.getloadavg()[0]:.2f})")
