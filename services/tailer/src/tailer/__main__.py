"""``python -m tailer``."""

import asyncio

from tailer.service import run
from tailer.settings import TailerSettings

asyncio.run(run(TailerSettings()))
