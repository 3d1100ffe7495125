"""Back-office workbench: the shared helper package behind the parameterized notebooks.

Layers, from the bottom: core modules (money, calendars, daycount, fx, prices, codes, rag,
parameters, store), ``bo_lib.data`` (contracts, formats, loaders, ingest, the catalogue),
``bo_lib.books`` (the book of record: daily closing states, period close), the domains
(``intake``, ``settlement``, ``recon``, ``nav``, ``regulatory``: pure functions over DataFrames),
``bo_lib.report`` (what notebooks show), ``bo_lib.pipeline`` (the daily run and its archive) and
``bo_lib.cli``. A layer imports only those below it (import-linter contracts in pyproject.toml).
"""

import pandas as _pd

# Text columns keep pandas' "str" dtype with Python storage: the workbench's frames are many and
# small, and per-operation costs of pyarrow-backed strings outweigh what they save at this size.
_pd.set_option("mode.string_storage", "python")

__version__ = "0.1.0"
