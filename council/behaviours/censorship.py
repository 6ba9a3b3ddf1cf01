"""Censorship: a seat that never lets certain requests reach its replica.

Only input is filtered: a request envelope is dropped when its client is a listed submitter,
or when its operation is a governance motion (``{"op": "motion", "category": ...}``) in a listed
category. As primary the seat therefore never proposes them; the backups' request timers then
replace it (PBFT §4.4). Requests carried inside another primary's pre-prepare are not touched.
An operation that is not JSON, or not a motion, is never censored by category.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import ClassVar

from consensus import Envelope, Request
from council.behaviours.base import ALWAYS, Behaviour, BehaviourContext, Node, Window, decoded


def motion_category(operation: str) -> str | None:
    """The category of a motion operation; ``None`` for anything else (parsed defensively)."""
    try:
        parsed = json.loads(operation)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
    if not isinstance(parsed, dict) or parsed.get("op") != "motion":
        return None
    category = parsed.get("category")
    return category if isinstance(category, str) else None


class Censor(Behaviour):
    """Drops incoming requests of the listed ``submitters`` and motions in ``categories``.

    Empty lists censor nothing on that account."""

    kind: ClassVar[str] = "censor"

    def __init__(
        self,
        inner: Node,
        context: BehaviourContext,
        window: Window = ALWAYS,
        *,
        categories: Iterable[str] = (),
        submitters: Iterable[str] = (),
    ) -> None:
        super().__init__(inner, context, window)
        self.categories = frozenset(categories)
        self.submitters = frozenset(submitters)
        self.censored = 0

    def refuses(self, envelope: Envelope) -> bool:
        if envelope.kind != "request":
            return False
        request = decoded(envelope)
        if not isinstance(request, Request):
            return False  # not a request after all: the replica rejects it anyway
        censored = request.client in self.submitters or (
            bool(self.categories) and motion_category(request.operation) in self.categories
        )
        self.censored += censored
        return censored
