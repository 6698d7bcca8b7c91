"""Counts in messages: singular for one, plural otherwise."""

import pytest

from mlops.domain.wording import counted


@pytest.mark.parametrize(
    "n,noun,plural,expected",
    [
        (1, "text", None, "1 text"),
        (0, "text", None, "0 texts"),
        (2, "skill", None, "2 skills"),
        (1_234, "row", None, "1,234 rows"),
        (1, "row or text", "rows or texts", "1 row or text"),
        (3, "row or text", "rows or texts", "3 rows or texts"),
        (-1, "text", None, "-1 texts"),
    ],
)
def test_one_is_singular_and_every_other_count_plural(n, noun, plural, expected):
    assert counted(n, noun, plural) == expected
