"""The benchmark command: the project against the course's own pipeline, on the
same machine and data, in one run (``python -m bench``; ``--help`` lists the
options). It writes ``bench/REPORT.md`` and ``bench/report.json``.

Not tests: nothing here asserts a time. Every figure is a median of repeats and
every comparison a ratio of figures from the same run, because the machine is
shared and its speed drifts.
"""
