"""``python -m parser``."""

import asyncio

from common.settings_errors import settings_or_exit
from parser.service import run
from parser.settings import ParserSettings

asyncio.run(run(settings_or_exit(ParserSettings, program="python -m parser")))
