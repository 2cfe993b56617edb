"""``python -m parser``."""

import asyncio

from parser.service import run
from parser.settings import ParserSettings

asyncio.run(run(ParserSettings()))
