"""The official Anthropic SDK against a fresh sluice (the built-in mock model): what an
Anthropic user changes is only `base_url` and `api_key`."""

import os
import sys

import anthropic

# The Anthropic SDK appends `/v1/messages` itself: its base URL is the gateway's root.
base_url = os.environ["SLUICE_BASE_URL"].removesuffix("/v1")
client = anthropic.Anthropic(base_url=base_url, api_key=os.environ["SLUICE_API_KEY"], max_retries=0)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


reply = client.messages.create(
    model="mock", max_tokens=100, system="Be brief.", messages=[{"role": "user", "content": "Hello"}]
)
check(reply.content[0].type == "text" and reply.content[0].text == "This is a mock reply to: Hello", "message")
check(reply.stop_reason == "end_turn" and reply.usage.output_tokens > 0, "stop reason and usage")
# The SDK reports the gateway's request id (`request-id`), the one its logs and usage carry.
check(reply._request_id is not None and len(reply._request_id) == 36, "request id")

with client.messages.stream(model="mock", max_tokens=100, messages=[{"role": "user", "content": "Hi there"}]) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
check(text == "This is a mock reply to: Hi there", "streamed text")
check(final.usage.output_tokens > 0 and final.usage.input_tokens > 0, "streamed usage")

tools = [{"name": "get_weather", "description": "The weather", "input_schema": {"type": "object", "properties": {}}}]
called = client.messages.create(
    model="mock", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Weather?"}]
)
check(called.stop_reason == "tool_use", "tool use stop reason")
call = next(block for block in called.content if block.type == "tool_use")
check(call.name == "get_weather", "tool use")

answered = client.messages.create(
    model="mock",
    max_tokens=100,
    tools=tools,
    messages=[
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": called.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}]},
    ],
)
check(answered.content[0].text == "The tool returned: sunny", "tool result sent back")

with client.messages.stream(
    model="mock", max_tokens=100, tools=tools, messages=[{"role": "user", "content": "Weather?"}]
) as stream:
    streamed_call = next(block for block in stream.get_final_message().content if block.type == "tool_use")
check(streamed_call.name == "get_weather" and isinstance(streamed_call.input, dict), "streamed tool use")

# The SDK's beta surface: `anthropic-beta` headers and `?beta=true` on the path.
beta = client.beta.messages.create(
    model="mock", max_tokens=50, betas=["token-efficient-tools-2025-02-19"], messages=[{"role": "user", "content": "Hi"}]
)
check(beta.content[0].text == "This is a mock reply to: Hi", "beta messages with betas")

check([m.display_name for m in client.models.list()] == ["mock"], "model list")

counted = client.messages.count_tokens(model="mock", messages=[{"role": "user", "content": "Hello there"}])
check(counted.input_tokens > 0, "count tokens")

try:
    client.messages.create(model="missing", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    check(False, "unknown model is refused")
except anthropic.NotFoundError as e:
    check(e.body["error"]["type"] == "not_found_error", "unknown model is NotFoundError")
    check(e.request_id is not None and len(e.request_id) == 36, "errors carry the request id")

try:
    anthropic.Anthropic(base_url=base_url, api_key="sk-sluice-wrong", max_retries=0).messages.create(
        model="mock", max_tokens=5, messages=[{"role": "user", "content": "x"}]
    )
    check(False, "bad key is refused")
except anthropic.AuthenticationError:
    check(True, "bad key is AuthenticationError")

try:
    client.messages.create(model="mock", max_tokens=5, messages=[{"role": "user", "content": [{"type": "text"}]}])
    check(False, "bad input is refused")
except anthropic.BadRequestError as e:
    check("messages[0].content[0].text" in e.body["error"]["message"], "bad input is BadRequestError naming the field")

print("anthropic sdk smoke: all passed")
