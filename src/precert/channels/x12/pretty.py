"""A JSON-ready view of a read X12 file: envelopes, sets and their segments, and the issues.

The view is what `precert x12 parse --json` prints; ISA elements are shown without their
fixed-width padding. Segment positions are those of the 999 (ST is segment 1).
"""

from __future__ import annotations

from typing import Any

from precert.channels.x12.envelope import FunctionalGroup, Interchange, TransactionSet, X12Document


def document_view(document: X12Document) -> dict[str, Any]:
    return {
        "interchanges": [_interchange(i) for i in document.interchanges],
        "issues": [issue.as_dict() for issue in document.issues],
    }


def _interchange(interchange: Interchange) -> dict[str, Any]:
    return {
        "control_number": interchange.control_number,
        "sender": {"qualifier": interchange.element(5), "id": interchange.element(6)},
        "receiver": {"qualifier": interchange.element(7), "id": interchange.element(8)},
        "date": interchange.element(9),
        "time": interchange.element(10),
        "version": interchange.element(12),
        "usage": interchange.element(15),
        "delimiters": interchange.delimiters.as_dict(),
        "groups": [_group(g) for g in interchange.groups],
        "complete": interchange.trailer is not None,
    }


def _group(group: FunctionalGroup) -> dict[str, Any]:
    return {
        "functional_id": group.functional_id,
        "control_number": group.control_number,
        "sender": group.header.element(2),
        "receiver": group.header.element(3),
        "date": group.header.element(4),
        "time": group.header.element(5),
        "version": group.version,
        "sets": [_set(s) for s in group.sets],
        "complete": group.trailer is not None,
    }


def _set(transaction: TransactionSet) -> dict[str, Any]:
    return {
        "code": transaction.code,
        "control_number": transaction.control_number,
        "implementation": transaction.implementation,
        "segments": [
            {"position": n, "tag": s.tag, "elements": list(s.elements)}
            for n, s in enumerate(transaction.segments, start=1)
        ],
        "complete": transaction.trailer is not None,
    }
