"""Bank statement file formats (MT940, camt.053) over one neutral model.

The model lives in ``statement``; codecs in ``mt940`` and ``camt053`` are
loaded lazily so importing this package does not pull in lxml / mt-940.
"""

from bo_lib.data.formats.statement import (
    BankStatement,
    StatementEntry,
    StatementFormatError,
    statements_to_frame,
)

_LAZY = {
    "parse_mt940": "bo_lib.data.formats.mt940",
    "write_mt940": "bo_lib.data.formats.mt940",
    "parse_camt053": "bo_lib.data.formats.camt053",
    "write_camt053": "bo_lib.data.formats.camt053",
}

__all__ = ["BankStatement", "StatementEntry", "StatementFormatError", "statements_to_frame", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
