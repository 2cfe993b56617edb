"""``python -m rcon_poller``."""

import asyncio

from common.settings_errors import settings_or_exit
from rcon_poller.service import run
from rcon_poller.settings import PollerSettings

asyncio.run(run(settings_or_exit(PollerSettings, program="python -m rcon_poller")))
