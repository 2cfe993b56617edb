"""``python -m bot``: run the bot service."""

import sys

from bot.service import main

sys.exit(main())
