"""The span schema: every span name, attribute key and result key (``_names``), and what a
query adapter needs to read results and run summaries back from spans.

Nothing outside this package spells a name. Encoding (``_walk``, ``_encode``), scores
(``_scores``), sample ids (``_samples``) and the mergeable aggregate (``_aggregate``) are this
package's private modules: evaltrace imports them by path; they are not a public face. See
``docs/schema.md``.
"""

from ._decode import decode_record, decode_result, is_result, query_terms, read_keys
from ._names import *  # noqa: F403 - the names are this package's face
from ._names import __all__ as _names_all
from ._summary_span import SummaryRecord, decode_summary, summary_terms

__all__ = [
    *_names_all,
    "SummaryRecord",
    "decode_record",
    "decode_result",
    "decode_summary",
    "is_result",
    "query_terms",
    "read_keys",
    "summary_terms",
]
