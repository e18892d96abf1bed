"""The real components for end-to-end tests: a private PostgreSQL database (psql), a private S3
bucket or a private s3rver instance (read back with the curl CLI's own SigV4 signing) and a
private Kafka mock cluster. Every helper talks to the real peer; nothing is faked."""
import csv
import io
import json
import os
import re
import signal
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
S3_PEER = ROOT / "tests" / "peers" / "s3" / "server.js"
S3_ACCESS_KEY = "S3RVER"
S3_SECRET_KEY = "S3RVER"


def services_missing(*names):
    """The UE_TEST_* variables of `names` (pg, s3, kafka) that are unset, as a message; empty
    when everything is there. The caller skips, or fails when UE_REQUIRE_SERVICES=1."""
    need = {"pg": ["UE_TEST_PG_URL"],
            "s3": ["UE_TEST_S3_ENDPOINT", "UE_TEST_S3_ACCESS_KEY", "UE_TEST_S3_SECRET_KEY"],
            "kafka": ["UE_KAFKA_MOCK_BIN", "UE_KAFKA_CONSUME_BIN"]}
    missing = [v for n in names for v in need[n] if not os.environ.get(v)]
    return ", ".join(missing)


# --- PostgreSQL ------------------------------------------------------------------------------

def psql(url, sql, timeout=300):
    """Runs sql with psql against url; returns the result rows as lists of strings (CSV mode,
    NULL is the empty string)."""
    proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-t", url,
                           "-c", sql], capture_output=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"psql failed ({proc.returncode}): {proc.stderr.decode()}\n"
                             f"SQL: {sql}")
    # Decoded by hand: text mode would turn a \r\n inside a value into \n.
    return list(csv.reader(io.StringIO(proc.stdout.decode("utf-8"), newline=""), strict=True))


def scalar(url, sql):
    rows = psql(url, sql)
    return rows[0][0]


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class PrivateDatabase:
    """A fresh database on the server of base_url, dropped by close()."""

    def __init__(self, base_url, prefix="ue_e2e"):
        self.base_url = base_url
        self.name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        psql(base_url, f"CREATE DATABASE {self.name}")
        self.url = with_database(base_url, self.name)

    def close(self):
        try:
            psql(self.base_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except AssertionError:
            pass


# --- S3 --------------------------------------------------------------------------------------

def new_bucket_name(prefix="ue-e2e"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def s3_url(endpoint, bucket, key=""):
    quoted = urllib.parse.quote(key, safe="/-_.~")
    return f"{endpoint}/{bucket}/{quoted}" if key else f"{endpoint}/{bucket}"


def s3_curl(endpoint, access, secret, bucket, key="", query="", out=None, timeout=120):
    """A signed GET with the curl CLI; returns (status, body bytes)."""
    url = s3_url(endpoint, bucket, key) + query
    args = ["curl", "-s", "--max-time", str(timeout), "--aws-sigv4", "aws:amz:us-east-1:s3",
            "--user", f"{access}:{secret}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            "-w", "\n%{http_code}", url]
    proc = subprocess.run(args, capture_output=True, timeout=timeout + 10)
    body, _, status = proc.stdout.rpartition(b"\n")
    return int(status or 0), body


def s3_get(endpoint, access, secret, bucket, key):
    status, body = s3_curl(endpoint, access, secret, bucket, key)
    if status != 200:
        raise AssertionError(f"GET s3://{bucket}/{key} answered {status}: {body[:300]!r}")
    return body


def s3_list(endpoint, access, secret, bucket):
    """Every object key of the bucket (ListObjectsV2, paginated); [] when the bucket is absent."""
    return list(s3_list_etags(endpoint, access, secret, bucket))


def s3_list_etags(endpoint, access, secret, bucket):
    """{key: (etag, size)} of every object of the bucket; {} when the bucket is absent."""
    found, token = {}, None
    while True:
        query = "?list-type=2" + (
            "&continuation-token=" + urllib.parse.quote(token, safe="") if token else "")
        status, body = s3_curl(endpoint, access, secret, bucket, query=query)
        if status == 404:
            return {}
        if status != 200:
            raise AssertionError(f"listing bucket {bucket} answered {status}: {body[:300]!r}")
        text = body.decode()
        for item in re.findall(r"<Contents>(.*?)</Contents>", text, re.S):
            key = html_unescape(re.search(r"<Key>(.*?)</Key>", item, re.S).group(1))
            etag = re.search(r"<ETag>(.*?)</ETag>", item, re.S)
            size = re.search(r"<Size>(\d+)</Size>", item)
            found[key] = (etag.group(1) if etag else "", int(size.group(1)) if size else -1)
        m = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", text)
        if "<IsTruncated>true</IsTruncated>" not in text or not m:
            return found
        token = m.group(1)


def html_unescape(text):
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


class PrivateS3:
    """A private s3rver (tests/peers/s3/server.js) with its own data directory, so a test can
    stop it, restart it on the same data, inject faults and look for unfinished uploads."""

    def __init__(self, directory, *fault_args, port=0):
        self.dir = Path(directory)
        self.data = self.dir / "s3-data"
        self.access, self.secret = S3_ACCESS_KEY, S3_SECRET_KEY
        self.proc = None
        self.port = port
        self.start(*fault_args)

    def start(self, *fault_args):
        self.dir.mkdir(parents=True, exist_ok=True)
        port_file = self.dir / "s3.port"
        port_file.unlink(missing_ok=True)
        self.log = open(self.dir / "s3.log", "ab")
        args = ["node", str(S3_PEER), "--dir", str(self.data), "--port", str(self.port),
                "--port-file", str(port_file), "--request-log", str(self.dir / "requests.log"),
                *fault_args]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if port_file.exists() and port_file.read_text().strip():
                self.port = int(port_file.read_text().strip())
                break
            if self.proc.poll() is not None:
                raise RuntimeError(f"s3rver exited: {(self.dir / 's3.log').read_text()}")
            time.sleep(0.1)
        else:
            raise RuntimeError("s3rver did not start within 60 s")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def restart(self, *fault_args):
        """Stops the server (if still running) and starts it again on the same port and data."""
        self.stop()
        self.start(*fault_args)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def requests(self):
        path = self.dir / "requests.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def unfinished_uploads(self, bucket):
        """Multipart uploads begun and never completed: s3rver keeps each one as a directory of
        parts under the bucket's uploads resource until completion."""
        root = self.data / bucket
        if not root.exists():
            return []
        found = []
        for d in root.rglob("*"):
            if d.is_dir() and "uploads" in d.name:
                found += [str(u.relative_to(root)) for u in d.iterdir() if u.is_dir()]
        return found


# --- messages --------------------------------------------------------------------------------

def consume(bootstrap, topic, idle_ms=1500, max_wait_ms=30000):
    """Every message of `topic` from the beginning, as dicts (key, headers, value, partition,
    offset)."""
    binary = os.environ["UE_KAFKA_CONSUME_BIN"]
    out = subprocess.run([binary, "--bootstrap", bootstrap, "--topic", topic,
                          "--idle-ms", str(idle_ms), "--max-wait-ms", str(max_wait_ms)],
                         capture_output=True, text=True, check=True,
                         timeout=max_wait_ms / 1000 + 60)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def stack_config(path, *, domain, database_url, bucket=None, s3_endpoint=None, staging,
                 bootstrap=None, messages_file=None, s3_extra="", extra=""):
    """Writes a user-export TOML config for the real components; returns its path."""
    store = (f'url = "s3://{bucket}/exports"\n\n[store.s3]\nendpoint = "{s3_endpoint}"\n{s3_extra}\n'
             if bucket else f'url = "file://{Path(staging).parent}/objects"\n')
    kafka = f'\n[kafka]\nbootstrap = "{bootstrap}"\n' if bootstrap else ""
    messages = f'file = "{messages_file}"\n' if messages_file else ""
    text = f"""
[export]
domain_id = "{domain}"
staging_dir = "{staging}"

[database]
url = "{database_url}"

[store]
{store}
[messages]
{messages}delivery_timeout_ms = 5000
{kafka}
[retry]
max_attempts = 2
initial_backoff_ms = 50
{extra}
"""
    Path(path).write_text(text)
    return Path(path)


def s3_env(access=S3_ACCESS_KEY, secret=S3_SECRET_KEY):
    return {"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret}


def process_state(pid):
    """The state letter of a process from /proc (T: stopped), or "" once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""
