"""Plumbing for the course "Saving, exporting and serving TensorFlow 1.x models" (Iris)."""
__version__ = "0.1.0"
