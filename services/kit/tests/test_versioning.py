"""iro_kit.versioning: what If-Match names, and the 428 and 412 that name the current version."""

from __future__ import annotations

import pytest

from iro_kit.errors import PreconditionFailed, PreconditionRequired, Unprocessable
from iro_kit.versioning import IF_MATCH_REQUIRED, _versions_matched, check_version, etag


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("*", None),
        ('"3", *', None),
        ('"3"', frozenset({3})),
        ('"7", "1"', frozenset({7, 1})),
        ('"7" ,"1"', frozenset({7, 1})),
    ],
)
def test_if_match_is_read_as_the_versions_it_names(
    header: str | None, versions: frozenset[int] | None
) -> None:
    assert _versions_matched(header) == versions


@pytest.mark.parametrize(
    "header",
    [
        'W/"3"',  # a weak tag: If-Match compares strongly, and we issue none
        "3",
        '"three"',
        '"1234567890"',  # longer than any version we issue
        "{}",
        '"3", W/"4"',
    ],
)
def test_an_if_match_the_documented_pattern_refuses_is_a_422_naming_it(header: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        _versions_matched(header)
    assert raised.value.status == 422
    assert [(e.pointer, e.location) for e in raised.value.errors or []] == [("/If-Match", "header")]


def test_the_etag_is_the_quoted_version() -> None:
    assert etag(3) == '"3"'


def test_no_if_match_is_428_naming_the_current_version() -> None:
    with pytest.raises(PreconditionRequired) as raised:
        check_version(4, None)
    assert (raised.value.status, raised.value.extra) == (428, {"current_version": 4})


@pytest.mark.parametrize("if_match", [frozenset(), frozenset({3}), frozenset({3, 5})])
def test_another_version_is_412_naming_the_current_version(if_match: frozenset[int]) -> None:
    with pytest.raises(PreconditionFailed) as raised:
        check_version(4, if_match)
    assert (raised.value.status, raised.value.extra) == (412, {"current_version": 4})


def test_the_current_version_among_those_named_passes() -> None:
    check_version(4, frozenset({3, 4}))


def test_if_match_is_documented_as_a_required_header_in_generic_words() -> None:
    [parameter] = IF_MATCH_REQUIRED["parameters"]
    assert (parameter["name"], parameter["in"], parameter["required"]) == (
        "If-Match",
        "header",
        True,
    )
    assert "record" in parameter["description"] and "dispute" not in parameter["description"]
