"""toolq_client — Python client of toolq's HTTP API under /v1 (docs/api.md).

Standard library only. A Client holds one keep-alive HTTP connection and is
not thread-safe: use one per thread. Every error the API answers becomes a
ToolqError carrying toolq's error code (RFC 9457 problem details).
"""
from __future__ import annotations

import http.client
import json
import os
import uuid
from typing import Any, Dict, Iterable, Mapping, Optional, Sequence, Union
from urllib.parse import quote, urlencode, urlsplit

__all__ = ["Client", "ToolqError"]

JSON = Dict[str, Any]


class ToolqError(Exception):
    """An error answer of the API: HTTP status, toolq's error code, detail,
    and the job it concerns (when a job ran)."""

    def __init__(self, status: int, code: str, detail: str = "", job: Optional[str] = None):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.status = status
        self.code = code
        self.detail = detail
        self.job = job


class Client:
    """Client(url, key): url of the broker's HTTP listener (http:// or
    https://), key an API key (`toolq apikey create`)."""

    def __init__(self, url: str, key: str, timeout: float = 120.0, tenant: Optional[str] = None):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be http://host:port or https://host:port")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._key = key
        self._timeout = timeout
        self._tenant = tenant  # integrator/operator keys: act for this tenant
        self._conn: Optional[http.client.HTTPConnection] = None

    # --- transport -----------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, body: Union[bytes, str, Mapping[str, Any], None] = None,
                query: Optional[Mapping[str, Any]] = None,
                headers: Optional[Mapping[str, str]] = None,
                content_type: Optional[str] = None) -> Any:
        """One API request; returns the decoded JSON answer (2xx) or raises
        ToolqError. A dict body is sent as JSON."""
        h = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        if self._tenant:
            h["X-Toolq-Tenant"] = self._tenant
        data: Optional[bytes] = None
        if isinstance(body, Mapping):
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body
        if content_type:
            h["Content-Type"] = content_type
        h.update(headers or {})
        q = {k: v for k, v in (query or {}).items() if v is not None}
        url = path + ("?" + urlencode(q, doseq=False) if q else "")
        for attempt in (0, 1):  # a keep-alive connection the server closed: once more
            conn = self._connection()
            try:
                conn.request(method, url, body=data, headers=h)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        ctype = resp.getheader("Content-Type", "")
        payload: Any = json.loads(raw) if raw and "json" in ctype else raw.decode(errors="replace")
        if resp.status >= 400:
            if isinstance(payload, dict) and "code" in payload:
                raise ToolqError(resp.status, payload["code"], payload.get("detail", ""),
                                 payload.get("job"))
            raise ToolqError(resp.status, "http_error", str(payload)[:500])
        return payload

    # --- jobs ----------------------------------------------------------------------------
    def submit(self, op: str, payload: Optional[Mapping[str, Any]] = None, wait: int = 0,
               idempotency_key: Optional[str] = None, tenant: Optional[str] = None) -> JSON:
        """Submits a job of any op; with wait=N waits up to N seconds for its
        outcome. Returns the job: {id, op, state, attempts, result, error, duplicate}."""
        headers = {}
        if wait:
            headers["Prefer"] = f"wait={int(wait)}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body: JSON = {"op": op, "payload": dict(payload or {})}
        if tenant:
            body["tenant"] = tenant
        return self.request("POST", "/v1/jobs", body, headers=headers)

    def job(self, job_id: str, wait: int = 0) -> JSON:
        """A job; wait=N long-polls up to N seconds until it ends."""
        return self.request("GET", f"/v1/jobs/{quote(job_id, safe='')}", query={"wait": wait or None})

    def cancel(self, job_id: str) -> JSON:
        return self.request("DELETE", f"/v1/jobs/{quote(job_id, safe='')}")

    def whoami(self) -> JSON:
        return self.request("GET", "/v1/whoami")

    # --- providers and tools ------------------------------------------------------------------
    def import_provider(self, path: Union[str, Iterable[str]], name: Optional[str] = None,
                        server_url: Optional[str] = None) -> JSON:
        """Imports an API document (a path), or several files (the first is
        the entry document; $refs may point to the others)."""
        paths = [path] if isinstance(path, str) else list(path)
        if len(paths) == 1:
            with open(paths[0], "rb") as f:
                doc = f.read()
            ctype = "application/json" if paths[0].endswith(".json") else "application/yaml"
            return self.request("POST", "/v1/providers", doc, content_type=ctype,
                                query={"name": name, "server_url": server_url})
        boundary = uuid.uuid4().hex
        root = os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
        parts = []
        for k, v in (("name", name), ("server_url", server_url)):
            if v:
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                             f"{v}\r\n".encode())
        for i, p in enumerate(paths):
            with open(p, "rb") as f:
                content = f.read()
            # the file's path below the common folder: the entry's relative $refs name it
            fname = os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/").replace('"', "")
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file{i}"; '
                         f'filename="{fname}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                         .encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", "/v1/providers", body,
                            content_type=f"multipart/form-data; boundary={boundary}")

    def providers(self) -> JSON:
        return self.request("GET", "/v1/providers")

    def provider(self, name: str) -> JSON:
        return self.request("GET", f"/v1/providers/{quote(name, safe='')}")

    def delete_provider(self, name: str) -> JSON:
        return self.request("DELETE", f"/v1/providers/{quote(name, safe='')}")

    def tools(self, format: str = "toolq", provider: Optional[str] = None,
              limit: Optional[int] = None, cursor: Optional[str] = None, **filters: str) -> JSON:
        """The tenant's tools; format="openai" gives function-calling
        definitions. filters: include_tags, exclude_tags, methods, ... (comma lists)."""
        return self.request("GET", "/v1/tools", query={"format": format, "provider": provider,
                                                      "limit": limit, "cursor": cursor, **filters})

    def invoke(self, provider: str, tool: str, credential: Optional[str] = None,
               **args: Any) -> JSON:
        """Calls one tool with arguments; returns the call's structured result."""
        return self.request("POST", f"/v1/providers/{quote(provider, safe='')}/tools/"
                                    f"{quote(tool, safe='')}:invoke", dict(args),
                            query={"credential": credential})

    # --- credentials ---------------------------------------------------------------------------
    def create_credential(self, name: str, type: str, fields: Mapping[str, str],
                          plugin: Optional[str] = None, *,
                          origins: Optional[Sequence[str]] = None,
                          provider: Optional[str] = None) -> JSON:
        """A named credential, bound to where it may be sent: the origins
        given (https://host[:port]) or the tools of the provider named (an
        oauth2 credential may name neither: it is bound on first use)."""
        body: JSON = {"name": name, "type": type, "fields": dict(fields)}
        if plugin:
            body["plugin"] = plugin
        if origins:
            body["origins"] = list(origins)
        if provider:
            body["provider"] = provider
        return self.request("POST", "/v1/credentials", body)

    def credentials(self) -> JSON:
        return self.request("GET", "/v1/credentials")

    def delete_credential(self, name: str) -> JSON:
        return self.request("DELETE", f"/v1/credentials/{quote(name, safe='')}")
