"""What notebooks show: run header, exceptions-first summary, tables, plotly charts, the analyst
explorer, and recorded results. Every output renders without a running kernel (static HTML with
a plain-text twin), so archived reports read the same offline."""

from bo_lib.report.charts import show_figure
from bo_lib.report.display import show_exceptions, show_message, show_run_header, show_table
from bo_lib.report.explorer import explorer
from bo_lib.report.record import record, record_key_figures

__all__ = ["explorer", "record", "record_key_figures", "show_exceptions", "show_figure", "show_message", "show_run_header", "show_table"]
