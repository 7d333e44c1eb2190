"""``hushdb pii``: scan or mask text read on stdin, offline, without a store.

``scan`` prints findings (type, category, offsets, score) and never the matched
values; ``mask`` prints the text exactly as a mail-merge export masks a note
(:data:`core.pii.operators.EXPORT_POLICY`).  ``--jsonl`` reads one
``{"text": ...}`` object per line and writes one result per line, in order, so
a large corpus runs in one process.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.options import JsonFlag, typer_app
from api.cli.output import fail
from api.cli.root import pii_engine, settings
from core.errors import HushError, InputError, PayloadTooLargeError

if TYPE_CHECKING:
    from core.pii.analysis import Analysis

pii_app = typer_app("Find and mask personal and sensitive content (offline).")

_CHUNK = 256


class Lang(StrEnum):
    auto = "auto"
    en = "en"
    zh = "zh"


LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of the text: auto, en or zh.")]
JsonlFlag = Annotated[bool, typer.Option("--jsonl", help='One {"text": ...} object per input line.')]


def _limit() -> int:
    """The largest text analysed, in bytes of UTF-8: the note limit (``HUSHDB_NOTE_MAX_BYTES``)."""
    return settings(None).note_max_bytes


def _check_size(text: str, limit: int, where: str = "input") -> str:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise PayloadTooLargeError(
            f"{where} is larger than {limit} bytes of UTF-8 (HUSHDB_NOTE_MAX_BYTES); split it or use --jsonl"
        )
    return text


def _read_text(limit: int) -> str:
    """Standard input, read only up to one character past the limit (a character is at least a byte)."""
    return _check_size(sys.stdin.read(limit + 1), limit)


def _jsonl_texts() -> Iterator[list[str]]:
    limit = _limit()
    chunk: list[str] = []
    number = 0
    while True:
        # a line is read only up to what a note of the limit can take as JSON (\uXXXX is 6 bytes per byte)
        line = sys.stdin.readline(6 * limit + 64)
        if not line:
            break
        number += 1
        if not line.endswith("\n") and len(line) >= 6 * limit + 64:
            raise PayloadTooLargeError(f"line {number} is longer than {6 * limit + 64} characters")
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: not JSON") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
            raise InputError(f'line {number}: expected an object with a string "text"')
        chunk.append(_check_size(doc["text"], limit, "a text"))
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _findings(analysis: Analysis) -> list[dict[str, Any]]:
    return [f.to_dict() for f in analysis.findings]


def _write(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")


@pii_app.command("scan")
def scan(
    lang: LangOpt = Lang.auto,
    json_out: JsonFlag = False,
    jsonl: JsonlFlag = False,
) -> None:
    """Print the findings in the text on stdin (types and offsets, never the values)."""
    try:
        if jsonl:
            engine = pii_engine()
            for texts in _jsonl_texts():
                for analysis in engine.analyse_many(texts, lang=lang.value):
                    _write({"findings": _findings(analysis)})
            return
        text = _read_text(_limit())  # before spaCy loads: oversized input fails at once
        analysis = pii_engine().analyse(text, lang=lang.value)
    except HushError as exc:
        fail(exc)
        return
    if json_out:
        doc = analysis.to_dict()
        doc.pop("version")
        _write({**doc, "version": analysis.version})
        return
    sys.stdout.write(
        f"language={analysis.language} sensitivity={analysis.sensitivity} labels={','.join(analysis.labels) or '-'}\n"
    )
    for f in analysis.findings:
        sys.stdout.write(f"{f.start:>6} {f.end:>6}  {f.type:<22} {f.category:<18} {f.score:.2f}\n")


@pii_app.command("mask")
def mask_cmd(lang: LangOpt = Lang.auto, jsonl: JsonlFlag = False) -> None:
    """Print the text on stdin masked exactly as a mail-merge export masks a note."""
    from core.pii.operators import EXPORT_POLICY, mask

    key = secrets.token_bytes(32)  # the export policy tags; a hash operator would get a fresh key
    try:
        if jsonl:
            engine = pii_engine()
            for texts in _jsonl_texts():
                for text, analysis in zip(texts, engine.analyse_many(texts, lang=lang.value), strict=True):
                    _write(
                        {
                            "masked": mask(text, analysis, policy=EXPORT_POLICY, hash_key=key),
                            "sensitivity": analysis.sensitivity,
                            "labels": list(analysis.labels),
                        }
                    )
            return
        text = _read_text(_limit())
        masked = mask(text, pii_engine().analyse(text, lang=lang.value), policy=EXPORT_POLICY, hash_key=key)
    except HushError as exc:
        fail(exc)
        return
    if masked is not None:
        sys.stdout.write(masked + "\n")


def register(app: typer.Typer) -> None:
    app.add_typer(pii_app, name="pii")


__all__ = ["pii_app", "register"]
