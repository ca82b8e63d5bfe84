"""LangChain's OpenAI integration against a fresh sluice (the built-in mock model): what a
LangChain user changes is only `base_url` and `api_key`."""

import os
import sys

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

base_url, api_key = os.environ["SLUICE_BASE_URL"], os.environ["SLUICE_API_KEY"]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


chat = ChatOpenAI(model="mock", base_url=base_url, api_key=api_key, max_retries=0)

reply = chat.invoke([SystemMessage("Be brief."), HumanMessage("Hello")])
check(reply.content == "This is a mock reply to: Hello", "invoke")
check(reply.usage_metadata and reply.usage_metadata["total_tokens"] > 0, "usage metadata")

chunks = list(ChatOpenAI(model="mock", base_url=base_url, api_key=api_key, stream_usage=True).stream("Hi there"))
check("".join(c.content for c in chunks) == "This is a mock reply to: Hi there", "stream")
check(any(c.usage_metadata for c in chunks), "streamed usage metadata")


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


called = chat.bind_tools([get_weather]).invoke("What is the weather in Paris?")
check(called.tool_calls and called.tool_calls[0]["name"] == "get_weather", "tool call")

batch = chat.batch(["one", "two"])
check([m.content for m in batch] == ["This is a mock reply to: one", "This is a mock reply to: two"], "batch")

# LangChain tokenises embedding inputs with tiktoken by default, which downloads its tables;
# plain text input needs no download.
embeddings = OpenAIEmbeddings(model="mock", base_url=base_url, api_key=api_key, check_embedding_ctx_length=False)
vectors = embeddings.embed_documents(["one", "two"])
check(len(vectors) == 2 and len(vectors[0]) == 16, "embed documents")
check(len(embeddings.embed_query("one")) == 16, "embed query")

try:
    ChatOpenAI(model="missing", base_url=base_url, api_key=api_key, max_retries=0).invoke("x")
    check(False, "unknown model is refused")
except Exception as e:  # the OpenAI SDK's NotFoundError, raised through LangChain
    check(getattr(e, "status_code", None) == 404, "unknown model is refused with 404")

try:
    ChatOpenAI(model="mock", base_url=base_url, api_key="sk-sluice-wrong", max_retries=0).invoke("x")
    check(False, "bad key is refused")
except Exception as e:
    check(getattr(e, "status_code", None) == 401, "bad key is refused with 401")
