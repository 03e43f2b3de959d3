"""Data quality: Great Expectations suites over the canonical model.

Public surface: :func:`quality.runner.validate` (every row, or the rows after a stamp),
:func:`quality.new_rows.validate_built` (a build's: the rows written since the suite last
passed there) and the suites in :mod:`quality.suites`. Orchestration runs them as Dagster
asset checks; nothing here knows about Dagster.
"""
