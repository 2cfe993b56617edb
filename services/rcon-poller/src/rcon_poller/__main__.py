"""``python -m rcon_poller``."""

import asyncio

from rcon_poller.service import run
from rcon_poller.settings import PollerSettings

asyncio.run(run(PollerSettings()))
