"""The app's skill search: ranked by names and, when the served model runs in this process, by
meaning with the skill vectors it has already loaded (only the query is encoded).

The `MAX_SEARCHES` most recently used `SkillSearch`es are kept per (taxonomy, model) in the
process (older taxonomy versions are let go); with a remote inference server, a
SageMaker endpoint or no loadable model the app holds no model, so the search uses names alone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from mlops.adapters.inference.in_process import InProcessInferenceClient
from mlops.bootstrap import Bootstrap, ServiceUnavailable
from sea_core.labels import skill_names
from sea_core.pipeline import Pipeline
from sea_core.taxonomy import Taxonomy
from sea_core.taxonomy.search import SearchHit, SkillSearch

_lock = threading.Lock()
_searches: OrderedDict[tuple[str, str], SkillSearch] = OrderedDict()
#: Searches kept in the process (one per taxonomy version and model; each holds the names).
MAX_SEARCHES = 4


def _build(taxonomy: Taxonomy, pipeline: Pipeline | None) -> SkillSearch:
    names = skill_names(taxonomy)
    if pipeline is None:
        return SkillSearch(taxonomy, names)
    return SkillSearch(taxonomy, names, pipeline.index.matrix, pipeline.encoder.encode)


def skill_search(services: Bootstrap, stage: str = "prod") -> SkillSearch:
    """The search over the served taxonomy, by meaning too when the stage's model is loaded in
    this process and serves that same taxonomy."""
    taxonomy = services.taxonomy
    pipeline: Pipeline | None = None
    try:
        client = services.inference(stage, log=False)
    except ServiceUnavailable:  # no model: names alone (the pages report model errors elsewhere)
        client = None
    served = client.pipeline if isinstance(client, InProcessInferenceClient) else None
    if isinstance(served, Pipeline) and served.taxonomy.checksum == taxonomy.checksum:
        pipeline = served
    key = (taxonomy.checksum, pipeline.encoder.fingerprint if pipeline is not None else "names")
    with _lock:
        search = _searches.get(key)
        if search is None:
            search = _searches[key] = _build(taxonomy, pipeline)
            while len(_searches) > MAX_SEARCHES:
                _searches.popitem(last=False)
        _searches.move_to_end(key)
    return search


def search_skills(services: Bootstrap, query: str, limit: int = 15) -> list[SearchHit]:
    """Ranked hits for `query` ([] for a blank one)."""
    if not query.strip():
        return []
    return skill_search(services).search(query, limit)


def search_label(hit: SearchHit) -> str:
    """How a hit reads in a picker: title and type, and the alternative label that matched."""
    label = f"{hit.skill.title} ({hit.skill.skill_type})"
    if hit.how == "meaning":
        return f"{label} · by meaning"
    if hit.matched_name != hit.skill.title:
        return f"{label} · matched “{hit.matched_name}”"
    return label
