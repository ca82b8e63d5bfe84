"""The official Anthropic SDK through sluice to an Anthropic upstream (`fake_anthropic.py`):
the call is relayed as the client made it and the answer comes back whole, block types the
gateway does not model (server tools, citations) included, plain and streamed."""

import json
import os
import sys

import anthropic

client = anthropic.Anthropic(
    base_url=os.environ["SLUICE_RELAY_URL"], api_key=os.environ["SLUICE_RELAY_KEY"], max_retries=0
)
upstream_log = os.environ["FAKE_ANTHROPIC_LOG"]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def last_upstream_request():
    with open(upstream_log, encoding="utf-8") as log:
        return json.loads(log.readlines()[-1])


tools = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2}]
question = [{"role": "user", "content": "Weather in Oslo?"}]

reply = client.messages.create(model="claude", max_tokens=200, tools=tools, messages=question,
                                extra_body={"top_k": 5, "container": "container_011"})
check([block.type for block in reply.content] == ["server_tool_use", "web_search_tool_result", "text"],
      "server tool blocks come back")
check(reply.content[2].citations[0].cited_text == "12 °C", "citations come back")
check(reply.usage.input_tokens == 410 and reply.usage.server_tool_use.web_search_requests == 1, "usage as sent")
sent = last_upstream_request()
check(sent["body"] == {"model": "claude-sonnet-4-5-20250929", "max_tokens": 200, "tools": tools,
                       "messages": question, "top_k": 5, "container": "container_011"},
      "the upstream got the call as made, with its own model name")
check(sent["headers"]["x-api-key"] == "sk-ant-relay-smoke", "the upstream got the provider's key")

with client.messages.stream(model="claude", max_tokens=200, tools=tools, messages=question) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
check(text == "Mild, 12 °C.", "streamed text")
check([block.type for block in final.content] == ["server_tool_use", "web_search_tool_result", "text"],
      "streamed server tool blocks")
check(final.content[0].input == {"query": "Oslo weather"}, "streamed server tool input")
check(final.content[2].citations[0].cited_text == "12 °C", "streamed citations")
check(final.usage.input_tokens == 410 and final.usage.output_tokens == 31, "streamed usage")

client.beta.messages.create(model="claude", max_tokens=50, betas=["context-management-2025-06-27"], messages=question)
check(last_upstream_request()["headers"].get("anthropic-beta") == "context-management-2025-06-27",
      "beta features reach the upstream")

counted = client.messages.count_tokens(model="claude", messages=question, tools=tools)
check(counted.input_tokens == 17, "tokens counted by the upstream")
check(last_upstream_request()["path"] == "/v1/messages/count_tokens"
      and "max_tokens" not in last_upstream_request()["body"], "the count went to the upstream's endpoint")

try:
    client.messages.create(model="claude", max_tokens=0, messages=question)
    check(False, "max_tokens 0 is refused")
except anthropic.BadRequestError as e:
    check(e.body["error"]["type"] == "invalid_request_error", "a bad call is refused in Anthropic's shape")
check(last_upstream_request()["path"] == "/v1/messages/count_tokens", "the bad call never reached the upstream")
print("anthropic relay smoke: all passed")
