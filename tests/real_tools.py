"""Real-tool checks (Khronos glTF-Validator, Blender, Chromium): skip only where the tool truly cannot exist.

On a developer machine without a tool, its tests skip with the reason. CI sets ``ASSETGEN_REQUIRE_TOOLS=1``
(see ``.ci/run``): there a missing tool is a test failure, never a silent skip.
"""

from __future__ import annotations

import os

import pytest


def require_tool(missing_reason: str | None) -> None:
    """Skip (or fail under ``ASSETGEN_REQUIRE_TOOLS=1``) when ``missing_reason`` is not None."""
    if missing_reason is None:
        return
    if os.environ.get("ASSETGEN_REQUIRE_TOOLS") == "1":
        pytest.fail(f"required tool missing (ASSETGEN_REQUIRE_TOOLS=1): {missing_reason}")
    pytest.skip(missing_reason)
