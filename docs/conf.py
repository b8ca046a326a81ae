"""Sphinx configuration of the lro-emulator docs (built strictly by .ci/run: ``sphinx-build -W --keep-going``).

Sphinx with MyST rather than MkDocs: the package's docstrings are written in reStructuredText (`Name` references,
``literals``), which autodoc renders as written, and Sphinx's warnings (a broken page link, a missing anchor, a name
autodoc cannot import) become errors under ``-W``. MyST keeps the pages in Markdown, so the suite reads their code
blocks the same way it reads the README's.
"""

from __future__ import annotations

import lro_emulator

project = "lro-emulator"
author = "lro-emulator developers"
copyright = "2026, lro-emulator developers"
release = version = lro_emulator.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# Links to headings inside pages (``page.md#a-heading``) are checked like links to pages.
myst_heading_anchors = 3
# `Name` in a docstring is a reference to a Python object; unresolved ones render as code.
default_role = "py:obj"
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Types go beside the parameters a docstring describes; the rest stay in the signature.
autodoc_typehints_description_target = "documented"
# A public name re-exported from lro_emulator documents under that name, not its private module.
add_module_names = False
html_theme = "furo"
html_title = f"lro-emulator {release}"
