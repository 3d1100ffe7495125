"""Back-office workbench: the shared helper package behind the parameterized notebooks.

Domain modules (recon, settlement, nav, regulatory) are pure functions over DataFrames;
``bo_lib.data`` loads and validates, ``bo_lib.report`` shows, ``bo_lib.pipeline`` runs and archives.
"""

__version__ = "0.1.0"
