"""`python -m isr_cli`: the same as the `isr` command."""

import sys

from isr_cli.main import main

sys.exit(main())
