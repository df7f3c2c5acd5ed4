"""`python -m scorecard_api serve|migrate|rebuild`."""

import asyncio
import json
import sys

from iro_kit.db import Database
from iro_kit.runner import service_main
from scorecard_api.app import SPEC
from scorecard_api.rebuild import rebuild
from scorecard_api.settings import Settings


async def _rebuild() -> None:
    settings = Settings()
    database = Database(settings.database_url)
    try:
        rebuilt = await rebuild(database, settings)
    finally:
        await database.dispose()
    print(json.dumps(rebuilt.model_dump(), indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["rebuild"]:
        # Empty the read models and ask every producer (SCORECARD_PRODUCER_URLS) to republish.
        asyncio.run(_rebuild())
    else:
        service_main(SPEC, Settings, "scorecard_api.app:create_app", default_port=8003)
