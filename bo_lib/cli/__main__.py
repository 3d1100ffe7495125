"""``python -m bo_lib.cli``: the ``bo`` command."""

import sys

from bo_lib.cli import main

sys.exit(main())
