"""A local, API-compatible stand-in for TensorFlow Serving's `tensorflow_model_server`.

Start it as a separate process with the `local_model_server` console script;
it imports nothing from the rest of the course package.
"""
