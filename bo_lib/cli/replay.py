"""The ``bo`` commands of this group (registered by ``bo_lib.cli.build_parser``)."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to ``bo``."""
