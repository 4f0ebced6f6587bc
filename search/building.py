"""Writing a whole new index in one pass, without Whoosh's posting pool.

Whoosh's SegmentWriter sends every posting through a pure-Python external sort and, at
commit, reads each posting's field length back from disk; a rebuild cost about 7 ms per
article that way. Here each term's postings go straight into a list, every full block
of 128 is encoded at once (so memory stays near the size of the index), and each text
is analysed once for all the fields made from it. Large rebuilds hand the body fields
and the title's edge n-grams to a second process, which writes their posting lists
while this one does the rest.

The files written are byte for byte what Whoosh's own writer produces for the same
documents (tests/search/test_search_building.py compares them), so Whoosh searches the
index and later writers update and merge it as usual.
"""

from __future__ import annotations

import contextlib
import operator
import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.formats import Existence, Frequency, Positions
from whoosh.index import TOC, clean_files
from whoosh.system import pack_int, pack_long, pack_uint, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

from search import analysis

#: Rebuilds of at least this many documents use a second process (it takes ~0.5 s to start).
PARALLEL_AFTER = 2_000
# The fields the second process indexes. With title_prefix the two processes take about
# the same CPU time (20k generated articles: 15 s each); without it this one took 16.6 s
# and the helper 12.5 s, and with spelling instead the helper was the slower one.
_HELPER_FIELDS = frozenset({"body", "body_cjk", "title_prefix"})
# Documents sent to the second process at a time.
_BATCH = 200
# Batches queued for the second process at most.
_QUEUED_BATCHES = 4
_HELPER_FILE = "helper-postings.tmp"

# Whoosh's W3Codec defaults: postings per block and zlib level of a block.
_BLOCK_LIMIT = 128
_COMPRESSION = 3
_POSTINGS_MAGIC = b"W3Bl"
# W3TermInfo's layout before the extent of the posting list (flags, weight, doc count,
# length bytes, top weight, first and last document).
_TERMINFO = struct.Struct("!BfIBBfII")
# Field values repeat (states, versions, dates): their terms are computed once each.
_MEMO_LIMIT = 50_000

# How a field's text becomes terms: each kind reads the words of the text computed once.
_WORDS = "words"
_PREFIXES = "prefixes"
_SPELLING = "spelling"
_BIGRAMS = "bigrams"

# How Whoosh packs a block's values: a tuple of strings, nothing, or one joined string.
_VALUES_TUPLE = 0
_VALUES_NONE = 1
_VALUES_JOINED = 2

# A posting: document number, weight (the frequency, for fields analysed here), encoded
# value (None when it is only the packed frequency), field length as Whoosh rounds it.
_Posting = tuple[int, float, bytes | None, int]
# A term's entry: term bytes, its TermInfo bytes up to the extent of its posting list,
# and that extent (offset from the start of the field's posting lists, and size).
_Entry = tuple[bytes, bytes, int, int]
# A field's posting lists in a file: field name, where they start, their size, entries.
_Chunk = tuple[str, int, int, list[_Entry]]
_Words = dict[str, list[tuple[str, int]]]


class BuildFailed(Exception):
    """Raised when the second process of a rebuild fails; the message has its traceback."""


def build_index(
    directory: Path,
    documents: Iterable[Mapping[str, Any]],
    schema: Any,
    parallel_after: int = PARALLEL_AFTER,
) -> int:
    """Create a Whoosh index of ``documents`` in ``directory``; return how many it holds.

    Each document maps field names to values, as Whoosh's ``add_document`` takes them.
    A document repeating the value of a unique field (the id) is skipped: the first wins.
    With ``parallel_after`` documents or more (and two CPUs), a second process indexes
    some of the fields.
    """
    ix = whoosh_index.create_in(str(directory), schema)
    iterator = iter(documents)
    head = list(islice(iterator, parallel_after))
    parallel = len(head) >= parallel_after and (os.cpu_count() or 1) > 1
    writer = _Writer(ix, directory, parallel)
    try:
        unique = [name for name, fieldobj in writer.schema.items() if fieldobj.unique]
        seen: set[tuple[str, Any]] = set()
        for document in chain(head, iterator):
            keys = [(name, document.get(name)) for name in unique]
            if any(key in seen for key in keys):
                continue
            seen.update(keys)
            writer.add(document)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    return writer.doc_count


class _TermBlocks:
    """A term's encoded blocks and what Whoosh's TermInfo accumulates over them."""

    __slots__ = (
        "df",
        "maxid",
        "maxlength",
        "maxweight",
        "minid",
        "minlength",
        "offsets",
        "sizes",
        "weight",
    )

    def __init__(self) -> None:
        # Where each encoded block lies in the spill file, and its size.
        self.offsets = array("q")
        self.sizes = array("q")
        self.weight = 0.0
        self.df = 0
        self.minlength: int | None = None
        self.maxlength = 0
        self.maxweight: float = 0
        self.minid: int | None = None
        self.maxid = 0


class _Filling:
    """A term's postings not yet encoded (less than a block), packed to save memory: a
    rebuild holds the tail of every term's list until the end, most of them in rare words.

    Document number, weight and field length go to one array of doubles (exact for the
    whole numbers and floats they are), the encoded values to one bytearray.
    """

    __slots__ = ("ends", "numbers", "values")

    def __init__(self) -> None:
        self.numbers = array("d")
        self.values: bytearray | None = None
        self.ends: array[int] | None = None

    def append(self, docnum: int, weight: float, value: bytes | None, length: int) -> int:
        """Add one posting; return how many the term now has pending."""
        self.numbers.extend((docnum, weight, length))
        if value is not None:
            if self.values is None or self.ends is None:
                self.values, self.ends = bytearray(), array("q")
            self.values += value
            self.ends.append(len(self.values))
        return len(self.numbers) // 3

    def __len__(self) -> int:
        return len(self.numbers) // 3

    def postings(self) -> list[_Posting]:
        """Return the postings as they were added."""
        numbers = self.numbers
        docs = [int(d) for d in numbers[0::3]]
        lengths = [int(n) for n in numbers[2::3]]
        if self.values is None or self.ends is None:
            # Only add_counts() adds postings without a value: its weights are counts.
            weights: list[Any] = [int(w) for w in numbers[1::3]]
            return list(zip(docs, weights, [None] * len(docs), lengths, strict=True))
        values, start = [], 0
        for end in self.ends:
            values.append(bytes(self.values[start:end]))
            start = end
        return list(zip(docs, numbers[1::3], values, lengths, strict=True))


class _FieldPostings:
    """One field's postings: full blocks already encoded, the rest still pending."""

    def __init__(self, fieldobj: Any, spill: Any) -> None:
        # Full blocks go to ``spill`` (a temporary file) as they are encoded, so memory
        # holds only the postings of blocks still filling, not the whole index.
        self.spill = spill
        fixed = fieldobj.format.fixed_value_size()
        if fixed is None or fixed < 0:
            self.values_as = _VALUES_TUPLE
        elif fixed == 0:
            self.values_as = _VALUES_NONE
        else:
            self.values_as = _VALUES_JOINED
        self.pending: dict[Any, _Filling] = {}
        self.done: dict[Any, _TermBlocks] = {}

    def add(self, docnum: int, length: int, entries: Iterable[tuple[Any, float, bytes]]) -> None:
        """Add a document's postings: (term, weight, encoded value) for each term."""
        pending = self.pending
        for term, weight, value in entries:
            block = pending.get(term)
            if block is None:
                block = pending[term] = _Filling()
            if block.append(docnum, weight, value, length) == _BLOCK_LIMIT:
                self.flush(term, block.postings())
                pending[term] = _Filling()

    def add_counts(self, docnum: int, length: int, counts: dict[str, int]) -> None:
        """Add a document's postings of a Frequency field analysed here: term -> count."""
        pending = self.pending
        for term, freq in counts.items():
            block = pending.get(term)
            if block is None:
                block = pending[term] = _Filling()
            if block.append(docnum, freq, None, length) == _BLOCK_LIMIT:
                self.flush(term, block.postings())
                pending[term] = _Filling()

    def flush(self, term: Any, postings: list[_Posting]) -> None:
        """Encode ``postings`` as the next block of ``term``."""
        blocks = self.done.get(term)
        if blocks is None:
            blocks = self.done[term] = _TermBlocks()
        block, weight, count, shortest, longest, maxweight = _encode_block(postings, self.values_as)
        blocks.offsets.append(self.spill.tell())
        blocks.sizes.append(len(block))
        self.spill.write(block)
        blocks.weight += weight
        blocks.df += count
        if blocks.minlength is None:
            blocks.minlength = shortest
        elif shortest is not None:
            blocks.minlength = min(blocks.minlength, shortest)
        if longest > blocks.maxlength:
            blocks.maxlength = longest
        if maxweight > blocks.maxweight:
            blocks.maxweight = maxweight
        if blocks.minid is None:
            blocks.minid = postings[0][0]
        blocks.maxid = postings[-1][0]

    def write(self, postfile: Any, textual: bool) -> list[_Entry]:
        """Write every term's posting list to ``postfile``; return the terms' entries.

        Offsets in the entries count from where this field's posting lists start.
        """
        pending = self.pending
        done = self.done
        values_as = self.values_as
        self.spill.flush()
        offset = 0
        entries: list[_Entry] = []
        for term in sorted(pending):
            rest = pending[term].postings()
            key = term.encode("utf-8") if textual else term
            if term not in done:
                # Most terms fit one block: encode and describe it straight away.
                block, weight, count, shortest, longest, maxweight = _encode_block(rest, values_as)
                encoded = _POSTINGS_MAGIC + pack_int(-len(block)) + block
                stats = _term_stats(
                    weight, count, shortest, longest, maxweight, rest[0][0], rest[-1][0]
                )
            else:
                if rest:
                    self.flush(term, rest)
                blocks = done.pop(term)
                chunks = [_POSTINGS_MAGIC]
                last = len(blocks.sizes) - 1
                for number, (start, size) in enumerate(
                    zip(blocks.offsets, blocks.sizes, strict=True)
                ):
                    chunks.append(pack_int(-size if number == last else size))
                    chunks.append(_read_at(self.spill, start, size))
                encoded = b"".join(chunks)
                stats = _term_stats(
                    blocks.weight,
                    blocks.df,
                    blocks.minlength,
                    blocks.maxlength,
                    blocks.maxweight,
                    blocks.minid,
                    blocks.maxid,
                )
            postfile.write(encoded)
            entries.append((key, stats, offset, len(encoded)))
            offset += len(encoded)
        pending.clear()
        return entries


def _read_at(source: Any, start: int, size: int) -> bytes:
    """Return ``size`` bytes at ``start`` of ``source``, leaving its position at the end."""
    position = source.tell()
    source.seek(start)
    data = source.read(size)
    source.seek(position)
    if len(data) != size:
        raise BuildFailed("a spilled posting block is shorter than written")
    return bytes(data)


def _encode_block(
    postings: list[_Posting], values_as: int
) -> tuple[bytes, float, int, int | None, int, float]:
    """Return a block of postings as W3PostingsWriter writes it (info, then data).

    Also returns what the term's TermInfo adds up from the block: the sum of its
    weights, its size, its shortest and longest field lengths and its top weight.
    """
    docs, weights, values, lengths = zip(*postings, strict=True)
    count = len(docs)
    floats = array("f", weights)
    mini_weights: Any
    if floats.count(1.0) == count:
        mini_weights = None
    elif floats.count(floats[0]) == count:
        mini_weights = floats[0]
    else:
        mini_weights = tuple(floats)
    mini_values: Any
    if values_as == _VALUES_TUPLE:
        mini_values = values
    elif values_as == _VALUES_NONE:
        mini_values = None
    elif values[0] is None:
        mini_values = struct.pack(f"!{count}I", *weights)
    else:
        mini_values = b"".join(values)
    ids = tuple(map(operator.sub, docs, (0, *docs[:-1])))
    data = zlib.compress(pickle.dumps((ids, mini_weights, mini_values), 2), _COMPRESSION)
    heaviest = max(weights)
    maxweight = float(heaviest) if heaviest > 0 else 0
    shortest: int | None = min(lengths)
    longest = max(lengths)
    if not shortest:
        known = [length for length in lengths if length]
        shortest = min(known) if known else None
        longest = max(known) if known else 0
    info = (
        count,
        docs[-1],
        maxweight,
        _COMPRESSION,
        length_to_byte(shortest),
        length_to_byte(longest),
    )
    return pickle.dumps(info, 2) + data, sum(floats), count, shortest, longest, maxweight


def _term_stats(
    weight: float,
    df: int,
    minlength: int | None,
    maxlength: int,
    maxweight: float,
    minid: int | None,
    maxid: int,
) -> bytes:
    """Return W3TermInfo.to_bytes() of a posting list in the postings file, up to its extent."""
    return _TERMINFO.pack(
        False,
        weight,
        df,
        0 if minlength is None else length_to_byte(minlength),
        length_to_byte(maxlength),
        maxweight,
        0xFFFFFFFF if minid is None else minid,
        maxid,
    )


def _kind(fieldobj: Any) -> str | None:
    """Return how building analyses the field itself, or None to ask Whoosh."""
    fmt = fieldobj.format
    if type(fmt) not in (Positions, Frequency) or fmt.field_boost != 1.0:
        return None
    # Compared by value: a schema read back from an index holds copies of the analyzers.
    kinds = [
        (analysis.analyzer(), _WORDS),
        (analysis.prefix_analyzer(), _PREFIXES),
        (analysis.spelling_analyzer(), _SPELLING),
        (analysis.bigram_analyzer(), _BIGRAMS),
    ]
    kind = next((kind for known, kind in kinds if fieldobj.analyzer == known), None)
    if kind is not None and kind != _WORDS and type(fmt) is not Frequency:
        return None
    return kind


class _Inverter:
    """The posting lists of some of the schema's fields, built document by document."""

    def __init__(self, schema: Any, names: Iterable[str], spill: Any) -> None:
        self.schema = schema
        self.fields = {name: schema[name] for name in names}
        self.kinds = {name: _kind(fieldobj) for name, fieldobj in self.fields.items()}
        self.postings = {
            name: _FieldPostings(fieldobj, spill) for name, fieldobj in self.fields.items()
        }
        self.memo: dict[tuple[str, Any], tuple[list[tuple[Any, float, bytes]], int]] = {}

    def add(self, docnum: int, name: str, value: Any, words: _Words) -> int:
        """Add the field's postings for ``docnum``; return its length (0 unless scorable)."""
        fieldobj = self.fields[name]
        kind = self.kinds[name]
        postings = self.postings[name]
        if kind is None:
            entries, length = self._whoosh_terms(name, fieldobj, value)
            postings.add(docnum, _rounded(length), entries)
            return length
        if not isinstance(value, str):
            raise TypeError(f"field {name!r} takes text, not {type(value).__name__}")
        if kind == _WORDS and postings.values_as == _VALUES_TUPLE:
            positions = _stemmed_positions(_words_of(value, words))
            length = sum(map(len, positions.values()))
            postings.add(docnum, _rounded(length), _encoded_positions(positions))
        else:
            counts = _counts(kind, value, words)
            length = sum(counts.values())
            postings.add_counts(docnum, _rounded(length), counts)
        return length if fieldobj.scorable else 0

    def _whoosh_terms(
        self, name: str, fieldobj: Any, value: Any
    ) -> tuple[list[tuple[Any, float, bytes]], int]:
        """Return (term bytes, weight, value) as Whoosh indexes the field, and its length."""
        memo = type(fieldobj.format) is Existence and isinstance(value, str | int | datetime)
        if memo:
            found = self.memo.get((name, value))
            if found is not None:
                return found
        items = list(fieldobj.index(value))
        entries = [
            (term, float(weight), b"" if vbytes is None else vbytes)
            for term, _freq, weight, vbytes in items
        ]
        length = sum(freq for _term, freq, _weight, _vbytes in items) if fieldobj.scorable else 0
        if memo:
            if len(self.memo) >= _MEMO_LIMIT:
                self.memo.clear()
            self.memo[(name, value)] = (entries, length)
        return entries, length

    def write_field(self, name: str, postfile: Any) -> list[_Entry]:
        """Write the posting lists of field ``name``; return the entries of its terms."""
        return self.postings[name].write(postfile, self.kinds[name] is not None)

    def write(self, postfile: Any) -> list[_Chunk]:
        """Write the posting lists of every field holding any, in field order."""
        chunks: list[_Chunk] = []
        for name in sorted(self.postings):
            if self.postings[name].pending:
                start = postfile.tell()
                entries = self.write_field(name, postfile)
                chunks.append((name, start, postfile.tell() - start, entries))
        return chunks


class _Helper:
    """A second Python process indexing some fields of every document.

    It is started as ``python -c`` running _helper_main, not through multiprocessing,
    so no caller's main module is imported again and no threads are forked. Batches of
    field values go to its stdin as pickles (a thread writes them, so a slow start of
    the helper never holds this process up); it writes the fields' posting lists to
    ``path`` and answers on its stdout with where each field's lists are.
    """

    def __init__(self, schema: Any, names: frozenset[str], path: Path) -> None:
        self.path = path
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from search.building import _helper_main; _helper_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        # Bounded: the helper is the slower of the two, and batches it has not read yet
        # would otherwise pile up here (a third of this process's memory at 20k articles).
        self.outbox: queue.Queue[Any] = queue.Queue(maxsize=_QUEUED_BATCHES)
        self.outbox.put((schema, sorted(names), str(path)))
        self.batch: list[tuple[int, dict[str, Any], _Words]] = []
        self.feeder = threading.Thread(target=self._feed, name="index-helper-feeder", daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            while True:
                message = self.outbox.get()
                pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
                if message is None:
                    stdin.close()
                    return
        except (OSError, ValueError):
            # The helper is gone (finish() and add() report it); stop feeding it.
            return

    def add(self, docnum: int, values: dict[str, Any], words: _Words) -> None:
        """Queue one document's values of the helper's fields and the words known of them."""
        self.batch.append((docnum, values, words))
        if len(self.batch) >= _BATCH:
            self._send(self.batch)
            self.batch = []

    def _send(self, message: Any) -> None:
        """Queue ``message`` for the feeder, waiting while the queue is full."""
        while True:
            if self.process.poll() is not None:
                raise BuildFailed(f"index helper exited with {self.process.returncode}")
            try:
                self.outbox.put(message, timeout=1.0)
                return
            except queue.Full:
                continue

    def end(self) -> None:
        """Tell the helper that every document has been queued."""
        if self.batch:
            self._send(self.batch)
            self.batch = []
        self._send(None)

    def finish(self) -> list[_Chunk]:
        """Wait for the helper to write its posting lists; return where they are."""
        assert self.process.stdout is not None
        try:
            # The answer of the helper this process started and fed.
            outcome, result = pickle.load(self.process.stdout)  # noqa: S301
        except EOFError:
            self.process.wait()
            raise BuildFailed(f"index helper exited with {self.process.returncode}") from None
        self.process.wait()
        if outcome != "ok":
            raise BuildFailed(result)
        chunks: list[_Chunk] = result
        return chunks

    def stop(self) -> None:
        """End the helper process if it still runs and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        # A full queue means the feeder has stopped (the helper is gone): nothing to wake.
        with contextlib.suppress(queue.Full):
            self.outbox.put_nowait(None)
        self.feeder.join()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _helper_main() -> None:
    """Run as the helper process: index the fields of the batches read from stdin."""
    source, answer = sys.stdin.buffer, sys.stdout.buffer
    try:
        # Everything read here was written by the process that started this one.
        schema, names, path = pickle.load(source)  # noqa: S301
        with tempfile.TemporaryFile(dir=Path(path).parent, prefix="spill-") as spill:
            inverter = _Inverter(schema, names, spill)
            while (batch := pickle.load(source)) is not None:  # noqa: S301
                for docnum, values, words in batch:
                    for name in sorted(values):
                        inverter.add(docnum, name, values[name], words)
            with open(path, "wb") as postfile:
                chunks = inverter.write(postfile)
        pickle.dump(("ok", chunks), answer, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        pickle.dump(("error", traceback.format_exc()), answer)
    answer.flush()


class _Writer:
    """One new segment of a new index, written the way Whoosh's SegmentWriter would."""

    def __init__(self, ix: Any, directory: Path, parallel: bool) -> None:
        self.ix = ix
        self.lock = ix.lock("WRITELOCK")
        if not self.lock.acquire():
            raise whoosh_index.LockError
        if not ix.is_empty():
            raise ValueError("building writes into a new, empty index only")
        self.generation = ix.latest_generation() + 1
        self.schema = schema = ix.schema
        for name, fieldobj in schema.items():
            if fieldobj.vector or fieldobj.separate_spelling():
                raise ValueError(f"field {name!r}: vectors and spelling words are not built")
        self.storage = ix.storage
        self.codec = W3Codec(blocklimit=_BLOCK_LIMIT, compression=_COMPRESSION, inlinelimit=1)
        self.segment = self.codec.new_segment(self.storage, ix.indexname)
        self.perdoc = self.codec.per_document_writer(self.storage, self.segment)
        indexed = [name for name, fieldobj in schema.items() if fieldobj.indexed]
        delegated = frozenset(
            name for name in indexed if parallel and name in _HELPER_FIELDS and _kind(schema[name])
        )
        # Unlinked at once: nothing is left behind if this process dies.
        self.spill = tempfile.TemporaryFile(dir=directory, prefix="spill-")  # noqa: SIM115 - closed in _finish(), on commit or cancel
        self.inverter = _Inverter(
            schema, [name for name in indexed if name not in delegated], self.spill
        )
        self.kinds = {name: _kind(schema[name]) for name in delegated}
        self.helper = _Helper(schema, delegated, directory / _HELPER_FILE) if delegated else None
        self.doc_count = 0

    def add(self, document: Mapping[str, Any]) -> None:
        """Add one document's postings, stored fields, lengths and column values."""
        docnum = self.doc_count
        schema = self.schema
        perdoc = self.perdoc
        inverter = self.inverter
        words: _Words = {}
        names = sorted(document)
        for name in names:
            if name.startswith("_"):
                raise ValueError(f"{name!r}: boosts and custom stored values are not built")
            if name not in schema:
                raise ValueError(f"no field named {name!r} in the schema")
        delegated: dict[str, Any] = {}
        perdoc.start_doc(docnum)
        try:
            for name in names:
                value = document[name]
                if value is None:
                    continue
                fieldobj = schema[name]
                length = 0
                if name in self.kinds:
                    delegated[name] = value
                    length = _length(self.kinds[name], fieldobj, value, words)
                elif fieldobj.indexed:
                    length = inverter.add(docnum, name, value, words)
                perdoc.add_field(name, fieldobj, value if fieldobj.stored else None, length)
                column = fieldobj.column_type
                if column:
                    perdoc.add_column_value(name, column, fieldobj.to_column_value(value))
        except BaseException:
            perdoc.cancel_doc()
            raise
        perdoc.finish_doc()
        if self.helper is not None and delegated:
            known = {value: words[value] for value in delegated.values() if value in words}
            self.helper.add(docnum, delegated, known)
        self.doc_count += 1

    def commit(self) -> None:
        """Write the postings and the segment, then the table of contents."""
        self.segment.set_doc_count(self.doc_count)
        self.perdoc.close()
        if self.helper is None:
            self._write_terms([])
        else:
            self.helper.end()
            # This process's posting lists are written (to a file: they are as large as
            # the index) while the helper finishes its own.
            with tempfile.TemporaryFile(dir=self.helper.path.parent, prefix="own-") as own:
                own_chunks = self.inverter.write(own)
                helped = self.helper.finish()
                with self.helper.path.open("rb") as helped_file:
                    self._write_terms([(own_chunks, own), (helped, helped_file)])
        if self.doc_count:
            self.segment.create_compound_file(self.storage)
            segments = [self.segment]
        else:
            segments = []
        TOC(self.schema, segments, self.generation).write(self.storage, self.ix.indexname)
        clean_files(self.storage, self.ix.indexname, self.generation, segments)
        self._finish()

    def cancel(self) -> None:
        """Give up: leave the index as it was created (empty)."""
        if not self.perdoc.is_closed:
            self.perdoc.close()
        self._finish()

    def _finish(self) -> None:
        self.spill.close()
        if self.helper is not None:
            self.helper.stop()
            self.helper.path.unlink(missing_ok=True)
        self.storage.temp_storage(f"{self.ix.indexname}.tmp").destroy()
        self.lock.release()

    def _write_terms(self, parts: list[tuple[list[_Chunk], Any]]) -> None:
        """Write the term index and the posting lists, field by field, term by term.

        ``parts`` are posting lists already written to other files, with those files;
        the inverter writes the fields it still holds in place.
        """
        terms = OrderedHashWriter(self.segment.create_file(self.storage, W3Codec.TERMS_EXT))
        fieldmap: dict[str, int] = {}
        terms.extras["fieldmap"] = fieldmap
        postfile = self.segment.create_file(self.storage, W3Codec.POSTS_EXT)
        placed = {chunk[0]: (chunk, source) for chunks, source in parts for chunk in chunks}
        own = [name for name, postings in self.inverter.postings.items() if postings.pending]
        for name in sorted([*placed, *own]):
            fieldmap[name] = len(fieldmap)
            prefix = pack_ushort(fieldmap[name])
            base = postfile.tell()
            if name in placed:
                (_name, start, size, entries), source = placed[name]
                _copy(source, start, size, postfile)
            else:
                entries = self.inverter.write_field(name, postfile)
            for key, value in _term_entries(entries, prefix, base):
                terms.add(key, value)
        terms.close()
        postfile.close()


def _length(kind: str | None, fieldobj: Any, value: Any, words: _Words) -> int:
    """Return the length Whoosh records for a field indexed elsewhere."""
    if not fieldobj.scorable:
        return 0
    if kind == _WORDS:
        return len(_words_of(value, words))
    return len(_terms(kind, value, words))


def _copy(source: Any, start: int, size: int, target: Any) -> None:
    """Copy ``size`` bytes at ``start`` of ``source`` to ``target``."""
    source.seek(start)
    while size > 0:
        data = source.read(min(size, 1 << 20))
        if not data:
            raise BuildFailed("the helper's posting lists are shorter than it said")
        target.write(data)
        size -= len(data)


def _term_entries(entries: list[_Entry], prefix: bytes, base: int) -> Iterator[tuple[bytes, bytes]]:
    """Return (key, value) of each term in the term index."""
    for term, stats, offset, size in entries:
        yield prefix + term, stats + pack_long(base + offset) + pack_int(size)


def _rounded(length: int) -> int:
    """Return a field length as Whoosh stores it (one byte) and reads it back."""
    return int(byte_to_length(length_to_byte(length))) if length else 0


def _encoded_positions(positions: dict[str, list[int]]) -> list[tuple[str, float, bytes]]:
    """Return (term, frequency, value) as whoosh.formats.Positions encodes the value."""
    out: list[tuple[str, float, bytes]] = []
    single = pack_uint(1)
    for term, poses in positions.items():
        if len(poses) == 1:
            out.append((term, 1, single + pickle.dumps(poses, 2)))
        else:
            deltas = list(map(operator.sub, poses, (0, *poses[:-1])))
            out.append((term, len(poses), pack_uint(len(poses)) + pickle.dumps(deltas, 2)))
    return out


def _words_of(text: str, words: _Words) -> list[tuple[str, int]]:
    """Return the unstemmed words of ``text``, analysed once per document."""
    found = words.get(text)
    if found is None:
        found = words[text] = analysis.positioned_words(text)
    return found


def _stemmed_positions(words: list[tuple[str, int]]) -> dict[str, list[int]]:
    stem = analysis.stem_word
    positions: dict[str, list[int]] = {}
    for word, pos in words:
        term = stem(word)
        known = positions.get(term)
        if known is None:
            positions[term] = [pos]
        else:
            known.append(pos)
    return positions


def _counts(kind: str | None, text: str, words: _Words) -> dict[str, int]:
    """Return term -> frequency for the Frequency-format fields built here."""
    return Counter(_terms(kind, text, words))


def _terms(kind: str | None, text: str, words: _Words) -> list[str]:
    """Return the terms of ``text`` in a field of ``kind``, one per token."""
    if kind == _BIGRAMS:
        return analysis.cjk_bigrams(text)
    if kind == _WORDS:
        stem = analysis.stem_word
        return [stem(word) for word, _pos in _words_of(text, words)]
    if kind == _PREFIXES:
        limit = analysis.PREFIX_MAX
        return [
            word[:size]
            for word, _pos in _words_of(text, words)
            for size in range(1, min(limit, len(word)) + 1)
        ]
    # A token never spans a line break, so the words of "title\nbody" are those of the
    # title and then those of the body, each already analysed for its own field.
    head, newline, tail = text.partition("\n")
    found = _words_of(head, words)
    if newline:
        found = found + _words_of(tail, words)
    return [word for word, _pos in found if len(word) >= 3 and word.isascii() and word.isalpha()]
