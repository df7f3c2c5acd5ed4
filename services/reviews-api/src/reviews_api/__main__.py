from iro_kit.runner import service_main
from reviews_api.app import SPEC
from reviews_api.settings import Settings

if __name__ == "__main__":
    service_main(SPEC, Settings, "reviews_api.app:create_app", default_port=8001)
