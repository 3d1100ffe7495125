"""Reconciliation: the generic engine (``reconcile``, ``Tolerance``, grouped cash matching), the
position, cash and trade recons of a fund and date, and the break history across days."""

from bo_lib.recon.engine import (
    DuplicateKeyError,
    GroupMatch,
    MissingKeyError,
    ReconResult,
    Tolerance,
    match_groups,
    reconcile,
)

__all__ = ["DuplicateKeyError", "GroupMatch", "MissingKeyError", "ReconResult", "Tolerance", "match_groups", "reconcile"]
