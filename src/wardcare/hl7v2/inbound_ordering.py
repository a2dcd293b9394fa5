"""Which inbound messages are about the same patient, so that they are applied in the order
received (issue 5) however each one identifies the patient.

A message names its patient by any of the identifiers in PID-3 (NHS number, hospital numbers;
an A40 also names the retired patient in MRG-1, HL7 v2.5.1 3.3.40). Two messages about one
patient can share no identifier: one with the NHS number only, the other with the MRN only.
Ordering by one "primary" key would let them run side by side; so a message's ordering keys
are every identifier it carries plus the group of identifiers known to name the same patient:

- identifiers that arrive together in one message are joined into one group;
- an identifier not seen yet is looked up once in the record (the patient it names, and the
  survivor of a merge, with all their identifiers), so the first messages after a restart are
  ordered too. After that the groups are in memory: the hot path reads a dict.

A message holds a lock for each of its keys (acquired in sorted order, so two messages never
wait for each other). The keys include each group's name as it was before this message joined
groups, so a message that links two groups waits for the messages already holding either.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

from wardcare.hl7v2.message_parsing import ParsedMessage
from wardcare.hl7v2.pid_to_patient import PatientKeys, identifier_keys
from wardcare.services.hl7_inbound import KeyedLocks

Lookup = Callable[[list[str]], list[list[str]]]
"""Identifier keys -> for each patient on record that one of them names, all its keys."""

DEFAULT_LIMIT = 200_000  # identifiers remembered before the groups are learnt again


def identifiers_of(keys: PatientKeys) -> list[str]:
    found = [f"nhs:{keys.nhs_number}"] if keys.nhs_number else []
    return found + [f"mrn:{mrn}" for mrn in keys.mrns]


def message_identifiers(message: ParsedMessage) -> list[str]:
    """Every patient identifier a message names: PID-3 and, on a merge, MRG-1."""
    found: list[str] = []
    for name, field in (("PID", 3), ("MRG", 1)):
        segment = message.first(name)
        if segment is None:
            continue
        # Unchecked: a message with an invalid NHS number is refused (AE) when applied, and
        # is still ordered with the patient's other messages by its other identifiers.
        found += identifiers_of(identifier_keys(segment, field, where=name, check=False))
    return found


class PatientGroups:
    """Identifier keys (`nhs:<number>`, `mrn:<number>`) grouped by the patient they name."""

    def __init__(self, *, limit: int = DEFAULT_LIMIT) -> None:
        self._limit = limit
        self._guard = threading.Lock()
        self._group: dict[str, str] = {}  # key -> its group's name (one of its keys)
        self._members: dict[str, set[str]] = {}  # group name -> keys

    def ordering_keys(self, identifiers: list[str], lookup: Lookup | None) -> tuple[str, ...]:
        """The locks a message naming `identifiers` holds while it is applied; identifiers
        not seen before are looked up with `lookup` first."""
        if not identifiers:
            return ()
        with self._guard:
            unknown = [k for k in identifiers if k not in self._group]
        try:
            learnt = lookup(unknown) if unknown and lookup else []
        except Exception:  # the database is unavailable: the message will be answered AR 207
            with self._guard:
                return tuple(sorted({*identifiers, *(self._name(k) for k in identifiers)}))
        with self._guard:
            if len(self._group) > self._limit:
                self._group.clear()
                self._members.clear()
            before = {self._name(k) for k in identifiers}
            for keys in [identifiers, *learnt]:
                self._join(keys)
            return tuple(sorted({*identifiers, *before, self._name(identifiers[0])}))

    def _name(self, key: str) -> str:
        return self._group.get(key, key)

    def _join(self, keys: Iterable[str]) -> None:
        names = {self._name(k) for k in keys}
        target = min(names)
        members = self._members.setdefault(target, {target})
        for name in names - {target}:
            for key in self._members.pop(name, {name}):
                self._group[key] = target
                members.add(key)
        for key in keys:
            self._group[key] = target
            members.add(key)


class ThreadKeyedLocks:
    """One lock per key for threads (the message log's reprocess, `wardcare hl7 import`, the
    listener's worker threads), created on demand and dropped when unused: a message holds the
    locks of all its keys, taken in sorted order so two messages never deadlock."""

    def __init__(self) -> None:
        self._locks = KeyedLocks()

    @contextlib.contextmanager
    def hold(self, keys: Iterable[str]) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for key in sorted(set(keys)):
                stack.enter_context(self._locks.hold(key))
            yield


class PatientQueues:
    """The listener's queues, one per key: a message joins the queue of each of its keys at
    once, on arrival, and runs when it is first in all of them. Two messages sharing a key are
    in the same order in every queue they share, so the earliest waiting message can always
    run (no deadlock) and one patient's messages run in arrival order, while messages with
    no key in common run side by side."""

    def __init__(self) -> None:
        self._queues: dict[str, collections.deque[asyncio.Event]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, keys: Iterable[str]) -> AsyncIterator[None]:
        wanted = sorted(set(keys))
        ticket = asyncio.Event()
        for key in wanted:
            self._queues.setdefault(key, collections.deque()).append(ticket)
        try:
            while not all(self._queues[key][0] is ticket for key in wanted):
                ticket.clear()
                await ticket.wait()
            yield
        finally:
            for key in wanted:
                queue = self._queues[key]
                queue.remove(ticket)
                if queue:
                    queue[0].set()
                else:
                    del self._queues[key]


# One per process: the listener's handler, the message log's reprocess and `wardcare hl7
# import` each have their own InboundHandler, and must agree on the keys and hold the same
# locks.
PATIENT_GROUPS = PatientGroups()
PATIENT_LOCKS = ThreadKeyedLocks()
