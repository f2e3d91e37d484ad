"""Who may use the web UI and what it may read: the bind rule, basic auth, typed server paths."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from assistant.config import WebSettings
from assistant.errors import ConfigError, InputError


@dataclass(frozen=True)
class ServerPaths:
    """Whether the web UI may ingest a typed server path, and from where.

    `web.ingest_roots` None: only for a local user (a loopback bind without auth), any path; with
    auth or another bind address the box is hidden, since whoever can log in could otherwise read
    any file the server can. [] never; a list of folders: only paths inside them, also with auth.
    """

    enabled: bool
    roots: tuple[Path, ...] = ()

    @classmethod
    def from_settings(cls, web: WebSettings) -> ServerPaths:
        if web.ingest_roots is None:
            return cls(enabled=is_loopback(web.host) and web.auth is None)
        roots = tuple(Path(root).expanduser().resolve() for root in web.ingest_roots)
        return cls(enabled=bool(roots), roots=roots)

    def check(self, typed: str) -> Path:
        """The path to ingest, or InputError when it is not allowed or not there."""
        if not self.enabled:
            raise InputError("Ingesting server paths is turned off here: upload the files instead.")
        path = Path(typed).expanduser()
        if self.roots:
            resolved = path.resolve()
            if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
                allowed = ", ".join(str(root) for root in self.roots)
                raise InputError(f"{typed} is not inside the folders this server may ingest ({allowed}).")
        if not path.exists():
            raise InputError(f"No such file or folder: {typed}")
        return path


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_auth(
    host: str, auth: str | None, *, allow_unauthenticated: bool = False
) -> tuple[str, str] | None:
    """Basic-auth credentials from "user:password", enforcing the bind rule.

    Loopback hosts need no password. Any other bind address (0.0.0.0, a LAN IP, a host name) requires
    one, unless `allow_unauthenticated` is set explicitly (e.g. behind an authenticating proxy).
    """
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise ConfigError("Web auth must look like user:password (both non-empty).")
        return user, password
    if is_loopback(host) or allow_unauthenticated:
        return None
    raise ConfigError(
        f"Refusing to serve the web UI on {host} without a password: anyone on the network could use it. "
        "Pass --auth user:password (or set ASSISTANT_WEB__AUTH), or bind 127.0.0.1."
    )
