from drp_api.app import SPEC
from drp_api.settings import Settings
from iro_kit.runner import service_main

if __name__ == "__main__":
    service_main(SPEC, Settings, "drp_api.app:create_app", default_port=8002)
