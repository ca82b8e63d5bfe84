"""The official OpenAI SDK against a fresh sluice (the built-in mock model)."""

import base64
import os
import struct
import sys

import openai
from openai import OpenAI

client = OpenAI(base_url=os.environ["SLUICE_BASE_URL"], api_key=os.environ["SLUICE_API_KEY"], max_retries=0)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


reply = client.chat.completions.create(model="mock", messages=[{"role": "user", "content": "Hello"}])
check(reply.choices[0].message.content == "This is a mock reply to: Hello", "chat completion")
check(reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens, "usage adds up")

stream = client.chat.completions.create(
    model="mock", messages=[{"role": "user", "content": "Hi there"}], stream=True, stream_options={"include_usage": True}
)
text, usage = "", None
for chunk in stream:
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    if chunk.usage:
        usage = chunk.usage
check(text == "This is a mock reply to: Hi there", "streamed chat completion")
check(usage is not None and usage.completion_tokens > 0, "usage chunk when asked for")

plain_stream = client.chat.completions.create(model="mock", messages=[{"role": "user", "content": "x"}], stream=True)
check(all(chunk.usage is None for chunk in plain_stream), "no usage chunk when not asked for")

tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]
called = client.chat.completions.create(model="mock", messages=[{"role": "user", "content": "weather?"}], tools=tools)
check(called.choices[0].finish_reason == "tool_calls", "tool call finish reason")
check(called.choices[0].message.tool_calls[0].function.name == "get_weather", "tool call")

floats = client.embeddings.create(model="mock", input=["one", "two"], encoding_format="float")
check(len(floats.data) == 2 and len(floats.data[0].embedding) == 16, "embeddings as floats")
b64 = client.embeddings.create(model="mock", input="one")
check(len(b64.data[0].embedding) == 16, "embeddings as base64 (the SDK's default), decoded by the SDK")
raw = client.embeddings.with_raw_response.create(model="mock", input="one", encoding_format="base64").parse()
vector = struct.unpack("<16f", base64.b64decode(raw.data[0].embedding)) if isinstance(raw.data[0].embedding, str) else raw.data[0].embedding
check(abs(sum(x * x for x in vector) - 1.0) < 1e-4, "base64 vector is a unit vector")

check([m.id for m in client.models.list()] == ["mock"], "model list")
check(client.models.retrieve("mock").id == "mock", "model retrieve")

completion = client.completions.create(model="mock", prompt="Say this")
check(completion.choices[0].text == "This is a mock completion of: Say this", "text completion")

try:
    client.chat.completions.create(model="missing", messages=[{"role": "user", "content": "x"}])
    check(False, "unknown model raises")
except openai.NotFoundError as e:
    check(e.code == "model_not_found", "unknown model is NotFoundError with code model_not_found")

try:
    OpenAI(base_url=os.environ["SLUICE_BASE_URL"], api_key="sk-wrong", max_retries=0).models.list()
    check(False, "bad key raises")
except openai.AuthenticationError as e:
    check(e.code == "invalid_api_key", "bad key is AuthenticationError")

try:
    client.chat.completions.create(model="mock", messages=[{"role": "wizard", "content": "x"}])
    check(False, "bad role raises")
except openai.BadRequestError as e:
    check(e.param == "messages[0].role", "bad input is BadRequestError naming the field")

print("openai sdk smoke: all passed")
