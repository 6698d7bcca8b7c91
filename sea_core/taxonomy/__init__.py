"""Taxonomy: skills, loaders for SFw workbooks, ESCO CSV and plain CSV."""
from .errors import TaxonomyError
from .esco import BUNDLED_ESCO, bundled_taxonomy, load_esco_csv
from .model import Skill, Taxonomy, skill_id_for

__all__ = ["Skill", "Taxonomy", "TaxonomyError", "skill_id_for", "load_esco_csv",
           "bundled_taxonomy", "BUNDLED_ESCO"]
