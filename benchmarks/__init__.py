"""Speed and memory benchmarks (not tests): `python benchmarks/run.py`."""
