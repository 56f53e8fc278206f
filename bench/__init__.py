"""hookwise benchmarks: one loopback sink, the ceiling, the Celery baseline and hookwise itself.

``python -m bench.run`` runs every figure side by side; see ``bench/README.md``.
"""
