"""``python -m persistence``."""

import asyncio

from common.settings_errors import settings_or_exit
from persistence.service import run
from persistence.settings import PersistenceSettings

asyncio.run(run(settings_or_exit(PersistenceSettings, program="python -m persistence")))
