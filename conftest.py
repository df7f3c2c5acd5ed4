import os

# The suite runs the services as a developer does: development mode, HS256 dev tokens.
# (Unset, a service defaults to production and refuses to start without a JWT key.)
for _prefix in ("IRO_", "REVIEWS_", "DRP_", "SCORECARD_"):
    os.environ.setdefault(f"{_prefix}ENVIRONMENT", "development")

pytest_plugins = ["iro_kit.testing"]
