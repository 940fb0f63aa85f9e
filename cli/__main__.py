"""``python -m cli``: the ``stylize`` command from a checkout that is not installed."""

import sys

from cli.main import main

sys.exit(main())
