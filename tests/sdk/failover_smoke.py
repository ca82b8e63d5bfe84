"""The official OpenAI and Anthropic SDKs, unchanged, against a sluice whose models' first
deployment is down: every call, plain or streamed, is answered by the second deployment, and
the only trace is in the response headers."""

import os
import sys

import anthropic
from openai import OpenAI

base = os.environ["SLUICE_RELAY_URL"]
key = os.environ["SLUICE_RELAY_KEY"]
# No retries in the SDKs: the failover must be the gateway's.
openai_client = OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
anthropic_client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def failed_over(headers, what):
    check(headers.get("x-upstream-deployment") == "backup" and headers.get("x-upstream-attempts") == "2",
          f"{what}: answered by the backup at the second try")


question = [{"role": "user", "content": "Hello"}]

raw = openai_client.chat.completions.with_raw_response.create(model="gpt", messages=question)
reply = raw.parse()
check(reply.choices[0].message.content == "This is a mock reply to: Hello", "openai sdk: chat completion")
failed_over(raw.headers, "openai sdk: chat completion")

raw = openai_client.chat.completions.with_raw_response.create(
    model="gpt", messages=question, stream=True, stream_options={"include_usage": True})
text, usage = "", None
for chunk in raw.parse():
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    if chunk.usage:
        usage = chunk.usage
check(text == "This is a mock reply to: Hello" and usage is not None, "openai sdk: streamed chat completion")
failed_over(raw.headers, "openai sdk: streamed chat completion")

raw = openai_client.embeddings.with_raw_response.create(model="gpt", input="one", encoding_format="float")
check(len(raw.parse().data[0].embedding) == 16, "openai sdk: embeddings")
failed_over(raw.headers, "openai sdk: embeddings")

raw = anthropic_client.messages.with_raw_response.create(model="claude", max_tokens=100, messages=question)
message = raw.parse()
check(message.content[-1].text == "Mild, 12 °C.", "anthropic sdk: message")
failed_over(raw.headers, "anthropic sdk: message")

with anthropic_client.messages.with_streaming_response.create(
        model="claude", max_tokens=100, messages=question, stream=True) as response:
    failed_over(response.headers, "anthropic sdk: streamed message")
    body = "".join(response.iter_text())
check("message_stop" in body and "Mild, 12" in body, "anthropic sdk: streamed message")

with anthropic_client.messages.stream(model="claude", max_tokens=100, messages=question) as stream:
    text = "".join(stream.text_stream)
check(text == "Mild, 12 °C.", "anthropic sdk: streamed text through its stream helper")

print("failover smoke: all passed")
