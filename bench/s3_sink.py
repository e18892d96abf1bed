#!/usr/bin/env python3
"""An S3 endpoint that keeps nothing but sizes, for scripts/bench-s3-export.sh.

It answers the requests `user-export export` sends (bucket HEAD/PUT, PutObject, the multipart
calls, HEAD of an object, the listings of unfinished uploads) and reads every body to the end,
but stores no byte and checks no signature. Timed beside the S3 test server, it shows what the
exporter's own S3 path costs, apart from the work a real server does on machines of its own
(the test server hashes and writes every part and rewrites the object on completion, on the
same cores as the exporter and PostgreSQL).

Usage: s3_sink.py PORT_FILE   (listens on a free loopback port, written to PORT_FILE)
GET /_sizes answers "KEY SIZE" lines for the objects completed so far.
"""
import os
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CHUNK = 1 << 20


class Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.parts = {}  # upload id -> {part number: size}
        self.sizes = {}  # "bucket/key" -> size of the completed object


SINK = Sink()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and "Expect: 100-continue" is answered

    def log_message(self, *args):
        pass

    def target(self):
        url = urlsplit(self.path)
        return unquote(url.path).lstrip("/"), parse_qs(url.query, keep_blank_values=True)

    def drain(self):
        left = int(self.headers.get("Content-Length") or 0)
        read = 0
        while left > 0:
            chunk = self.rfile.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            read += len(chunk)
        return read

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.command != "HEAD" or not any(n == "Content-Length" for n, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def xml(self, body):
        self.answer(200, ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(),
                    [("Content-Type", "application/xml")])

    def do_HEAD(self):
        path, _ = self.target()
        if "/" not in path:
            return self.answer(200)
        with SINK.lock:
            size = SINK.sizes.get(path)
        if size is None:
            return self.answer(404)
        self.answer(200, headers=[("Content-Length", str(size)), ("ETag", '"sink"')])

    def do_PUT(self):
        path, query = self.target()
        read = self.drain()
        if "/" not in path:
            return self.answer(200)
        if "partNumber" in query:
            with SINK.lock:
                SINK.parts.setdefault(query["uploadId"][0], {})[int(query["partNumber"][0])] = read
        else:
            with SINK.lock:
                SINK.sizes[path] = read
        self.answer(200, headers=[("ETag", '"sink"')])

    def do_POST(self):
        path, query = self.target()
        self.drain()
        bucket, _, key = path.partition("/")
        if "uploads" in query:
            upload_id = uuid.uuid4().hex
            with SINK.lock:
                SINK.parts[upload_id] = {}
            return self.xml(f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket>"
                            f"<Key>{key}</Key><UploadId>{upload_id}</UploadId>"
                            "</InitiateMultipartUploadResult>")
        with SINK.lock:
            SINK.sizes[path] = sum(SINK.parts.pop(query["uploadId"][0], {}).values())
        self.xml(f"<CompleteMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                 '<ETag>"sink-1"</ETag></CompleteMultipartUploadResult>')

    def do_DELETE(self):
        path, query = self.target()
        self.drain()
        with SINK.lock:
            if "uploadId" in query:
                SINK.parts.pop(query["uploadId"][0], None)
            else:
                SINK.sizes.pop(path, None)
        self.answer(204)

    def do_GET(self):
        path, query = self.target()
        if path == "_sizes":
            with SINK.lock:
                lines = "".join(f"{k} {v}\n" for k, v in sorted(SINK.sizes.items()))
            return self.answer(200, lines.encode())
        if "uploads" in query:
            return self.xml("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                            "</ListMultipartUploadsResult>")
        self.xml("<ListBucketResult><IsTruncated>false</IsTruncated><KeyCount>0</KeyCount>"
                 "</ListBucketResult>")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
