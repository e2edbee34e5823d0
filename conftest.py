"""Repository-wide pytest hooks: README.md and the pages under docs/ are collected as tests.

Every Python block of those Markdown files is pasted into a fresh Django project and checked
(tests/docs/snippets.py says how, and how a block that is a fragment is marked).
"""

from tests.docs.snippets import snippet_sybil

pytest_collect_file = snippet_sybil().pytest()
