#!/usr/bin/env python3
"""A loopback stand-in for the Hugging Face Hub, for the tests of `hub:` names (the CLI) and of
the page's "Load ImageNet weights" control. Standard library only.

It answers as the Hub does, on two origins:
- the Hub (`hub`): `HEAD|GET /<repo>/resolve/<revision>/<file>` is a 302 to the CDN with
  `X-Repo-Commit`, `X-Linked-Etag` (the sha256), `X-Linked-Size` and `ETag`, or an error with the
  Hub's `X-Error-Code` (RepoNotFound as a 401, RevisionNotFound and EntryNotFound as 404s);
  `GET /api/models/<repo>/revision/<revision>?blobs=true` lists the files with their LFS sha256;
- the CDN (`cdn`, another port: another origin): `GET /blobs/<sha256>` with Range requests.
Both send the CORS headers the Hub sends. Every request is appended to `--log` as a JSON line.

Faults, for the tests: `--corrupt` flips one byte of every file served; `--cut-after N` closes
the first full (non-Range) download after N bytes; `--token T` makes the repositories private
(RepoNotFound without `Authorization: Bearer T`); `--rename OLD=NEW` answers OLD with a
relative 307 to NEW, as the Hub does for a renamed repository.

Prints `{"hub": URL, "cdn": URL}` on one line once both listen, then serves until killed.
"""

import argparse
import hashlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "X-Repo-Commit, X-Linked-Etag, X-Linked-Size, ETag, Content-Range, Content-Length, X-Error-Code",
}


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class State:
    def __init__(self, args):
        self.files = {}  # (repo, file) -> {"path", "sha256", "size"}
        self.blobs = {}  # sha256 -> path
        for spec in args.repo:
            repo_file, path = spec.split("=", 1)
            repo, _, file = repo_file.partition(":")
            entry = {"path": path, "sha256": sha256_of(path), "size": os.path.getsize(path)}
            self.files[(repo, file or "model.safetensors")] = entry
            self.blobs[entry["sha256"]] = path
        self.commit = hashlib.sha1(b"inception-rs hub stand-in").hexdigest()
        self.renames = dict(r.split("=", 1) for r in args.rename)
        self.token = args.token
        self.corrupt = args.corrupt
        self.cut_after = args.cut_after
        self.log = args.log
        self.lock = threading.Lock()
        self.cdn = None

    def record(self, **entry):
        if self.log:
            with self.lock, open(self.log, "a") as f:
                f.write(json.dumps(entry) + "\n")


def handler(state, role):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status, headers=None, body=b""):
            self.send_response(status)
            for k, v in {**CORS, **(headers or {})}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def error(self, status, code, message):
            self.answer(status, {"X-Error-Code": code, "Content-Type": "application/json"},
                        json.dumps({"error": message}).encode())

        def do_OPTIONS(self):
            self.record()
            self.answer(204, {"Access-Control-Allow-Headers": "Range, Authorization, Accept-Encoding",
                              "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS"})

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            self.record()
            path = unquote(urlsplit(self.path).path)
            if role == "hub":
                self.hub(path)
            else:
                self.blob(path)

        def record(self):
            state.record(origin=role, method=self.command, path=self.path,
                         range=self.headers.get("Range"), auth=self.headers.get("Authorization") is not None)

        def repo_entry(self, repo, revision, file):
            """The file, or an error answered in the Hub's words."""
            known = {r for r, _ in state.files}
            allowed = state.token is None or self.headers.get("Authorization") == f"Bearer {state.token}"
            if repo not in known or not allowed:
                self.error(401, "RepoNotFound", "Repository Not Found")
                return None
            if revision not in ("main", state.commit):
                self.error(404, "RevisionNotFound", "Invalid rev id")
                return None
            entry = state.files.get((repo, file))
            if entry is None:
                self.error(404, "EntryNotFound", "Entry not found")
            return entry

        def hub(self, path):
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
                repo, revision = "/".join(parts[2:4]), "/".join(parts[5:])
                if self.repo_entry(repo, revision, next((f for r, f in state.files if r == repo), "")) is None:
                    return
                siblings = [{"rfilename": f, "size": e["size"], "blobId": e["sha256"][:40],
                             "lfs": {"sha256": e["sha256"], "size": e["size"], "pointerSize": 134}}
                            for (r, f), e in state.files.items() if r == repo]
                body = json.dumps({"id": repo, "sha": state.commit, "siblings": siblings}).encode()
                self.answer(200, {"Content-Type": "application/json"}, body)
                return
            if len(parts) < 5 or parts[2] != "resolve":
                self.error(404, "EntryNotFound", "not a resolve URL")
                return
            repo, revision, file = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            if repo in state.renames:
                self.answer(307, {"Location": f"/{state.renames[repo]}/resolve/{parts[3]}/{file}"})
                return
            entry = self.repo_entry(repo, revision, file)
            if entry is None:
                return
            self.answer(302, {
                "Location": f"{state.cdn}/blobs/{entry['sha256']}",
                "X-Repo-Commit": state.commit,
                "X-Linked-Etag": f'"{entry["sha256"]}"',
                "X-Linked-Size": str(entry["size"]),
                "ETag": f'"{entry["sha256"][:40]}"',
            })

        def blob(self, path):
            name = path.rsplit("/", 1)[-1]
            file = state.blobs.get(name)
            if file is None:
                self.answer(404)
                return
            size = os.path.getsize(file)
            start, status, headers = 0, 200, {}
            header = self.headers.get("Range")
            if header and header.startswith("bytes=") and header.endswith("-"):
                start = int(header[6:-1])
                if start >= size:
                    self.answer(416, {"Content-Range": f"bytes */{size}"})
                    return
                status, headers = 206, {"Content-Range": f"bytes {start}-{size - 1}/{size}"}
            cut = None
            with state.lock:
                if state.cut_after is not None and status == 200:
                    cut, state.cut_after = state.cut_after, None
            self.send_response(status)
            for k, v in {**CORS, **headers, "Content-Type": "application/octet-stream",
                         "Content-Length": str(size - start), "ETag": f'"{name}"'}.items():
                self.send_header(k, v)
            self.end_headers()
            if self.command == "HEAD":
                return
            middle = size // 2
            with open(file, "rb") as f:
                f.seek(start)
                at = start
                while at < size:
                    chunk = f.read(min(1 << 20, size - at))
                    if state.corrupt and at <= middle < at + len(chunk):
                        chunk = bytearray(chunk)
                        chunk[middle - at] ^= 0xFF
                    if cut is not None and at + len(chunk) > cut:
                        self.wfile.write(chunk[: max(0, cut - at)])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(chunk)
                    at += len(chunk)

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", action="append", default=[], metavar="REPO[:FILE]=PATH",
                   help="serve PATH as FILE (default model.safetensors) of repository REPO")
    p.add_argument("--corrupt", action="store_true")
    p.add_argument("--cut-after", type=int)
    p.add_argument("--token")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    p.add_argument("--log")
    args = p.parse_args()
    state = State(args)
    cdn = ThreadingHTTPServer(("127.0.0.1", 0), handler(state, "cdn"))
    hub = ThreadingHTTPServer(("127.0.0.1", 0), handler(state, "hub"))
    state.cdn = f"http://127.0.0.1:{cdn.server_address[1]}"
    for server in (cdn, hub):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"hub": f"http://127.0.0.1:{hub.server_address[1]}", "cdn": state.cdn}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
