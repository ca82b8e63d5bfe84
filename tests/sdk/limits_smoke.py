"""The official OpenAI SDK against keys with limits: it sees the price, the rate-limit headers,
the 429 it expects, and does not retry a spent budget (`x-should-retry: false`)."""

import os
import sys

import httpx
import openai
from openai import OpenAI

base_url = os.environ["SLUICE_BASE_URL"]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


ask = {"model": "mock", "messages": [{"role": "user", "content": "Hello"}]}

limited = OpenAI(base_url=base_url, api_key=os.environ["SLUICE_LIMITED_KEY"], max_retries=0)
raw = limited.chat.completions.with_raw_response.create(**ask)
check(raw.headers.get("x-ratelimit-limit-requests") == "1", "x-ratelimit-limit-requests on an answer")
check(raw.headers.get("x-ratelimit-remaining-requests") == "0", "x-ratelimit-remaining-requests")
check(float(raw.headers["x-request-cost"]) > 0, "the price in x-request-cost")
reply = raw.parse()
check((reply.usage.model_extra or {}).get("cost") == float(raw.headers["x-request-cost"]), "usage.cost equals the header")
try:
    limited.chat.completions.create(**ask)
    check(False, "the second call in a minute is refused")
except openai.RateLimitError as e:
    check(e.status_code == 429 and e.code == "rate_limited", "RateLimitError with code rate_limited")
    check(int(e.response.headers["retry-after"]) >= 1, "retry-after")

sent = []
counting = httpx.Client(event_hooks={"request": [lambda request: sent.append(request.url)]})
broke = OpenAI(base_url=base_url, api_key=os.environ["SLUICE_BROKE_KEY"], max_retries=2, http_client=counting)
try:
    broke.chat.completions.create(**ask)
    check(False, "a call over the budget is refused")
except openai.RateLimitError as e:
    check(e.code == "insufficient_quota", "insufficient_quota")
    check(e.response.headers.get("x-should-retry") == "false", "x-should-retry: false")
check(len(sent) == 1, f"the SDK did not retry a spent budget ({len(sent)} requests)")

# The official Anthropic SDK against a tenant's own limits (set with `sluice admin limits`).
import anthropic

anthropic_base = base_url.removesuffix("/v1")
hello = {"model": "mock", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}
capped = anthropic.Anthropic(base_url=anthropic_base, api_key=os.environ["SLUICE_CAPPED_KEY"], max_retries=0)
raw = capped.messages.with_raw_response.create(**hello)
check(raw.headers.get("anthropic-ratelimit-requests-limit") == "1", "anthropic-ratelimit-requests-limit on an answer")
check(raw.headers.get("anthropic-ratelimit-requests-remaining") == "0", "anthropic-ratelimit-requests-remaining")
try:
    capped.messages.create(**hello)
    check(False, "the tenant's second call in a minute is refused")
except anthropic.RateLimitError as e:
    check(e.status_code == 429, "anthropic.RateLimitError")
    check(e.body["error"]["type"] == "rate_limit_error", "Anthropic's error type")
    check("this tenant's limit" in e.body["error"]["message"], "the message says whose limit")
    check(int(e.response.headers["retry-after"]) >= 1, "retry-after")

sent = []
# The SDK's own HTTP client class (newer releases use a fork of httpx), with a request hook.
counting = anthropic.DefaultHttpxClient(event_hooks={"request": [lambda request: sent.append(request.url)]})
spent = anthropic.Anthropic(base_url=anthropic_base, api_key=os.environ["SLUICE_SPENT_KEY"], max_retries=2, http_client=counting)
try:
    spent.messages.create(**hello)
    check(False, "a call over the tenant's token budget is refused")
except anthropic.RateLimitError as e:
    check(e.response.headers.get("x-should-retry") == "false", "x-should-retry: false")
check(len(sent) == 1, f"the Anthropic SDK did not retry a spent budget ({len(sent)} requests)")

spent_openai = OpenAI(base_url=base_url, api_key=os.environ["SLUICE_SPENT_KEY"], max_retries=0)
try:
    spent_openai.chat.completions.create(**ask)
    check(False, "the OpenAI SDK is refused too")
except openai.RateLimitError as e:
    check(e.code == "insufficient_quota", "insufficient_quota for a spent tenant budget")
