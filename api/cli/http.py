"""``hushdb serve``, ``hushdb apikeys ...`` and ``hushdb dsar``: the HTTP API's commands."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.options import AsSubject, DataDir, JsonFlag, typer_app
from api.cli.output import fail, guarded, out, plural, print_json, say_err
from api.cli.root import opened, settings

if TYPE_CHECKING:  # the store's modules load when a command runs, not for `hushdb --help`
    from core.apikeys import ApiKeyInfo

apikeys_app = typer_app("API keys for the HTTP API (stored hashed; shown once).")


SHUTDOWN_GRACE_SECONDS = 5


def check_listen(host: str, port: int) -> None:
    """Bind ``host:port`` once, as uvicorn will, so a busy port is one clear line (ListenError, exit 8)."""
    import errno
    import socket

    from core.errors import ListenError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ListenError(f"cannot listen on {host}:{port}: unknown host") from exc
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(address)
        except OSError as exc:
            reason = (
                "the port is in use (another server is running; choose --port)"
                if exc.errno == errno.EADDRINUSE
                else (exc.strerror or "cannot bind").lower()
            )
            raise ListenError(f"cannot listen on {host}:{port}: {reason}") from exc


def _serve(host: str, port: int, workers: int, data_dir: Path | None) -> None:
    try:
        _run_server(host, port, workers, data_dir)
    except SystemExit as exc:
        # uvicorn exits 3 when the server did not start (e.g. the port was taken since the check):
        # 3 means "rows rejected" here, so report it as the documented ListenError code
        if exc.code == 3:
            from core.errors import ListenError

            fail(ListenError(f"the server did not start on {host}:{port} (see the log above)"))
        raise


def _run_server(host: str, port: int, workers: int, data_dir: Path | None) -> None:
    import uvicorn

    from api.http.access_log import configure_logging

    config = guarded(lambda: settings(data_dir))
    guarded(lambda: check_listen(host, port))
    configure_logging(config.log_level)
    options = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        # SIGTERM: stop accepting, give open requests a few seconds, then shut down (the app's
        # lifespan cancels running export jobs, which stop at their next letter)
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
    }
    if workers > 1:
        with opened(data_dir):
            pass  # fail here, with a one-line error, if the store does not open
        # uvicorn's worker processes build the app with api.http.app:factory, which reads the
        # settings itself: hand the chosen data directory down the only way it can go.
        os.environ["HUSHDB_HOME"] = str(config.data_dir)
        # SIGHUP to this process is forwarded to every worker, which reloads the policy in place
        from api.http.supervisor import run_workers

        run_workers("api.http.app:factory", workers=workers, **options)
        return
    with opened(data_dir) as svc:
        uvicorn.run(svc.http_app(), **options)  # type: ignore[arg-type]


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600 (it holds personal data)."""
    path = path.expanduser()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""

    @app.command()
    def serve(
        host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
        workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
        data_dir: DataDir = None,
    ) -> None:
        """Start the HTTP API (uvicorn) on the configured store."""
        _serve(host, port, workers, data_dir)

    def info_doc(info: ApiKeyInfo) -> dict[str, object]:
        return {
            "key_id": info.key_id,
            "subject": info.subject,
            "created_at": info.created_at.isoformat(),
            "created_by": info.created_by,
            "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        }

    @apikeys_app.command("create")
    def apikeys_create(
        subject: Annotated[str, typer.Option("--subject", help="Subject the key acts as (from roles.csv).")],
        data_dir: DataDir = None,
        json_out: JsonFlag = False,
    ) -> None:
        """Create a key for SUBJECT and print it once (it is stored only as a keyed hash)."""
        with opened(data_dir) as svc:
            new = svc.apikeys.create(svc.operator_context("service"), subject)
        if json_out:
            print_json({**info_doc(new.info), "token": new.token})
        else:
            say_err(f"created API key {new.info.key_id} for {new.info.subject}; it is shown only once:")
            print(new.token)

    @apikeys_app.command("list")
    def apikeys_list(data_dir: DataDir = None, json_out: JsonFlag = False) -> None:
        """List keys (ids, subjects, state; never the keys)."""
        with opened(data_dir) as svc:
            keys = svc.apikeys.list(svc.operator_context("service"))
        if json_out:
            print_json([info_doc(k) for k in keys])
            return
        for k in keys:
            state = "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
            out.print(
                f"{k.key_id}  {k.subject:<16} created {k.created_at:%Y-%m-%d %H:%M} by {k.created_by}  {state}",
                markup=False,
                highlight=False,
            )
        out.print(plural(len(keys), "key"), highlight=False)

    @apikeys_app.command("revoke")
    def apikeys_revoke(key_id: str, data_dir: DataDir = None) -> None:
        """Revoke key KEY_ID (it stops working at once; revoking twice is harmless)."""
        with opened(data_dir) as svc:
            info = svc.apikeys.revoke(svc.operator_context("service"), key_id)
        out.print(f"revoked API key {info.key_id} of {info.subject}", highlight=False)

    @app.command()
    def dsar(
        external_id: str,
        as_subject: AsSubject,
        out_file: Annotated[Path, typer.Option("--out", help="JSON file to write (mode 0600).")],
        data_dir: DataDir = None,
    ) -> None:
        """Data-subject export (dpo, purpose erasure): everything held about one person, as JSON."""
        with opened(data_dir) as svc:
            from core.dsar import DSAR_PURPOSE

            doc = svc.dsar.export(svc.context(as_subject, DSAR_PURPOSE), external_id)
            _write_private(out_file, json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
        out.print(
            f"wrote {out_file}: {plural(len(doc['notes']), 'note')}, "
            f"{plural(len(doc['transactions']), 'transaction')}, "
            f"{plural(len(doc['consents']['history']), 'consent event')}, "
            f"{plural(len(doc['access_report']), 'access event')}",
            highlight=False,
        )

    app.add_typer(apikeys_app, name="apikeys")


__all__ = ["apikeys_app", "check_listen", "register"]
