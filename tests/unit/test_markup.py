"""Unit: markup blanked in place (`sea_core.markup.plain_text`): tags, comments, scripts and
entities gone, every offset kept."""

import pytest

from sea_core.markup import plain_text, readable
from sea_core.spans import PhraseSpanExtractor


def words(text: str) -> list[str]:
    return plain_text(text).split()


# --- happy -----------------------------------------------------------------------------
def test_an_html_list_reads_as_its_items():
    text = "<ul><li>Python and SQL</li><li>Kafka streaming</li></ul>"
    assert words(text) == ["Python", "and", "SQL", "Kafka", "streaming"]


def test_every_word_keeps_its_offset():
    text = '<p class="intro">Build <b>data</b> pipelines</p>'
    plain = plain_text(text)
    assert len(plain) == len(text)
    for word in ("Build", "data", "pipelines"):
        assert plain.index(word) == text.index(word)


def test_an_anonymised_placeholder_is_no_word_and_ends_no_sentence():
    text = "Position <ORGANIZATION> is looking in <LOCATION>."
    assert words(text) == ["Position", "is", "looking", "in", "."]
    assert "\n" not in plain_text(text)


def test_block_tags_end_a_line_and_inline_tags_read_as_a_browser_shows_them():
    plain = plain_text("<p>Build <b>data</b> pipelines<br/>Run <a href='x'>ETL</a> jobs</p>")
    lines = [" ".join(line.split()) for line in plain.split("\n") if line.strip()]
    assert lines == ["Build data pipelines", "Run ETL jobs"]
    spans = PhraseSpanExtractor().extract(plain)
    assert [" ".join(s.text.split()) for s in spans] == ["Build data pipelines", "Run ETL jobs"]


def test_entities_become_their_characters():
    assert plain_text("R&amp;D &lt;3 caf&eacute;") == "R&    D <   3 café" + " " * 7


def test_no_phrase_runs_across_a_block_tag():
    spans = PhraseSpanExtractor().extract(plain_text("<li>Python</li><li>SQL</li>"))
    assert [s.text for s in spans] == ["Python", "SQL"]


# --- negative --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Plain text with no markup at all.",
        "a < b and c > d",  # comparisons, not tags
        "C++ <-> Java bridge",
        "salary < 5000",
        "Tom & Jerry",  # a bare ampersand
        "&notanentity; and &amp without its semicolon",
    ],
)
def test_text_that_is_not_markup_is_left_as_it_is(text):
    assert plain_text(text) == text


def test_a_text_without_markup_is_the_same_object():
    text = "Operate forklift trucks"
    assert plain_text(text) is text


# --- edge ------------------------------------------------------------------------------
def test_empty_text():
    assert plain_text("") == ""


def test_scripts_styles_and_comments_go_with_what_they_hold():
    text = "<style>p{color:red}</style><!-- hidden skill: COBOL --><script>if(a<b){x()}</script>Go"
    assert words(text) == ["Go"]


def test_an_unterminated_comment_or_script_runs_to_the_end():
    assert words("Python <!-- draft: COBOL") == ["Python"]
    assert words("Python <script>var x = 1") == ["Python"]


def test_an_unclosed_angle_bracket_is_text():
    assert plain_text("use <li without an end") == "use <li without an end"


def test_a_non_breaking_space_entity_is_a_space():
    assert plain_text("data&nbsp;science") == "data      science"


def test_a_tag_over_lines_is_one_break():
    text = '<a\n href="x">SQL</a>'
    assert words(text) == ["SQL"] and len(plain_text(text)) == len(text)


# --- boundary --------------------------------------------------------------------------
def test_markup_at_the_very_start_and_end():
    text = "<b>Python</b>"
    plain = plain_text(text)
    assert plain == "   Python    " and len(plain) == len(text)


def test_the_longest_tag_is_blanked_and_one_character_more_is_not():
    # a name of up to 64 characters, then up to 1,001 of attributes (a space or slash first)
    for longest, too_long in [
        ("<a " + "x" * 1000 + ">", "<a " + "x" * 1001 + ">"),
        ("<" + "n" * 64 + ">", "<" + "n" * 65 + ">"),
    ]:
        assert words(longest + "SQL") == ["SQL"]
        assert plain_text(too_long + "SQL") == too_long + "SQL"


def test_the_shortest_tag_and_entity():
    assert plain_text("<p>") == "\n  " and plain_text("<b>") == "   "
    assert plain_text("&lt;") == "<   "


# --- readable evidence -------------------------------------------------------------------
def test_readable_evidence_is_the_rendered_text():
    assert readable("Python</b> developer") == "Python developer"
    assert readable("P&amp;L budget") == "P&L budget"
    assert readable("data&nbsp;science") == "data science"


def test_readable_leaves_text_without_markup_as_it_is():
    for text in ("Python  developer", "a < b", "Tom & Jerry", ""):
        assert readable(text) == text


def test_an_entity_pad_other_than_a_space_marks_what_a_display_drops():
    text = "P&amp;L &eacute;"
    padded = plain_text(text, entity_pad="\0")
    assert len(padded) == len(text)
    assert padded == "P&\0\0\0\0L é\0\0\0\0\0\0\0"
    assert padded.replace("\0", "") == "P&L é"
    assert plain_text(text) == padded.replace("\0", " ")  # the model's reading is unchanged


@pytest.mark.parametrize(
    "entity,char", [("&shy;", "\u00ad"), ("&#8203;", "\u200b"), ("&zwj;", "\u200d"), ("&#x2060;", "\u2060")]
)
def test_an_invisible_entity_keeps_its_word_whole(entity, char):
    text = f"Py{entity}thon developer"
    plain = plain_text(text)
    assert len(plain) == len(text)
    assert plain == "Py" + char * len(entity) + "thon developer"  # no space: one word
    assert plain.replace(char, "").split() == ["Python", "developer"]
    assert readable(text) == f"Py{char}thon developer"
    assert plain_text(text, entity_pad="\0") == "Py" + char + "\0" * (len(entity) - 1) + "thon developer"


def test_an_entity_html_maps_to_nothing_is_a_blank():
    assert plain_text("x&#7;y") == "x    y"  # a control character: nothing a word holds
    assert readable("x&#7;y") == "x y"
