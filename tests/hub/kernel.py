"""A kernel driven the way JupyterLab drives it: the Jupyter server's REST API to start it, then
the message protocol over the kernel's websocket (``/api/kernels/ID/channels``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import websocket


@dataclass
class Reply:
    code: str
    status: str = ""
    text: str = ""                      # stream output and text/plain of results and displays
    html: str = ""
    error: str = ""                     # "ename: evalue" of an exception, if any
    mimetypes: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __str__(self) -> str:
        return f"[{self.status}] {self.code!r}\n{self.text}{self.error}"


class Kernel:
    """One kernel of one user's server, behind the hub's proxy."""

    def __init__(self, server_url: str, token: str, timeout: float = 600) -> None:
        self.server_url, self.token, self.timeout = server_url.rstrip("/"), token, timeout
        headers = {"Authorization": f"token {token}"}
        with httpx.Client(headers=headers, timeout=120) as http:
            answer = http.post(f"{self.server_url}/api/kernels", json={"name": "python3"})
            answer.raise_for_status()
            self.id = answer.json()["id"]
        self.session = uuid.uuid4().hex
        ws_url = self.server_url.replace("http://", "ws://", 1) + \
            f"/api/kernels/{self.id}/channels?session_id={self.session}"
        self.ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"],
                                              timeout=timeout)

    def execute(self, code: str) -> Reply:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "",
                       "session": self.session, "date": datetime.now(UTC).isoformat(), "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        reply, idle = Reply(code), False
        while not (idle and reply.status):
            message = json.loads(self.ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                reply.text += content["text"]
            elif kind in ("execute_result", "display_data"):
                reply.mimetypes |= set(content["data"])
                reply.text += content["data"].get("text/plain", "") + "\n"
                reply.html += content["data"].get("text/html", "")
            elif kind == "error":
                reply.error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                reply.status = content["status"]
        return reply

    def close(self) -> None:
        self.ws.close()
        with httpx.Client(headers={"Authorization": f"token {self.token}"}, timeout=60) as http:
            http.delete(f"{self.server_url}/api/kernels/{self.id}")
