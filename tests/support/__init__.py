"""Helpers shared by the tests and the benchmarks: rigs, a plain BLE central, fault scripts.

Imported as ``support.<module>`` with tests/ on sys.path: pytest puts it
there for tests/conftest.py, and each bench module inserts it itself, so
the same import line works under pytest and in ``python tests/bench/run.py``.
"""
