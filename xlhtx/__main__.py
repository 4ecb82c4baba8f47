"""``python -m xlhtx``: the command line without the installed ``xlhtx`` script."""

import sys

from xlhtx.cli.commands import main

sys.exit(main())
