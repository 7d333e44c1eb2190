"""``hushdb audit verify|export-key|events`` through the real command line (issue 15, items 5 and 9)."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from api.cli import app
from audit.checkpoints import Checkpoint, read_checkpoints_file
from audit.signing import Ed25519Signer

runner = CliRunner()

CUSTOMERS = (
    "external_id,full_name,email,phone,postal_address,birth_date,owner,consent_marketing_email,"
    "consent_marketing_post,consent_profiling\n"
    "A1,Ada Lovelace,ada@example.com,,,,,,,\n"
    "A2,Charles Babbage,cb@example.com,,,,,,,\n"
)


def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path, engine: Engine, database_url: str) -> tuple[Path, dict[str, str]]:
    """An initialised store with a few events (the ``engine`` fixture gives the attacker a connection)."""
    d = tmp_path / "home"
    env = {"HUSHDB_DATABASE_URL": database_url}
    assert run("init", "--data-dir", str(d), env=env)[0] == 0
    f = tmp_path / "c.csv"
    f.write_text(CUSTOMERS)
    code, _, err = run("customers", "import", str(f), "--as", "alice", "--data-dir", str(d), env=env)
    assert code == 0, err
    for _ in range(3):
        code, _, err = run("customers", "show", "A1", "--as", "alice", "--purpose", "service",
                           "--data-dir", str(d), env=env)  # fmt: skip
        assert code == 0, err
    return d, env


def _events(engine: Engine, action: str | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        stmt = "SELECT * FROM audit_events" + (" WHERE action = :a" if action else "") + " ORDER BY seq"
        return [dict(r) for r in conn.execute(sa.text(stmt), {"a": action}).mappings()]


def test_verify_prints_the_head_and_is_itself_recorded(
    home: tuple[Path, dict[str, str]], engine: Engine
) -> None:
    d, env = home
    code, out, err = run("audit", "verify", "--data-dir", str(d), env=env)
    assert code == 0, err
    head_seq, head_hash = _head(engine, before_last=True)
    assert out.startswith("audit log intact:")
    assert f"head: seq {head_seq} hash {head_hash}" in out and "not pinned" in out
    assert "beside the database, not independent" in out
    event = _events(engine, "audit_verify")[-1]
    detail = json.loads(event["detail"])
    assert detail["ok"] is True and detail["verified_seq"] == head_seq and detail["pinned_key"] is False
    assert event["channel"] == "cli" and event["os_user"] == getpass.getuser()
    # every event a CLI command causes names the channel and the operating-system user
    reads = [e for e in _events(engine) if e["subject"] == "alice"]
    assert reads and all(e["channel"] == "cli" and e["os_user"] == getpass.getuser() for e in reads)
    policy = _events(engine, "policy_load")  # written by hushdb itself, not on anyone's behalf
    assert policy and all(e["channel"] == "system" and e["os_user"] == "" for e in policy)
    code, out, err = run("audit", "verify", "--since-checkpoint", "--json", "--data-dir", str(d), env=env)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ok"] and doc["since_seq"] == head_seq and doc["events_checked"] >= 1


def _head(engine: Engine, *, before_last: bool = False) -> tuple[int, str]:
    """The head now, or the head before the newest event (what the last verification saw)."""
    with engine.connect() as conn:
        if before_last:
            row = conn.execute(
                sa.text("SELECT seq, hash FROM audit_events WHERE seq < (SELECT max(seq) FROM audit_events "
                        "WHERE action = 'audit_verify') ORDER BY seq DESC LIMIT 1")
            ).one()  # fmt: skip
        else:
            row = conn.execute(sa.text("SELECT seq, hash FROM audit_head")).one()
    return int(row[0]), str(row[1])


def test_export_key_and_pinned_verification(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, env = home
    code, pem, err = run("audit", "export-key", "--data-dir", str(d), env=env)
    assert code == 0, err and pem.startswith("-----BEGIN PUBLIC KEY-----")
    pinned = tmp_path / "elsewhere" / "audit.pub"
    pinned.parent.mkdir()
    code, out, err = run("audit", "export-key", "--out", str(pinned), "--data-dir", str(d), env=env)
    assert code == 0 and pinned.read_text() == pem
    code, out, err = run("audit", "verify", "--public-key", str(pinned), "--data-dir", str(d), env=env)
    assert code == 0 and f"pinned {pinned}" in out, err
    # a different (valid) key: every signature fails, and the message says why
    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519Signer.generate().public_key_pem())
    code, out, err = run("audit", "verify", "--public-key", str(other), "--data-dir", str(d), env=env)
    assert code == 1 and "TAMPERED" in err and "pinned key" in err
    # a missing or malformed key file: one line, exit 2
    for path, words in ((tmp_path / "nope.pub", "does not exist"), (tmp_path / "c.csv", "not a valid PEM")):
        code, out, err = run("audit", "verify", "--public-key", str(path), "--data-dir", str(d), env=env)
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err + out


def test_an_unreachable_witness_is_one_line(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, env = home
    gone = tmp_path / "nfs" / "not-mounted"
    code, _, err = run("audit", "verify", "--witness", str(gone / "checkpoints.jsonl"), "--data-dir", str(d),
                         env=env)  # fmt: skip
    assert code == 2 and "unreachable" in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run("audit", "verify", "--witness", str(tmp_path), "--data-dir", str(d), env=env)
    assert code == 2 and "does not exist" in err, err  # a directory without checkpoints.jsonl


def test_witness_outside_the_data_directory(home: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    d, env = home
    witness = tmp_path / "worm"
    witness.mkdir()
    env = {**env, "HUSHDB_AUDIT_WITNESS": str(witness)}
    code, out, err = run("audit", "verify", "--data-dir", str(d), env=env)
    assert code == 0, err
    published = read_checkpoints_file(witness / "checkpoints.jsonl").checkpoints
    assert published and f"witness: {witness / 'checkpoints.jsonl'}" in out and "not independent" not in out
    # an edited line in the witness: caught
    lines = (witness / "checkpoints.jsonl").read_text().splitlines()
    cp = Checkpoint.from_json_line(lines[-1])
    lines[-1] = Checkpoint(cp.seq, "cd" * 32, cp.ts, cp.key_id, cp.signature).to_json_line()
    (witness / "checkpoints.jsonl").write_text("\n".join(lines) + "\n")
    code, out, err = run("audit", "verify", "--data-dir", str(d), env=env)
    assert code == 1 and "witness checkpoint" in err, err
    # the witness deleted: the store re-publishes its (signed, verified) checkpoints there; what was
    # lost is only the independent copy -- why the README asks for append-only (WORM) storage
    (witness / "checkpoints.jsonl").unlink()
    env["HUSHDB_AUDIT_WITNESS"] = str(witness / "checkpoints.jsonl")
    code, out, err = run("audit", "verify", "--json", "--data-dir", str(d), env=env)
    assert code == 0 and json.loads(out)["witness_checkpoints"] >= len(published), err


def test_replaced_signing_key_is_caught_by_the_pinned_key(
    home: tuple[Path, dict[str, str]], tmp_path: Path, engine: Engine, tools: Any
) -> None:
    d, env = home
    pinned = tmp_path / "audit.pub"
    assert run("audit", "export-key", "--out", str(pinned), "--data-dir", str(d), env=env)[0] == 0
    # the attacker: a new key in the data directory, the log rebuilt and re-signed with it, and the
    # checkpoints.jsonl beside the database rewritten with it too
    private = Ed25519PrivateKey.generate()
    rogue = Ed25519Signer(private)
    key_file = d / "audit-signing.key"
    key_file.unlink()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    tools.rebuild_with(engine, rogue, seq=3)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT seq, hash, ts, key_id, signature FROM audit_checkpoints")).all()
    (d / "checkpoints.jsonl").write_text(
        "".join(Checkpoint(int(r[0]), r[1], r[2], r[3], r[4]).to_json_line() + "\n" for r in rows)
    )
    # unpinned, with the witness beside the database: nothing independent is left to notice
    code, out, err = run("audit", "verify", "--data-dir", str(d), env=env)
    assert code == 0 and "not pinned" in out, err
    code, out, err = run("audit", "verify", "--public-key", str(pinned), "--data-dir", str(d), env=env)
    assert code == 1 and "replaced" in err, err
    env_pinned = {**env, "HUSHDB_AUDIT_PUBLIC_KEY": str(pinned)}
    assert run("audit", "verify", "--data-dir", str(d), env=env_pinned)[0] == 1


def test_events_newest_first_with_paging(home: tuple[Path, dict[str, str]], engine: Engine) -> None:
    d, env = home
    all_seqs = [e["seq"] for e in _events(engine)]  # (each listing adds its own event afterwards)
    code, out, err = run("audit", "events", "--limit", "2", "--json", "--data-dir", str(d), env=env)
    assert code == 0, err
    page = json.loads(out)
    assert [e["seq"] for e in page["events"]] == sorted(all_seqs, reverse=True)[:2]
    assert page["next"] == page["events"][-1]["seq"]
    code, out, err = run("audit", "events", "--limit", "2", "--before", str(page["next"]), "--json",
                         "--data-dir", str(d), env=env)  # fmt: skip
    second = json.loads(out)
    assert [e["seq"] for e in second["events"]] == sorted(all_seqs, reverse=True)[2:4]
    code, out, err = run("audit", "events", "--limit", "2", "--data-dir", str(d), env=env)
    assert out.strip().splitlines()[-1].startswith("more: next page with --before ")
    code, out, err = run("audit", "events", "--after", "2", "--oldest-first", "--limit", "3", "--json",
                         "--data-dir", str(d), env=env)  # fmt: skip
    oldest = json.loads(out)
    assert [e["seq"] for e in oldest["events"]] == [3, 4, 5] and oldest["next"] == 5
    code, out, err = run("audit", "events", "--after", "1000000", "--data-dir", str(d), env=env)
    assert code == 0 and out.strip().splitlines()[-1] == "no more events"
    code, out, err = run("audit", "events", "--after", "-3", "--data-dir", str(d), env=env)
    assert code == 2 and "Traceback" not in err


def test_a_cut_log_fails_verification_and_every_access_fails_closed(
    home: tuple[Path, dict[str, str]], engine: Engine, tools: Any
) -> None:
    d, env = home
    newest = _head(engine)[0]
    with tools.rogue_admin(
        engine
    ) as conn:  # the newest event deleted, the head moved back onto the one before
        conn.exec_driver_sql(f"DELETE FROM audit_ref_index WHERE seq = {newest}")
        conn.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {newest}")
        conn.exec_driver_sql(f"DELETE FROM audit_checkpoints WHERE seq = {newest}")
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {newest - 1}, "
            f"hash = (SELECT hash FROM audit_events WHERE seq = {newest - 1}) WHERE id = 1"
        )
    (d / "checkpoints.jsonl").write_text(  # the witness beside the database is cut as well
        "".join(
            cp.to_json_line() + "\n"
            for cp in read_checkpoints_file(d / "checkpoints.jsonl").checkpoints
            if cp.seq < newest
        )
    )
    code, out, err = run("audit", "verify", "--data-dir", str(d), env=env)
    assert code == 1 and "TAMPERED" in err and "head" in err and "Traceback" not in err + out, err
    assert len(err.strip().splitlines()) == 1
    code, out, err = run("customers", "show", "A1", "--as", "alice", "--purpose", "service", "--data-dir", str(d),
                         env=env)  # fmt: skip
    assert (
        code != 0 and "Ada" not in out and err.startswith("error:") and len(err.strip().splitlines()) == 1
    ), err
