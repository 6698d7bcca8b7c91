"""The app's Streamlit-free helpers: safe text display, the review state, the UAT comparison
and the model catalogue (no warehouse: see tests/integration/test_bootstrap.py)."""

from __future__ import annotations

import pytest

from mlops.entrypoints.ui.display import (
    escape_markdown_inline,
    evidence_spans,
    excerpt,
    highlighted_markdown,
    holds_markup,
)
from mlops.entrypoints.ui.review_state import ACCEPT, REJECT, ReviewItem, skill_from_record
from mlops.services.uat_compare import aggregate, compare, compare_records


# -- display -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "<b>x</b>",
        "[a](http://e.com)",
        "**bold**",
        "$x$",
        "`code`",
        "# head",
        "a_b_c",
        "![i](x.png)",
        ":red[x]",
    ],
)
def test_markdown_escaping_neutralises_every_markup(raw):
    escaped = escape_markdown_inline(raw)
    for char in "<>[]()*$`#_!:":
        assert char not in escaped.replace(f"\\{char}", "")


def test_indentation_cannot_make_a_code_block():
    assert escape_markdown_inline("    code\n        more", line_start=True) == "code  \nmore"
    assert escape_markdown_inline("  mid-line") == "  mid\\-line"


def test_evidence_spans_from_offsets_or_phrases_merged():
    text = "Python and SQL and python"
    spans = evidence_spans(
        text,
        [
            {"phrase": "sql"},
            {"phrase": "x", "start": 0, "end": 6},
            {"phrase": "and sql"},
            {"phrase": "missing"},
            {"phrase": ""},
        ],
    )
    assert spans == [(0, 6), (7, 14)]


def test_evidence_spans_ignore_bad_offsets():
    assert evidence_spans("abc", [{"phrase": "b", "start": 2, "end": 99}]) == [(1, 2)]


def test_highlighted_markdown_marks_only_the_spans():
    text = "Use [SQL] daily"
    assert highlighted_markdown(text, [(4, 9)]) == "Use :orange-background[\\[SQL\\]] daily"
    assert highlighted_markdown("", []) == ""
    assert highlighted_markdown("SQL", [(0, 3)]) == ":orange-background[SQL]"
    assert highlighted_markdown("a < b and\n\n  c", []) == "a \\< b and  \n  \nc"  # no markup: as before


HTML_POSTING = "<p>We need:</p><ul><li>Python and SQL</li><li><b>data</b> analysis</li></ul>"


def test_an_html_text_is_shown_rendered_with_its_evidence_highlighted():
    sql = HTML_POSTING.index("SQL")
    data = HTML_POSTING.index("<b>data")
    analysis_end = HTML_POSTING.index(" analysis") + len(" analysis")
    shown = highlighted_markdown(HTML_POSTING, [(sql, sql + 3), (data + 3, analysis_end)])
    assert shown == ("We need\\:  \nPython and :orange-background[SQL]  \n:orange-background[data analysis]")


def test_a_rendered_text_shows_entities_as_characters_and_hides_scripts():
    assert highlighted_markdown("P&amp;L budget &amp; caf&eacute;", [(0, 14)]) == (
        ":orange-background[P\\&L budget] \\& café"
    )
    assert highlighted_markdown("<script>alert(1)</script>Python<!-- note -->", []) == "Python"


def test_a_span_over_markup_alone_highlights_nothing():
    assert highlighted_markdown("x <b> y &amp;", [(2, 5)]) == "x  y \\&"


def test_an_excerpt_is_one_escaped_line_as_the_page_reads():
    assert excerpt("Use **SQL** and [x](javascript:alert(1))\n  daily") == (
        "Use \\*\\*SQL\\*\\* and \\[x\\]\\(javascript\\:alert\\(1\\)\\) daily"
    )
    assert excerpt("<p>R&amp;D</p><ul><li>Python</li></ul>") == "R\\&D Python"


@pytest.mark.parametrize(
    "text,shown",
    [
        ("", ""),
        ("a" * 80, "a" * 80),
        ("a" * 81, "a" * 80 + "…"),
        ("word " * 20 + "end", "word " * 15 + "word…"),
    ],
)
def test_an_excerpt_is_cut_at_its_limit(text, shown):
    assert excerpt(text) == shown


def test_holds_markup():
    assert holds_markup(HTML_POSTING) and holds_markup("R&amp;D")
    assert not holds_markup("a < b & c") and not holds_markup("")


# -- review state ------------------------------------------------------------------------------
RECORD = {
    "requestId": "r1",
    "modelVersion": "1.2.0",
    "original_input": "text",
    "skillExtractOutput": [
        {
            "skill_id": "a",
            "skillTitle": "A",
            "skillType": "skill",
            "confidenceScore": 0.9,
            "skillTags": ["t"],
            "phrase": "p",
            "phraseStart": 0,
            "phraseEnd": 1,
        },
        {
            "skill_id": "b",
            "skillTitle": "B",
            "skillType": "skill",
            "confidenceScore": 0.8,
            "skillTags": [],
            "phrase": "q",
        },
    ],
}


def test_review_item_from_a_record_and_decisions():
    item = ReviewItem.from_record(RECORD)
    assert (item.request_id, item.model_version, item.undecided) == ("r1", "1.2.0", 2)
    item.decide("a", ACCEPT)
    item.decide("b", REJECT)
    assert (item.accepted, item.rejected, item.undecided) == (["a"], ["b"], 0)
    item.decide("b", None)
    assert item.rejected == [] and item.undecided == 1
    with pytest.raises(ValueError):
        item.decide("a", "maybe")


def test_review_item_add_and_remove():
    item = ReviewItem.from_record(RECORD)
    assert item.add("c") and not item.add("c") and not item.add("a")
    assert item.added == ["c"]
    item.remove_added("c")
    item.remove_added("never-added")
    assert item.added == []


def test_review_item_from_a_logged_prediction():
    prediction = {
        "request_id": "r2",
        "model_version": "1.0.0",
        "original_input": "t",
        "skills": [
            {
                "skill_id": "x",
                "skill_title": "X",
                "skill_type": "knowledge",
                "confidence": 0.7,
                "phrase": "x",
                "tags": '["a", "b"]',
            }
        ],
    }
    item = ReviewItem.from_prediction(prediction)
    assert item.skills[0]["title"] == "X" and item.skills[0]["tags"] == ["a", "b"]
    assert skill_from_record({"skill_id": "y", "tags": "plain"})["tags"] == ["plain"]


# -- UAT comparison ----------------------------------------------------------------------------
def record(*ids):
    return {
        "skillExtractOutput": [{"skill_id": i, "skillTitle": i.upper(), "confidenceScore": 0.9} for i in ids]
    }


def test_compare_records_marks_gained_lost_and_reranked():
    comparison = compare_records("r", "t", record("a", "b", "c"), record("b", "a", "d"))
    assert comparison.gained == ["d"] and comparison.lost == ["c"]
    assert sorted(comparison.reranked) == ["a", "b"]
    changes = [row["change"] for row in comparison.rows()]
    assert changes == ["re-ranked", "re-ranked", "gained"]


def test_compare_empty_and_uneven():
    assert compare([], lambda t: [], lambda t: []) == []
    comparison = compare_records("r", "t", record("a", "b"), record())
    assert comparison.lost == ["a", "b"] and [r["change"] for r in comparison.rows()] == ["lost", "lost"]


def test_aggregate_metrics_on_reviewed_texts_only():
    first = compare_records("r1", "t", record("a", "b"), record("a"))
    second = compare_records("r2", "t", record("x"), record("x"))
    summary = aggregate([first, second], {"r1": {"a"}})
    assert summary["n_texts"] == 2 and summary["n_reviewed"] == 1
    assert summary["prod"]["precision"] == 0.5 and summary["candidate"]["precision"] == 1.0
    assert aggregate([second], {})["prod"]["jaccard"] is None


def test_model_catalog_rows(tmp_path):
    from mlops.adapters.store import open_store
    from mlops.services.model_catalog import experiment_rows, model_card, registry_rows
    from mlops.services.registry import Registry

    store = open_store(tmp_path.as_uri())
    registry = Registry(store)
    assert registry_rows(registry) == [] and experiment_rows(store) == []
    registry.register(
        "1.0.0", {"metrics": {"cosine_f1": 0.81234567, "note": "x"}, "hyperparameters": {"lr": 1e-5}}
    )
    registry.register("1.1.0", {"trigger": "quality"})
    registry.set_stage("prod", "1.0.0", who="adam")
    rows = [row.table_row() for row in registry_rows(registry)]
    assert [r["version"] for r in rows] == ["1.1.0", "1.0.0"]
    assert rows[1]["stages"] == "PROD" and rows[1]["metric:cosine_f1"] == 0.8123
    assert "metric:note" not in rows[1] and rows[1]["hyperparameters"] == '{"lr": 1e-05}'
    assert model_card(store, "1.0.0") is None
    store.put_bytes("model_cards/1.0.0.md", b"# Card")
    assert model_card(store, "1.0.0") == "# Card"


def test_date_range_while_picking():
    from datetime import date

    from mlops.entrypoints.ui.display import date_range

    a, b = date(2026, 1, 1), date(2026, 1, 31)
    assert date_range((a, b), (None, None)) == (a, b)
    assert date_range((a,), (None, None)) == (a, a)  # the second date not picked yet
    assert date_range((), (b, b)) == (b, b) and date_range(None, (b, b)) == (b, b)
    assert date_range(a, (None, None)) == (a, a)
