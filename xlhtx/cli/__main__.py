"""``python -m xlhtx.cli``: the command line without the installed ``xlhtx`` script."""

import sys

from xlhtx.cli.commands import main

sys.exit(main())
