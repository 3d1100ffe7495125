"""The book of record: each fund's closing state on every business day (positions on trade and
settlement date with cost, cash, open trades, capital and income, fee accruals, share-class units,
high-water marks and NAV per share), struck day by day from the previous day's state and the day's
deliveries (``nav.strike_day``), persisted in the workbench store (``state``), rolled forward by
every run (``roll``), locked by period close (``periods``). The domains read their inputs from here
and from the catalogue, never by replaying files.
"""

from bo_lib.books.prepare import BooksReady, prepare_books

__all__ = ["BooksReady", "prepare_books"]
