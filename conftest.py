"""pytest's root configuration: nbval compares notebook outputs up to float round-off between CPUs.

It applies to every run, of the tests and of the notebooks alike; see tests/nbval_tolerance.py.
"""
pytest_plugins = ["nbval_tolerance"]
