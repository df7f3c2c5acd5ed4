from iro_kit.runner import service_main
from scorecard_api.app import SPEC
from scorecard_api.settings import Settings

if __name__ == "__main__":
    service_main(SPEC, Settings, "scorecard_api.app:create_app", default_port=8003)
