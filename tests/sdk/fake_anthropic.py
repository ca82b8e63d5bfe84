"""A stand-in for Anthropic's API, for the relay smoke test: `POST /v1/messages` answers, plain
or streamed in Anthropic's exact event format (and `/v1/messages/count_tokens` counts 17), with block types the gateway does not model (a
server tool's use and result, a cited text). Every request it gets is appended to a JSON-lines
file, so the test can see what the gateway sent. Standard library only.

    python fake_anthropic.py PORT LOG_FILE
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = {
    "id": "msg_relay", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "Oslo weather"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
            {"type": "web_search_result", "url": "https://example.com/oslo", "title": "Oslo",
             "encrypted_content": "EqgfCioIARgB", "page_age": "1 day"}]},
        {"type": "text", "text": "Mild, 12 °C.", "citations": [
            {"type": "web_search_result_location", "url": "https://example.com/oslo", "title": "Oslo",
             "encrypted_index": "Eo8BCioIAhgB", "cited_text": "12 °C"}]},
    ],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 410, "cache_read_input_tokens": 20, "output_tokens": 31,
              "server_tool_use": {"web_search_requests": 1}},
}


def events():
    content = ANSWER["content"]
    start = dict(ANSWER, content=[], stop_reason=None,
                 usage={"input_tokens": 410, "cache_read_input_tokens": 20, "output_tokens": 1})
    yield {"type": "message_start", "message": start}
    yield {"type": "ping"}
    yield {"type": "content_block_start", "index": 0, "content_block": dict(content[0], input={})}
    yield {"type": "content_block_delta", "index": 0,
           "delta": {"type": "input_json_delta", "partial_json": json.dumps(content[0]["input"])}}
    yield {"type": "content_block_stop", "index": 0}
    yield {"type": "content_block_start", "index": 1, "content_block": content[1]}
    yield {"type": "content_block_stop", "index": 1}
    yield {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "", "citations": []}}
    yield {"type": "content_block_delta", "index": 2,
           "delta": {"type": "citations_delta", "citation": content[2]["citations"][0]}}
    yield {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": content[2]["text"]}}
    yield {"type": "content_block_stop", "index": 2}
    yield {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
           "usage": {"output_tokens": 31, "server_tool_use": {"web_search_requests": 1}}}
    yield {"type": "message_stop"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        with open(sys.argv[2], "a", encoding="utf-8") as log:
            seen = {"path": self.path, "body": body,
                    "headers": {k.lower(): v for k, v in self.headers.items()}}
            log.write(json.dumps(seen) + "\n")
        if self.path == "/v1/messages/count_tokens":
            self.reply(200, "application/json", b'{"input_tokens": 17}')
        elif self.path != "/v1/messages":
            self.reply(404, "application/json", b'{"type":"error","error":{"type":"not_found_error","message":"no"}}')
        elif body.get("stream"):
            frames = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events())
            self.reply(200, "text/event-stream", frames.encode())
        else:
            self.reply(200, "application/json", json.dumps(ANSWER).encode())

    def reply(self, status, content_type, payload):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
