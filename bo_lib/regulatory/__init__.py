"""Regulatory reporting of the management company (all its funds together): Form 13F (holdings,
the EDGAR information table and cover document, parsing filed documents, the $100M filing test),
ownership thresholds (13D/13G, EU net short positions) with the filings they trigger, and the
filing calendar. Pure functions over DataFrames; gathering (from the books' states and the
catalogue) is ``inputs``'s job, showing is ``bo_lib.report.regulatory``'s.
"""
