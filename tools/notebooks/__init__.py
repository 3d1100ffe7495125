"""Notebook templates as code: one module per notebook, each with a CELLS list."""
