"""The Python client against a real broker: submit/job/cancel, idempotency,
imports (one document, several files), tools (OpenAI form, pages), invoke,
credentials, errors as ToolqError with toolq's code, tenant isolation and an
OpenAI-style agent loop."""
import json
import os
import time

import pytest

from toolq_client import Client, ToolqError


def test_whoami(client: Client) -> None:
    me = client.whoami()
    assert (me["role"], me["tenant"]) == ("tenant", "acme")


def test_submit_wait_and_job(client: Client) -> None:
    job = client.submit("ping", {"x": 1}, wait=10)
    assert job["state"] == "succeeded" and job["result"] == {"x": 1}
    assert client.job(job["id"])["state"] == "succeeded"


def test_long_poll_wakes_on_completion(client: Client) -> None:
    job = client.submit("sleep", {"ms": 800})
    assert job["state"] in ("queued", "running")
    t0 = time.monotonic()
    done = client.job(job["id"], wait=30)
    assert done["state"] == "succeeded"
    assert time.monotonic() - t0 < 10


def test_cancel(client: Client) -> None:
    job = client.submit("sleep", {"ms": 20000})
    assert client.cancel(job["id"])["state"] == "cancelled"
    with pytest.raises(ToolqError) as e:
        client.cancel(job["id"])
    assert (e.value.status, e.value.code) == (409, "not_cancellable")


def test_idempotency(client: Client) -> None:
    a = client.submit("ping", {"n": 1}, wait=10, idempotency_key="py-1")
    b = client.submit("ping", {"n": 2}, wait=10, idempotency_key="py-1")
    assert b["id"] == a["id"] and b["duplicate"] is True and b["result"] == {"n": 1}


def test_errors_carry_the_code(client: Client) -> None:
    with pytest.raises(ToolqError) as e:
        client.submit("no.such.op")
    assert (e.value.status, e.value.code) == (400, "unknown_op")
    with pytest.raises(ToolqError) as e:
        client.submit("admin.rotate_master")
    assert (e.value.status, e.value.code) == (403, "forbidden")
    with pytest.raises(ToolqError) as e:
        Client(client._scheme + "://" + client._host + ":" + str(client._port), "tqk_" + "A" * 43).whoami()
    assert (e.value.status, e.value.code) == (401, "unauthorized")


def test_providers_tools_invoke(client: Client, other: Client, spec: str, echo_url: str,
                                tmp_path) -> None:
    r = client.import_provider(spec, name="py-echo", server_url=echo_url)
    assert r["name"] == "py-echo" and r["tools"] > 3
    extra = tmp_path / "extra.yaml"
    extra.write_text("unused: true\n")
    r = client.import_provider([spec, str(extra)], name="py-echo2", server_url=echo_url)
    assert r["name"] == "py-echo2"
    multi = os.path.join(os.environ["TOOLQ_SOURCE_DIR"], "tests", "data", "openapi", "multi")
    files = ["api/openapi.yaml", "api/paths/order.yaml", "api/paths/orders.yaml",
             "schemas/order.json", "schemas/common.yaml"]
    r = client.import_provider([os.path.join(multi, f) for f in files], name="py-multi")
    assert r["tools"] == 3 and r["skipped"] == []  # relative $refs resolve across the files
    names = [p["name"] for p in client.providers()["providers"]]
    assert "py-echo" in names and "py-echo2" in names
    tools = client.tools(format="openai", provider="py-echo")
    assert tools["tools"][0]["type"] == "function"
    page = client.tools(format="openai", provider="py-echo", limit=2)
    assert len(page["tools"]) == 2 and page["next_cursor"] == "2"
    res = client.invoke("py-echo", "getItem", id="a b")
    assert res["body"]["path"] == "/items/a%20b"
    with pytest.raises(ToolqError) as e:
        client.invoke("py-echo", "noSuchTool")
    assert e.value.code == "tool_not_found" and e.value.job
    # tenant B sees none of it
    with pytest.raises(ToolqError) as e:
        other.invoke("py-echo", "getItem", id="x")
    assert (e.value.status, e.value.code) == (404, "provider_not_found")
    assert "acme" not in e.value.detail
    assert client.delete_provider("py-echo2")["deleted"] is True


def test_other_tenant_cannot_wait_or_cancel(client: Client, other: Client) -> None:
    job = client.submit("sleep", {"ms": 3000})
    for call in (lambda: other.job(job["id"]), lambda: other.job(job["id"], wait=1),
                 lambda: other.cancel(job["id"])):
        with pytest.raises(ToolqError) as e:
            call()
        assert (e.value.status, e.value.code) == (404, "not_found")
    assert client.job(job["id"])["state"] in ("queued", "running")


def test_credentials_masked(client: Client) -> None:
    client.create_credential("py-cred", "bearer", {"token": "py-SECRET-9"},
                             origins=["https://api.example.com"])
    listed = json.dumps(client.credentials())
    assert "py-cred" in listed and "py-SECRET-9" not in listed
    assert client.delete_credential("py-cred")["deleted"] is True


def test_agent_loop(client: Client, spec: str, echo_url: str) -> None:
    """OpenAI-style: list tools, the model picks one, execute the call."""
    client.import_provider(spec, name="agent", server_url=echo_url)
    listing = client.tools(format="openai", provider="agent")
    functions = {t["function"]["name"]: t for t in listing["tools"]}
    assert "getItem" in functions
    tool_call = {"name": "getItem", "arguments": json.dumps({"id": "42"})}  # as a model returns it
    target = listing["names"][tool_call["name"]]
    out = client.invoke(target["provider"], target["operation_id"], **json.loads(tool_call["arguments"]))
    assert out["status"] == 200 and out["body"]["path"] == "/items/42"
