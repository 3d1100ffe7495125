"""The inbound-data control (intake): did every expected file arrive, does each meet its contract,
how do row counts compare with the previous delivery, are prices and FX fresh, do the statements
balance. ``inputs`` gathers the day from the catalogue; ``control`` assesses it."""

from bo_lib.intake.control import IntakeResult, IntakeSummary, assess, expected_files, file_arrival, fx_freshness, price_freshness, row_counts

__all__ = ["IntakeResult", "IntakeSummary", "assess", "expected_files", "file_arrival", "fx_freshness", "price_freshness", "row_counts"]
