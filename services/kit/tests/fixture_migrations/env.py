from sqlalchemy import MetaData

from iro_kit.migrations import run_env

run_env(MetaData())
