"""The span schema: names (``_names``), encoding (``_encode``) and decoding (``_decode``).

Every span name, attribute key and result key is spelled in ``_names``; nothing outside this
package knows one. See ``docs/schema.md``.
"""

from ._decode import (
    batch_id_of,
    chunk_size,
    decode_object,
    decode_record,
    decode_result,
    epoch_ns,
    is_result,
    iso,
    link_dict,
    query_terms,
    read_keys,
    result_dict,
    sort_key,
)
from ._encode import (
    EncodedResult,
    Limits,
    NotPlainError,
    batch_attributes,
    call_attributes,
    encode_result,
    flatten,
    metric_leaves,
    record_text,
    sample_id_of,
    walk_result,
)
from ._names import *  # noqa: F403 - the names are this package's face
from ._names import __all__ as _names_all
from ._summary import SummaryRecord, decode_summary, summary_attributes, summary_terms

__all__ = [
    *_names_all,
    "EncodedResult",
    "Limits",
    "NotPlainError",
    "SummaryRecord",
    "batch_attributes",
    "batch_id_of",
    "call_attributes",
    "chunk_size",
    "decode_object",
    "decode_record",
    "decode_result",
    "decode_summary",
    "encode_result",
    "epoch_ns",
    "flatten",
    "is_result",
    "iso",
    "link_dict",
    "metric_leaves",
    "query_terms",
    "read_keys",
    "record_text",
    "result_dict",
    "sample_id_of",
    "sort_key",
    "summary_attributes",
    "summary_terms",
    "walk_result",
]
