"""``python -m tailer``."""

import asyncio

from common.settings_errors import settings_or_exit
from tailer.service import run
from tailer.settings import TailerSettings

asyncio.run(run(settings_or_exit(TailerSettings, program="python -m tailer")))
