"""Helpers shared by test modules: scenarios (a sale, a survey, a case ...), the end-to-end
environment and the migrated database template.

Test modules import from here (or from `tests.harness` and `tests.fakes`), never from one another:
`tests/test_suite_layout.py` checks it, so a helper has one home and a test module can be run,
moved or deleted on its own.
"""
