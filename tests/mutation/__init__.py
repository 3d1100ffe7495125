"""Helpers of the mutation suite (tests/test_mutations.py): bad input never becomes a number.

* ``world``: the sample world's paths and the last sample date, CSV read/write that keeps the
  other rows as they were.
* ``generate``: the mutations, generated from the dataset contracts (``bo_lib.data.contracts``),
  plus the bank statement mutations.
* ``verdict``: the loader-level judgement of one mutation (violation named? good rows unchanged?)
  with a readable message.
* ``figures``: the figures-level machinery: a copy of the world and of the session's store,
  a store cut back to a date, and every fund's figures (books, recons, intake, shadow NAV).
* ``tally``: the counts the suite prints at the end (mutations tried, clear violations,
  unchanged results, crashes, silent changes, ...).
"""
