from drp_api.models import Base
from iro_kit.migrations import run_env

run_env(Base.metadata)
