import sys

from iro_kit.runner import service_main
from reviews_api.app import SPEC
from reviews_api.settings import Settings

if __name__ == "__main__":
    if sys.argv[1:2] == ["import-903"]:
        # The data officers' command, which the kit's runner does not know.
        from reviews_api.imports.cli import main

        sys.exit(main(sys.argv[2:]))
    service_main(SPEC, Settings, "reviews_api.app:create_app", default_port=8001)
