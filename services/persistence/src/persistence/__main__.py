"""``python -m persistence``."""

import asyncio

from persistence.service import run
from persistence.settings import PersistenceSettings

asyncio.run(run(PersistenceSettings()))
