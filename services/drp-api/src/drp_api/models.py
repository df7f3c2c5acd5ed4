"""The drp-api schema's declarative base; domain packages add their tables to it."""

from iro_kit.db import KitBase, new_metadata


class Base(KitBase):
    __abstract__ = True
    metadata = new_metadata()
