"""Whether two runs were run on the same thing: their datasets (sample fingerprints of the
paired samples) and their evaluators' versions. ``compare`` reports it, and its gate refuses
a pair whose datasets or evaluators differ unless told ``--allow-dataset-change``.

Fingerprints are computed from each result's data row as read back (``schema._fingerprint``),
so every adapter gives them and old runs have them too. Unknown (a sample without a
fingerprint, a run that did not say its evaluators' versions) is said as unknown, never as a
difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .schema._fingerprint import (
    SampleFingerprints,
    dataset_fingerprint,
    fingerprints_by_sample,
    sample_fingerprint,
)

__all__ = ["DatasetDiff", "diff_fingerprints", "diff_provenance"]


@dataclass(frozen=True, slots=True)
class DatasetDiff:
    """What differs between the datasets and evaluators of RUN_A and RUN_B."""

    paired: int
    """Samples both runs hold."""
    changed: list[str]
    """Paired samples whose inputs or expected outputs differ."""
    unknown: int
    """Paired samples of which either run has no fingerprint (nothing but generated fields)."""
    dataset_a: str | None
    dataset_b: str | None
    """Each run's dataset fingerprint (sha256 hex), None when none of its samples has one."""
    evaluators: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    """Evaluators whose version differs: (name, version in A, version in B); None: absent."""

    @property
    def differs(self) -> bool:
        """The datasets or the evaluators differ (unknowns are not differences)."""
        return bool(self.changed or self.evaluators)

    def lines(self) -> list[str]:
        """One line per difference, as compare prints them and the gate names them."""
        out = []
        if self.changed:
            out.append(
                f"dataset changed: {len(self.changed)} of {self.paired} paired samples have "
                "different inputs/expected outputs"
            )
        for name, a, b in self.evaluators:
            out.append(f"evaluator {name} {a or 'absent'} -> {b or 'absent'}")
        return out

    def summary(self) -> str:
        """The line compare always prints about the datasets."""
        if self.differs:
            return "; ".join(self.lines())
        if self.unknown == self.paired:
            return "dataset: unknown (no sample fingerprint to compare)"
        known = self.paired - self.unknown
        return (
            f"dataset: same inputs/expected outputs on {known} of {self.paired} paired samples"
            + (f" ({self.unknown} unknown)" if self.unknown else "")
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: counts, the changed sample ids, both dataset fingerprints."""
        return {
            "differs": self.differs,
            "paired": self.paired,
            "changed": len(self.changed),
            "changed_samples": self.changed,
            "unknown": self.unknown,
            "dataset_a": self.dataset_a,
            "dataset_b": self.dataset_b,
            "evaluators": [{"name": n, "a": a, "b": b} for n, a, b in self.evaluators],
        }


def _fingerprints(results: Sequence[Mapping[str, Any]]) -> SampleFingerprints:
    """Each sample's fingerprints (one per distinct row it was logged with)."""
    return fingerprints_by_sample(
        (r["sample_id"], sample_fingerprint(r.get("data"))) for r in results
    )


def _evaluators(
    a: Mapping[str, str] | None, b: Mapping[str, str] | None
) -> list[tuple[str, str | None, str | None]]:
    if a is None or b is None:  # a run that said nothing: unknown, not a difference
        return []
    return [(n, a.get(n), b.get(n)) for n in sorted(a.keys() | b.keys()) if a.get(n) != b.get(n)]


def diff_provenance(
    results_a: Sequence[Mapping[str, Any]],
    results_b: Sequence[Mapping[str, Any]],
    evaluators_a: Mapping[str, str] | None = None,
    evaluators_b: Mapping[str, str] | None = None,
) -> DatasetDiff:
    """Compare the paired samples' fingerprints (and the evaluators' versions, when both runs
    said them)."""
    return diff_fingerprints(
        _fingerprints(results_a), _fingerprints(results_b), evaluators_a, evaluators_b
    )


def diff_fingerprints(
    a: SampleFingerprints,
    b: SampleFingerprints,
    evaluators_a: Mapping[str, str] | None = None,
    evaluators_b: Mapping[str, str] | None = None,
) -> DatasetDiff:
    """``diff_provenance`` of each run's fingerprints by sample (``sample_fingerprints`` of a
    query adapter: the store reads the ones it kept, never the results)."""
    paired = sorted(a.keys() & b.keys())
    changed, unknown = [], 0
    for sample in paired:
        if None in a[sample] or None in b[sample]:
            unknown += 1
        elif a[sample] != b[sample]:
            changed.append(sample)
    return DatasetDiff(
        len(paired),
        changed,
        unknown,
        dataset_fingerprint(f for fs in a.values() for f in fs),
        dataset_fingerprint(f for fs in b.values() for f in fs),
        _evaluators(evaluators_a, evaluators_b),
    )
