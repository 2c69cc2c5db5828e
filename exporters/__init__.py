"""Engine exporters: pure functions from a HeadAsset to glTF 2.0 (.glb), FBX and bundle bytes (not written yet)."""
