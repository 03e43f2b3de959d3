"""Data quality: Great Expectations suites over the canonical model.

Public surface: :func:`quality.runner.validate` and the suites in
:mod:`quality.suites`. Orchestration runs them as Dagster asset checks; nothing
here knows about Dagster.
"""
