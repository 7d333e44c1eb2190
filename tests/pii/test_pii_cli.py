from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli.pii import pii_app

runner = CliRunner()


def test_scan_jsonl_in_order_without_values() -> None:
    lines = [
        {"text": "Mary Jones died last week."},
        {"text": "asked about bulk pricing"},
        {"text": "王女士怀孕了"},
    ]
    result = runner.invoke(pii_app, ["scan", "--jsonl"], input="\n".join(json.dumps(x) for x in lines) + "\n")
    assert result.exit_code == 0, result.output
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[1] == {"findings": []}
    assert any(f["type"] == "BEREAVEMENT" for f in rows[0]["findings"])
    assert any(f["type"] == "PREGNANCY" for f in rows[2]["findings"])
    assert "Mary" not in result.stdout and "王" not in result.stdout


def test_scan_json() -> None:
    result = runner.invoke(pii_app, ["scan", "--json"], input="call 07700 900123")
    doc = json.loads(result.stdout)
    assert doc["sensitivity"] == "personal" and "07700" not in result.stdout


def test_mask_like_an_export() -> None:
    text = "Call Mary Jones on 07700 900123. Her husband passed away. Wants the winter catalogue."
    result = runner.invoke(pii_app, ["mask"], input=text)
    assert result.exit_code == 0, result.output
    assert (
        result.stdout.strip()
        == "Call <PERSON> on <PHONE_NUMBER>. [withheld: bereavement] Wants the winter catalogue."
    )


def test_mask_jsonl_and_bad_line() -> None:
    ok = runner.invoke(
        pii_app, ["mask", "--jsonl", "--lang", "zh"], input='{"text": "她丈夫去世了。想要目录。"}\n'
    )
    assert json.loads(ok.stdout) == {
        "masked": "[withheld: bereavement]想要目录。",
        "sensitivity": "sensitive",
        "labels": ["bereavement"],
    }
    bad = runner.invoke(pii_app, ["mask", "--jsonl"], input="not json\n")
    assert bad.exit_code == 2
