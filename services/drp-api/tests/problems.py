"""Assertions on RFC 9457 problem responses (from the kit), for the API tests."""

from iro_kit.testing import PROBLEM_BASE, assert_problem

__all__ = ["PROBLEM_BASE", "assert_problem"]
