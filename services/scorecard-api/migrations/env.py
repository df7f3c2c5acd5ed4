from iro_kit.migrations import run_env
from scorecard_api.models import Base

run_env(Base.metadata)
