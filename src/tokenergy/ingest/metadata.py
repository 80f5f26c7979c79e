"""Files that travel with results but hold none (leaderboard indexes, model lists, scores).

Recognised so that ingesting a whole data directory lists them as skipped with a reason instead
of failing on an 'unknown format'.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tokenergy.ingest.options import IngestOptions
from tokenergy.ingest.registry import NotResults, register
from tokenergy.ingest.sources import Document
from tokenergy.records import ServingResult

_SCORE_COLUMNS = {"model", "arc", "hellaswag", "truthfulqa"}
_GPU_COLUMNS = {"gpu", "tdp_w"}


def _model_list(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and bool(data)
        and all(isinstance(v, dict) and "nickname" in v for v in data.values())
    )


@register
class Metadata:
    name: ClassVar[str] = "metadata"

    def sniff(self, data: Any, document: Document) -> bool:
        if isinstance(data, dict) and {"architectures", "models"} <= set(data):
            return True
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return set(data[0]) == _SCORE_COLUMNS or set(data[0]) >= _GPU_COLUMNS
        return _model_list(data)

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        if isinstance(data, list) and "tdp_w" in data[0]:
            raise NotResults("metadata: GPU power catalog, no serving results")
        if isinstance(data, list):
            raise NotResults("metadata: accuracy scores, no serving results")
        if "architectures" in data:
            raise NotResults("metadata: leaderboard index, no serving results")
        raise NotResults("metadata: model list, no serving results")
