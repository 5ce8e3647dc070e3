"""The reach of campaign sends, stored as compressed chunks of addresses.

A chunk is up to 50,000 addresses of one send: joined by newlines, with a newline
before the first and after the last, and zlib-compressed at level 1 (about 5 bytes a
US number). Writing one costs a ``join`` and a ``compress`` in C (a fraction of a
microsecond per address) and one ``INSERT``; the addresses need no sorting, hashing
or parsing. Membership is exact: ``b"\\n" + address + b"\\n"`` occurs in the chunk's
text or it does not (a C-level search of a few hundred kilobytes); for many
addresses against one chunk, the chunk is split into a set once.

The addresses are the normalised ones the gate answered for (E.164 for phones), the
same personal data the ledger holds; erasure rewrites every chunk that holds one
(C22) and :func:`prune` drops chunks long past the attribution window.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Connection, delete, func, select, update

from consentline.domain.addresses import CHANNELS
from consentline.services.ports import ReachChunk
from consentline.storage import schema as t

LEVEL: Final = 1  # zlib: level 6 saves a fifth of the bytes for three times the CPU
_SET_FROM: Final = 32  # probes of one chunk from which splitting it beats searching
_FETCH: Final = 32  # chunks read per query


def encode(addresses: Sequence[str]) -> tuple[bytes, int]:
    """The stored form of some addresses, and how many it holds (an address holding a
    newline is left out: no normalised address does, and it could not be found)."""
    text = "\n".join(addresses)
    if addresses and text.count("\n") != len(addresses) - 1:
        return encode([a for a in addresses if "\n" not in a])
    data = zlib.compress(f"\n{text}\n".encode() if addresses else b"\n", LEVEL)
    return data, len(addresses)


def decode(data: bytes) -> bytes:
    """A chunk's text: ``b"\\n" + b"\\n".join(addresses) + b"\\n"``."""
    return zlib.decompress(data)


def addresses_of(text: bytes) -> list[str]:
    return text[1:-1].decode().split("\n") if len(text) > 1 else []


def members(text: bytes, addresses: Collection[str]) -> set[str]:
    """The ``addresses`` that a chunk's text holds."""
    if len(addresses) < _SET_FROM:
        return {a for a in addresses if f"\n{a}\n".encode() in text}
    held = set(text.split(b"\n"))
    return {a for a in addresses if a.encode() in held}


def write(
    conn: Connection,
    *,
    send_id: int,
    chunk: int,
    tenant_id: int,
    channel: str,
    line_id: int,
    at_us: int,
    addresses: Sequence[str],
) -> None:
    """Chunk ``chunk`` of a bulk send (written again, it is replaced: a retried write
    of the same chunk counts its addresses once)."""
    c = t.campaign_reach_chunks.c
    data, size = encode(addresses)
    values = {"first_us": at_us, "last_us": at_us, "size": size, "data": data}
    key = {"send_id": send_id, "chunk": chunk}
    done = conn.execute(
        update(t.campaign_reach_chunks)
        .where(c.send_id == send_id, c.chunk == chunk)
        .values(**values)
    )
    if not done.rowcount:
        conn.execute(
            t.campaign_reach_chunks.insert().values(
                **key, tenant_id=tenant_id, channel=channel, line_id=line_id, **values
            )
        )


def append(
    conn: Connection,
    *,
    send_id: int,
    tenant_id: int,
    channel: str,
    line_id: int,
    at_us: int,
    address: str,
    full: int,
) -> None:
    """One address of a gateway send, added to the send's newest chunk while it holds
    fewer than ``full`` (a new chunk after). The caller holds the send's row lock (it
    has just updated the send's counts), so two messages of one send do not race."""
    if "\n" in address:  # no normalised address holds one (see encode)
        return
    c = t.campaign_reach_chunks.c
    newest = conn.execute(
        select(c.id, c.chunk, c.size, c.data, c.last_us)
        .where(c.send_id == send_id)
        .order_by(c.chunk.desc())
        .limit(1)
    ).first()
    if newest is not None and int(newest.size) < full:
        text = decode(newest.data)
        needle = f"\n{address}\n".encode()
        values: dict[str, Any] = {"last_us": max(int(newest.last_us), at_us)}
        if needle not in text:
            values["data"] = zlib.compress(text + needle[1:], LEVEL)
            values["size"] = int(newest.size) + 1
        conn.execute(update(t.campaign_reach_chunks).where(c.id == newest.id).values(**values))
        return
    conn.execute(
        t.campaign_reach_chunks.insert().values(
            send_id=send_id,
            chunk=0 if newest is None else int(newest.chunk) + 1,
            tenant_id=tenant_id,
            channel=channel,
            line_id=line_id,
            first_us=at_us,
            last_us=at_us,
            size=1,
            data=encode([address])[0],
        )
    )


def candidates(
    conn: Connection,
    tenant_id: int,
    channels: Collection[str],
    after_us: int,
    until_us: int,
    limit: int | None = None,
) -> list[ReachChunk]:
    """The chunks reached in time for an opt-out between the two instants to fall in
    their window (``last_us > after_us``: the caller subtracts the window; ``first_us
    <= until_us``), newest first: one read of the tenant's index."""
    c = t.campaign_reach_chunks.c
    query = (
        select(c.id, c.send_id, c.line_id, c.channel, c.first_us, c.last_us)
        .where(
            c.tenant_id == tenant_id,
            c.last_us > after_us,
            c.first_us <= until_us,
            c.channel.in_(sorted(channels)),
        )
        .order_by(c.last_us.desc(), c.send_id.desc(), c.chunk.desc())
        .limit(limit)
    )
    return [
        ReachChunk(int(a), int(b), int(c_), str(d), int(e), int(f))
        for a, b, c_, d, e, f in conn.execute(query)
    ]


def texts(conn: Connection, ids: Sequence[int]) -> dict[int, bytes]:
    """id -> the chunk's text, for some chunks (one query per 32)."""
    c = t.campaign_reach_chunks.c
    found: dict[int, bytes] = {}
    for start in range(0, len(ids), _FETCH):
        query = select(c.id, c.data).where(c.id.in_(ids[start : start + _FETCH]))
        for chunk_id, data in conn.execute(query):
            found[int(chunk_id)] = decode(data)
    return found


def members_of(conn: Connection, wanted: Mapping[int, Collection[str]]) -> dict[int, set[str]]:
    """chunk id -> which of its wanted addresses the chunk holds (one query per 32
    chunks; each chunk is decompressed once)."""
    ids = sorted(wanted)
    return {
        chunk_id: members(text, wanted[chunk_id]) for chunk_id, text in texts(conn, ids).items()
    }


def _tenant_chunks(conn: Connection, tenant_id: int) -> Iterable[tuple[int, bytes]]:
    c = t.campaign_reach_chunks.c
    ids = [
        int(r[0])
        for r in conn.execute(
            select(c.id).where(c.tenant_id == tenant_id, c.channel.in_(CHANNELS)).order_by(c.id)
        )
    ]
    for start in range(0, len(ids), _FETCH):
        yield from texts(conn, ids[start : start + _FETCH]).items()


def reached(conn: Connection, tenant_id: int, addresses: Collection[str]) -> set[str]:
    """Which of ``addresses`` any send of the tenant reached (every chunk is read: for
    erasure and subject questions, not for a hot path)."""
    found: set[str] = set()
    for _id, text in _tenant_chunks(conn, tenant_id):
        found |= members(text, [a for a in addresses if a not in found])
        if len(found) == len(addresses):
            break
    return found


def erase(conn: Connection, tenant_id: int, address: str) -> int:
    """Take ``address`` out of every chunk of the tenant (C22); how many held it."""
    c = t.campaign_reach_chunks.c
    needle = f"\n{address}\n".encode()
    rewritten = 0
    for chunk_id, text in _tenant_chunks(conn, tenant_id):
        if needle not in text:
            continue
        kept = text.replace(needle, b"\n")
        while needle in kept:  # a send that listed it twice (adjacent copies share a newline)
            kept = kept.replace(needle, b"\n")
        size = kept.count(b"\n") - 1
        if size <= 0:
            conn.execute(delete(t.campaign_reach_chunks).where(c.id == chunk_id))
        else:
            conn.execute(
                update(t.campaign_reach_chunks)
                .where(c.id == chunk_id)
                .values(data=zlib.compress(kept, LEVEL), size=size)
            )
        rewritten += 1
    return rewritten


def prune(conn: Connection, tenant_id: int, before_us: int) -> int:
    """Drop the tenant's chunks last reached before ``before_us``."""
    c = t.campaign_reach_chunks.c
    result = conn.execute(
        delete(t.campaign_reach_chunks).where(c.tenant_id == tenant_id, c.last_us < before_us)
    )
    return int(result.rowcount or 0)


def chunk_count(conn: Connection, send_id: int) -> int:
    c = t.campaign_reach_chunks.c
    return int(conn.execute(select(func.count()).where(c.send_id == send_id)).scalar_one())
