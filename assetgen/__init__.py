"""assetgen: game-ready 3D human heads on demand (see DESIGN.md)."""

__version__ = "0.1.0"
