"""hushdb's HTTP API (FastAPI): app factory, auth, routers, schemas, problem documents, logs."""

from api.http.app import create_app, factory, include

__all__ = ["create_app", "factory", "include"]
