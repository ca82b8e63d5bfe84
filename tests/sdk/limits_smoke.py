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
