"""The HTTP API's routers, one per area; :mod:`api.http.app` includes them."""
