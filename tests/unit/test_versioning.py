"""Version X.Y.Z: parsing, bumping, ordering (happy, negative, edge, boundary)."""

import pytest

from mlops.versioning import BUMP_RULES, Version, VersionError


# -- happy path ---------------------------------------------------------------------------
def test_parse_and_str_round_trip():
    version = Version.parse("1.18.0")
    assert (version.major, version.minor, version.patch) == (1, 18, 0)
    assert str(version) == "1.18.0"


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("major", "2.0.0"),
        ("minor", "1.3.0"),
        ("patch", "1.2.10"),
    ],
)
def test_bump_resets_lower_parts(kind, expected):
    assert str(Version.parse("1.2.9").bump(kind)) == expected


def test_bump_rules_cover_the_three_kinds():
    assert set(BUMP_RULES) == {"major", "minor", "patch"}


def test_versions_are_frozen_and_hashable():
    version = Version(1, 2, 3)
    with pytest.raises(AttributeError):
        version.major = 2  # type: ignore[misc]
    assert {Version(1, 2, 3), Version.parse("1.2.3")} == {version}


# -- negative path ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "1.2",
        "1.2.3.4",
        "a.b.c",
        "-1.0.0",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "",
        "   ",
        "v1.2.3",
        "1..3",
        "1.2.3-rc1",
        "1. 2.3",
        "١.٢.٣",  # Arabic-Indic digits are not ASCII digits
    ],
)
def test_malformed_text_is_rejected_with_the_text_in_the_message(text):
    with pytest.raises(VersionError) as caught:
        Version.parse(text)
    assert repr(text) in str(caught.value)
    assert "1.2.3" in str(caught.value)  # shows the expected shape


@pytest.mark.parametrize("value", [None, 123, 1.2, True, b"1.2.3", ["1", "2", "3"]])
def test_non_strings_are_rejected(value):
    with pytest.raises(VersionError, match="must be a string"):
        Version.parse(value)


def test_version_error_is_a_value_error():
    with pytest.raises(ValueError):
        Version.parse("nope")


def test_unknown_bump_kind_is_rejected():
    with pytest.raises(VersionError, match="unknown bump kind 'micro'"):
        Version(1, 0, 0).bump("micro")


@pytest.mark.parametrize("parts", [(-1, 0, 0), (0, -1, 0), (1, 2, "3"), (True, 0, 0)])
def test_constructor_rejects_bad_parts(parts):
    with pytest.raises(VersionError, match="non-negative integer"):
        Version(*parts)


# -- edge cases ---------------------------------------------------------------------------
@pytest.mark.parametrize("text", [" 1.2.3", "1.2.3 ", "\t1.2.3\n"])
def test_surrounding_whitespace_is_ignored(text):
    assert Version.parse(text) == Version(1, 2, 3)


def test_ordering_is_numeric_not_textual():
    assert Version.parse("1.10.0") > Version.parse("1.9.0")
    assert Version.parse("2.0.0") > Version.parse("1.99.99")
    texts = ["1.10.0", "1.9.0", "0.0.1", "10.0.0", "1.9.10"]
    assert [str(v) for v in sorted(map(Version.parse, texts))] == [
        "0.0.1",
        "1.9.0",
        "1.9.10",
        "1.10.0",
        "10.0.0",
    ]


# -- boundary cases -----------------------------------------------------------------------
def test_zero_version_is_valid_and_lowest():
    zero = Version.parse("0.0.0")
    assert str(zero) == "0.0.0"
    assert zero < Version.parse("0.0.1")
    assert str(zero.bump("patch")) == "0.0.1"
    assert str(zero.bump("minor")) == "0.1.0"
    assert str(zero.bump("major")) == "1.0.0"


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("major", "1000.0.0"),
        ("minor", "999.1000.0"),
        ("patch", "999.999.1000"),
    ],
)
def test_large_parts_bump_without_overflow(kind, expected):
    assert str(Version.parse("999.999.999").bump(kind)) == expected


def test_parts_are_unbounded():
    huge = "123456789012345678901234567890"
    version = Version.parse(f"{huge}.0.0")
    assert str(version.bump("major")) == f"{int(huge) + 1}.0.0"
