"""Trainers, one per learned generator, writing safetensors weights with a model card (not written yet)."""
