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

from core.config import load_settings
from core.errors import HushError, InputError
from core.pii.analysis import Analysis

if TYPE_CHECKING:
    from core.pii.engine import PiiEngine

pii_app = typer.Typer(
    pretty_exceptions_show_locals=False,
    help="Find and mask personal and sensitive content (offline).",
    no_args_is_help=True,
)

_CHUNK = 256


class Lang(StrEnum):
    auto = "auto"
    en = "en"
    zh = "zh"


LangOpt = Annotated[Lang, typer.Option("--lang", help="Language of the text: auto, en or zh.")]
JsonlFlag = Annotated[bool, typer.Option("--jsonl", help='One {"text": ...} object per input line.')]


def fail(error: HushError) -> None:
    """One line on stderr and the error's exit code (this module is imported by api.cli: no import back)."""
    sys.stderr.write(f"error: {error.message}\n")
    raise typer.Exit(error.exit_code)


def _engine() -> PiiEngine:
    from core.pii.engine import PiiEngine  # Presidio and spaCy load only when a command needs them

    settings = load_settings(None)
    return PiiEngine.create(spacy_model=settings.spacy_model, zh_model=settings.zh_ner_model)


def _jsonl_texts() -> Iterator[list[str]]:
    chunk: list[str] = []
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: not JSON") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("text"), str):
            raise InputError(f'line {number}: expected an object with a string "text"')
        chunk.append(doc["text"])
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
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    jsonl: JsonlFlag = False,
) -> None:
    """Print the findings in the text on stdin (types and offsets, never the values)."""
    try:
        engine = _engine()
        if jsonl:
            for texts in _jsonl_texts():
                for analysis in engine.analyse_many(texts, lang=lang.value):
                    _write({"findings": _findings(analysis)})
            return
        analysis = engine.analyse(sys.stdin.read(), lang=lang.value)
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
        engine = _engine()
        if jsonl:
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
        text = sys.stdin.read()
        masked = mask(text, engine.analyse(text, lang=lang.value), policy=EXPORT_POLICY, hash_key=key)
    except HushError as exc:
        fail(exc)
        return
    if masked is not None:
        sys.stdout.write(masked + "\n")
