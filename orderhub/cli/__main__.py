"""``python -m orderhub.cli``: the same as the ``orderhub`` console script."""

import sys

from orderhub.cli import main

sys.exit(main())
