"""Taxonomy loaders: SFw workbook, plain CSV, ESCO CSV and the `load_taxonomy` dispatcher."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from openpyxl import Workbook

from sea_core.taxonomy import BUNDLED_ESCO, TaxonomyError, load_plain_csv, load_sfw_workbook, load_taxonomy

KEY_HEADER = [
    "TSC Code",
    "Sector",
    "TSC_CCS Category",
    "TSC_CCS Title",
    "TSC_CCS Description",
    "TSC_CCS Type",
]
KA_HEADER = [
    "TSC Code",
    "TSC_CCS Title",
    "Proficiency Level",
    "Knowledge / Ability Classification",
    "Knowledge / Ability Items",
]
KEY_ROWS = [
    ["ACC-BGT-3001-1.1", "Accountancy", "Budgeting", "Budgeting", "Plan and manage budgets", "TSC"],
    ["ICT-DIT-3002-1.1", "Infocomm Technology", "Data", "Data Analytics", "Analyse data", "tsc"],
    ["CCS-COM-1", "", "Interacting with Others", "Communication", "Convey messages", "Ccs"],
]
KA_ROWS = [
    ["ACC-BGT-3001-1.1", "Budgeting", 4, "Knowledge", "Principles of budgeting"],
    ["ACC-BGT-3001-1.1", "Budgeting", 3, "Ability", "Prepare budgets"],
    ["ACC-BGT-3001-1.1", "Budgeting", 3, "knowledge", "principles of budgeting"],
    ["ICT-DIT-3002-1.1", "Data Analytics", 2, "KNOWLEDGE", "Statistical methods"],
]


def write_workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    """An .xlsx at `path` with the given sheets (name -> rows)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def sfw_workbook(
    tmp_path: Path, key_rows=None, ka_rows=None, key_header=None, ka_header=None, name: str = "sfw.xlsx"
) -> Path:
    sheets = {"TSC_CCS_Key": [key_header or KEY_HEADER] + (KEY_ROWS if key_rows is None else key_rows)}
    if ka_rows is not False:
        sheets["TSC_CCS_K&A"] = [ka_header or KA_HEADER] + (KA_ROWS if ka_rows is None else ka_rows)
    return write_workbook(tmp_path / name, sheets)


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


# ---------------------------------------------------------------- SFw workbook: happy path


def test_sfw_workbook_gives_one_skill_per_tsc_ccs_with_all_fields(tmp_path):
    taxonomy = load_sfw_workbook(sfw_workbook(tmp_path))
    assert [s.title for s in taxonomy] == ["Budgeting", "Data Analytics", "Communication"]
    budgeting = taxonomy[0]
    assert (
        budgeting.skill_type,
        budgeting.code,
        budgeting.sector,
        budgeting.category,
        budgeting.description,
        budgeting.source,
    ) == ("tsc", "ACC-BGT-3001-1.1", "Accountancy", "Budgeting", "Plan and manage budgets", "sfw")
    assert budgeting.proficiency_levels == ("3", "4")
    assert taxonomy[1].proficiency_levels == ("2",)
    assert taxonomy[2].skill_type == "ccs"
    assert taxonomy[2].proficiency_levels == ()
    assert taxonomy.name == "sfw"


def test_sfw_knowledge_items_become_deduplicated_knowledge_skills_on_request(tmp_path):
    path = sfw_workbook(tmp_path)
    assert all(s.skill_type in ("tsc", "ccs") for s in load_sfw_workbook(path))
    taxonomy = load_sfw_workbook(path, include_knowledge=True)
    knowledge = [s.title for s in taxonomy if s.skill_type == "knowledge"]
    assert knowledge == ["Principles of budgeting", "Statistical methods"]  # abilities left out
    assert len(taxonomy) == 5


def test_sfw_tags_and_emerging_column_become_tags(tmp_path):
    header = KEY_HEADER + ["Tags", "Emerging"]
    rows = [KEY_ROWS[0] + ["finance; core", "Yes"], KEY_ROWS[1] + ["", "no"], KEY_ROWS[2] + ["", "x"]]
    taxonomy = load_sfw_workbook(sfw_workbook(tmp_path, key_rows=rows, key_header=header))
    assert taxonomy[0].tags == ("finance", "core", "Emerging TSC")
    assert taxonomy[1].tags == ()
    assert taxonomy[2].tags == ("Emerging CCS",)


def test_sfw_version_comes_from_argument_or_file_name(tmp_path):
    path = sfw_workbook(tmp_path, name="SFw_v2.3.1.xlsx")
    assert load_sfw_workbook(path).version == "2.3.1"
    assert load_sfw_workbook(path, version="9.9.9").version == "9.9.9"


def test_sfw_ka_rows_link_by_title_when_there_is_no_code_column(tmp_path):
    header = [
        "TSC_CCS Title",
        "Proficiency Level",
        "Knowledge / Ability Classification",
        "Knowledge / Ability Items",
    ]
    rows = [["data analytics", 5, "Knowledge", "Data mining"], ["Data Analytics", 6, "ability", ""]]
    taxonomy = load_sfw_workbook(sfw_workbook(tmp_path, ka_rows=rows, ka_header=header))
    assert taxonomy[1].proficiency_levels == ("5", "6")
    assert taxonomy[0].proficiency_levels == ()


# ---------------------------------------------------------------- SFw workbook: edge cases


def test_sfw_header_after_title_rows_and_extra_columns_and_loose_header_spelling(tmp_path):
    header = [
        "Notes",
        "  tsc code ",
        "SECTOR",
        "tsc_ccs  category",
        "TSC_CCS_TITLE",
        "tsc_ccs description",
        "Tsc_Ccs Type",
        "Unrelated",
    ]
    rows = [["n1", "ACC-1", "Accountancy", "Budgeting", "Budgeting", "Plan", "TSC", "zzz"]]
    write_workbook(
        tmp_path / "w.xlsx",
        {
            "TSC_CCS_Key": [["SkillsFuture Framework"], [], ["Exported 2024"]] + [header] + rows,
        },
    )
    taxonomy = load_sfw_workbook(tmp_path / "w.xlsx")
    assert len(taxonomy) == 1
    skill = taxonomy[0]
    assert (skill.title, skill.code, skill.sector, skill.category, skill.description) == (
        "Budgeting",
        "ACC-1",
        "Accountancy",
        "Budgeting",
        "Plan",
    )
    assert skill.proficiency_levels == ()


def test_sfw_unicode_titles_and_blank_rows_are_kept_and_skipped(tmp_path):
    rows = [
        ["X-1", "Données", "Catégorie", "Analyse de données – 数据 🚀", "Décrire", "tsc"],
        [None, None, None, None, None, None],
        ["X-2", "", "", "Second", "", "ccs"],
    ]
    taxonomy = load_sfw_workbook(sfw_workbook(tmp_path, key_rows=rows, ka_rows=False))
    assert [s.title for s in taxonomy] == ["Analyse de données – 数据 🚀", "Second"]
    assert taxonomy[0].sector == "Données"


def test_sfw_same_title_with_different_codes_is_two_skills(tmp_path):
    rows = [["A-1", "Aerospace", "", "Budgeting", "", "tsc"], ["B-1", "Banking", "", "Budgeting", "", "tsc"]]
    taxonomy = load_sfw_workbook(sfw_workbook(tmp_path, key_rows=rows, ka_rows=False))
    assert [s.sector for s in taxonomy] == ["Aerospace", "Banking"]
    assert taxonomy[0].skill_id != taxonomy[1].skill_id


def test_sfw_without_ka_sheet_loads_without_levels(tmp_path):
    taxonomy = load_sfw_workbook(sfw_workbook(tmp_path, ka_rows=False))
    assert len(taxonomy) == 3
    assert all(s.proficiency_levels == () for s in taxonomy)


# ---------------------------------------------------------------- SFw workbook: boundaries


def test_sfw_exactly_one_row_gives_one_skill(tmp_path):
    taxonomy = load_sfw_workbook(sfw_workbook(tmp_path, key_rows=[KEY_ROWS[0]], ka_rows=[]))
    assert [s.title for s in taxonomy] == ["Budgeting"]


def test_sfw_header_without_rows_is_an_error(tmp_path):
    with pytest.raises(TaxonomyError, match="only a header") as error:
        load_sfw_workbook(sfw_workbook(tmp_path, key_rows=[], ka_rows=False))
    assert error.value.sheet == "TSC_CCS_Key"
    assert error.value.row == 1


def test_sfw_header_beyond_the_search_rows_is_not_found(tmp_path):
    rows = [["title row"]] * 20 + [KEY_HEADER, KEY_ROWS[0]]
    write_workbook(tmp_path / "w.xlsx", {"TSC_CCS_Key": rows})
    with pytest.raises(TaxonomyError, match="missing column"):
        load_sfw_workbook(tmp_path / "w.xlsx")
    rows = [["title row"]] * 19 + [KEY_HEADER, KEY_ROWS[0]]
    write_workbook(tmp_path / "w.xlsx", {"TSC_CCS_Key": rows})
    assert len(load_sfw_workbook(tmp_path / "w.xlsx")) == 1


# ---------------------------------------------------------------- SFw workbook: errors


def test_sfw_missing_key_sheet_is_named(tmp_path):
    path = write_workbook(tmp_path / "w.xlsx", {"Other": [KEY_HEADER, KEY_ROWS[0]]})
    with pytest.raises(TaxonomyError, match="missing sheet 'TSC_CCS_Key'") as error:
        load_sfw_workbook(path)
    assert error.value.sheet == "TSC_CCS_Key"
    assert str(path) in str(error.value) and "Other" in str(error.value)


def test_sfw_missing_column_names_sheet_row_and_column(tmp_path):
    header = [h for h in KEY_HEADER if h != "TSC_CCS Type"]
    rows = [row[:-1] for row in KEY_ROWS]
    with pytest.raises(TaxonomyError) as error:
        load_sfw_workbook(sfw_workbook(tmp_path, key_rows=rows, key_header=header))
    assert (error.value.sheet, error.value.row, error.value.column) == ("TSC_CCS_Key", 1, "TSC_CCS Type")
    assert "sheet 'TSC_CCS_Key', row 1, column 'TSC_CCS Type'" in str(error.value)


def test_sfw_missing_ka_column_names_the_ka_sheet(tmp_path):
    header = KA_HEADER[:3] + ["Knowledge / Ability Items"]
    rows = [row[:3] + [row[4]] for row in KA_ROWS]
    with pytest.raises(TaxonomyError) as error:
        load_sfw_workbook(sfw_workbook(tmp_path, ka_rows=rows, ka_header=header))
    assert (error.value.sheet, error.value.column) == ("TSC_CCS_K&A", "Knowledge / Ability Classification")


def test_sfw_empty_title_names_the_row(tmp_path):
    rows = [KEY_ROWS[0], ["X-9", "Sector", "Cat", "  ", "desc", "tsc"]]
    with pytest.raises(TaxonomyError, match="empty title") as error:
        load_sfw_workbook(sfw_workbook(tmp_path, key_rows=rows, ka_rows=False))
    assert (error.value.sheet, error.value.row, error.value.column) == ("TSC_CCS_Key", 3, "TSC_CCS Title")


def test_sfw_duplicate_skill_names_both_rows(tmp_path):
    rows = [KEY_ROWS[0], KEY_ROWS[1], ["ACC-BGT-3001-1.1", "x", "y", "BUDGETING", "other", "tsc"]]
    with pytest.raises(TaxonomyError, match="duplicate skill .*first on row 2") as error:
        load_sfw_workbook(sfw_workbook(tmp_path, key_rows=rows, ka_rows=False))
    assert (error.value.row, error.value.column) == (4, "TSC_CCS Title")


def test_sfw_unknown_type_names_the_type_column(tmp_path):
    rows = [KEY_ROWS[0], ["Z-1", "", "", "Welding", "", "hard skill"]]
    with pytest.raises(TaxonomyError, match="'hard skill' is not tsc or ccs") as error:
        load_sfw_workbook(sfw_workbook(tmp_path, key_rows=rows, ka_rows=False))
    assert (error.value.row, error.value.column) == (3, "TSC_CCS Type")


def test_sfw_ka_row_for_unknown_code_is_an_error(tmp_path):
    rows = KA_ROWS + [["NOPE-1", "Budgeting", 2, "knowledge", "x"]]
    with pytest.raises(TaxonomyError, match="'NOPE-1' is not on sheet") as error:
        load_sfw_workbook(sfw_workbook(tmp_path, ka_rows=rows))
    assert (error.value.sheet, error.value.row, error.value.column) == ("TSC_CCS_K&A", 6, "TSC Code")


def test_sfw_ka_bad_classification_is_an_error(tmp_path):
    rows = [["ACC-BGT-3001-1.1", "Budgeting", 2, "attitude", "x"]]
    with pytest.raises(TaxonomyError, match="not knowledge or ability") as error:
        load_sfw_workbook(sfw_workbook(tmp_path, ka_rows=rows))
    assert (error.value.sheet, error.value.row) == ("TSC_CCS_K&A", 2)


def test_sfw_empty_sheet_is_an_error(tmp_path):
    path = write_workbook(tmp_path / "w.xlsx", {"TSC_CCS_Key": []})
    with pytest.raises(TaxonomyError, match="the sheet is empty") as error:
        load_sfw_workbook(path)
    assert error.value.sheet == "TSC_CCS_Key"


@pytest.mark.parametrize("content", [b"", b"this is not a zip file", b"PK\x03\x04garbage"])
def test_sfw_empty_or_corrupt_file_is_an_error(tmp_path, content):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    with pytest.raises(TaxonomyError, match="empty" if not content else "not a readable") as error:
        load_sfw_workbook(path)
    assert error.value.file == str(path)


def test_sfw_zip_that_is_not_a_workbook_is_an_error(tmp_path):
    import zipfile

    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not excel")
    with pytest.raises(TaxonomyError, match="not a readable Excel workbook"):
        load_sfw_workbook(path)


# ---------------------------------------------------------------- plain CSV

PLAIN_HEADER = "title,type,description,alt_labels,tags,proficiency_levels,sector,category,code,source\n"


def test_plain_csv_reads_every_column(tmp_path):
    path = write_csv(
        tmp_path / "mine_v1.2.0.csv",
        PLAIN_HEADER
        + 'Python,skill,"Write Python, well",py; python3,lang;core,1;2,ICT,Prog,P1,internal\n'
        + "Bookkeeping,,,,,,,,,\n",
    )
    taxonomy = load_plain_csv(path)
    python = taxonomy[0]
    assert (
        python.title,
        python.skill_type,
        python.description,
        python.alt_labels,
        python.tags,
        python.proficiency_levels,
        python.sector,
        python.category,
        python.code,
        python.source,
    ) == (
        "Python",
        "skill",
        "Write Python, well",
        ("py", "python3"),
        ("lang", "core"),
        ("1", "2"),
        "ICT",
        "Prog",
        "P1",
        "internal",
    )
    assert (taxonomy[1].skill_type, taxonomy[1].source) == ("skill", "csv")
    assert taxonomy.version == "1.2.0"


def test_plain_csv_only_title_column_gzip_bom_unicode_and_extra_columns(tmp_path):
    path = write_csv(tmp_path / "skills.csv.gz", "\ufeffTitle ,Extra\nCafé management ☕,zzz\n\n")
    taxonomy = load_plain_csv(path)
    assert [s.title for s in taxonomy] == ["Café management ☕"]


def test_plain_csv_type_is_case_insensitive(tmp_path):
    taxonomy = load_plain_csv(write_csv(tmp_path / "s.csv", "title,type\nBudgeting,TSC\n"))
    assert taxonomy[0].skill_type == "tsc"


def test_plain_csv_missing_title_column(tmp_path):
    with pytest.raises(TaxonomyError, match="missing column 'title'") as error:
        load_plain_csv(write_csv(tmp_path / "s.csv", "name,type\nx,skill\n"))
    assert (error.value.row, error.value.column) == (1, "title")


def test_plain_csv_empty_title_names_row(tmp_path):
    with pytest.raises(TaxonomyError, match="empty title") as error:
        load_plain_csv(write_csv(tmp_path / "s.csv", "title,type\nA,skill\n ,skill\n"))
    assert (error.value.row, error.value.column) == (3, "title")


def test_plain_csv_duplicate_skill_names_rows(tmp_path):
    with pytest.raises(TaxonomyError, match="duplicate skill 'a'.*row 2") as error:
        load_plain_csv(write_csv(tmp_path / "s.csv", "title,type\nA,skill\nB,skill\na,skill\n"))
    assert error.value.row == 4


def test_plain_csv_same_title_different_type_is_allowed(tmp_path):
    taxonomy = load_plain_csv(write_csv(tmp_path / "s.csv", "title,type\nA,skill\nA,knowledge\n"))
    assert len(taxonomy) == 2


def test_plain_csv_unknown_type_names_column(tmp_path):
    with pytest.raises(TaxonomyError, match="'talent' is not one of") as error:
        load_plain_csv(write_csv(tmp_path / "s.csv", "title,type\nA,talent\n"))
    assert (error.value.row, error.value.column) == (2, "type")


def test_plain_csv_header_only_and_empty_file(tmp_path):
    with pytest.raises(TaxonomyError, match="only a header"):
        load_plain_csv(write_csv(tmp_path / "h.csv", "title,type\n"))
    with pytest.raises(TaxonomyError, match="the file is empty"):
        load_plain_csv(write_csv(tmp_path / "e.csv", ""))
    with pytest.raises(TaxonomyError, match="the file is empty"):
        load_plain_csv(write_csv(tmp_path / "w.csv", " \n\n"))


def test_plain_csv_wrong_encoding_names_the_line(tmp_path):
    path = write_csv(tmp_path / "latin.csv", "title\nBudgeting\nCafé\n", encoding="latin-1")
    with pytest.raises(TaxonomyError, match="not UTF-8") as error:
        load_plain_csv(path)
    assert error.value.row == 3
    assert error.value.file == str(path)


# ---------------------------------------------------------------- ESCO CSV


def test_bundled_esco_loads_through_load_taxonomy():
    taxonomy = load_taxonomy(BUNDLED_ESCO)
    assert len(taxonomy) == 13896
    skill = next(s for s in taxonomy if s.title == "manage musical staff")
    assert skill.code == "http://data.europa.eu/esco/skill/0005c151-5b5a-4a66-8aac-60e734beb1ab"
    assert skill.source == "esco"
    assert skill.description.startswith("Assign and manage staff tasks")
    assert taxonomy.version == "1.1.0"


def test_shared_esco_copy_matches_the_bundled_one():
    shared = Path(__file__).resolve().parents[2].parent / "shared/data/esco/esco_skills_v1.1.0_en.csv.gz"
    if not shared.exists():
        pytest.skip("shared data folder not available")
    assert load_taxonomy(shared).checksum == load_taxonomy(BUNDLED_ESCO).checksum


def test_small_hand_made_esco_csv(tmp_path):
    path = write_csv(
        tmp_path / "esco_small.csv",
        "conceptUri,preferredLabel,altLabelsAndDescription\n"
        "http://e/1,use spreadsheets,use excel Work with spreadsheet software.\n"
        ",bake bread,\n",
    )
    taxonomy = load_taxonomy(path, version="0.0.1")
    assert [s.title for s in taxonomy] == ["use spreadsheets", "bake bread"]
    assert taxonomy[0].alt_labels == ("use excel",)
    assert taxonomy[0].description == "Work with spreadsheet software."
    assert taxonomy[1].code == ""
    assert taxonomy.version == "0.0.1"


# ---------------------------------------------------------------- load_taxonomy dispatch


def test_load_taxonomy_picks_the_loader_from_extension_and_header(tmp_path):
    assert load_taxonomy(sfw_workbook(tmp_path))[0].source == "sfw"
    xlsm = sfw_workbook(tmp_path, name="sfw.XLSM")
    assert load_taxonomy(xlsm)[0].skill_type == "tsc"
    assert len(load_taxonomy(sfw_workbook(tmp_path, name="k.xlsx"), include_knowledge=True)) == 5
    plain = write_csv(tmp_path / "plain.csv.gz", "title\nA\n")
    assert load_taxonomy(plain)[0].source == "csv"


def test_load_taxonomy_esco_header_errors_come_from_the_esco_loader(tmp_path):
    path = write_csv(
        tmp_path / "esco.csv", "conceptUri,preferredLabel,altLabelsAndDescription\nu,a,\nu2,A,\n"
    )
    with pytest.raises(TaxonomyError, match="duplicate skill") as error:
        load_taxonomy(path)
    assert (error.value.row, error.value.column) == (3, "preferredLabel")


@pytest.mark.parametrize("name", ["skills.json", "skills.xls", "skills.txt", "skills"])
def test_load_taxonomy_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("title\nA\n", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="unknown taxonomy file type"):
        load_taxonomy(path)


def test_load_taxonomy_missing_file_and_folder(tmp_path):
    with pytest.raises(TaxonomyError, match="no such file"):
        load_taxonomy(tmp_path / "nope.xlsx")
    with pytest.raises(TaxonomyError, match="not a file"):
        load_taxonomy(tmp_path)


def test_load_taxonomy_corrupt_gzip_csv(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(TaxonomyError, match="not a valid gzip file"):
        load_taxonomy(path)


@pytest.mark.parametrize("name", ["Skill-Title", " skill_title ", "\ufeffSkill Title", "SKILL  TITLE"])
def test_header_names_match_whatever_their_case_spacing_hyphens_or_bom(name):
    from sea_core.taxonomy.reading import header_key

    assert header_key(name) == "skilltitle"
    assert header_key(name + "s") != "skilltitle"
