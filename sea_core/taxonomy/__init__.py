"""Taxonomy: skills, loaders for SFw workbooks, ESCO CSV and plain CSV."""

from .errors import TaxonomyError
from .esco import BUNDLED_ESCO, bundled_taxonomy, load_esco_csv
from .loading import load_taxonomy
from .model import Skill, Taxonomy, skill_id_for
from .plain_csv import load_plain_csv
from .sfw import load_sfw_workbook

__all__ = [
    "Skill",
    "Taxonomy",
    "TaxonomyError",
    "skill_id_for",
    "load_esco_csv",
    "bundled_taxonomy",
    "BUNDLED_ESCO",
    "load_taxonomy",
    "load_sfw_workbook",
    "load_plain_csv",
]
