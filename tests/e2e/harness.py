"""Shared helpers for the end-to-end tests: run the real binary, read back what it wrote."""
import csv
import gzip
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

BINARY = os.environ.get("USER_EXPORT_BIN", "")

# The default CSV columns and the SQL that reads the same values from the database.
COLUMNS = ["ref_id", "username", "email", "phone", "created_at", "display_name", "gender",
           "date_of_birth", "city", "bio", "interests"]
SOURCE_SQL = """
SELECT u.ref_id, u.username, u.email, u.phone, u.created_at, p.display_name, p.gender,
       p.date_of_birth, p.city, p.bio, p.interests
FROM users u LEFT JOIN profiles p ON p.user_id = u.id
WHERE u.ref_id = ?"""


def run(args, env=None, check=True):
    """Runs user-export with args; returns the CompletedProcess (text mode)."""
    full_env = dict(os.environ)
    for key in list(full_env):
        if key.startswith("USER_EXPORT_") and key != "USER_EXPORT_BIN":
            del full_env[key]
    full_env.update(env or {})
    proc = subprocess.run([BINARY] + args, capture_output=True, text=True, env=full_env,
                          timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"user-export {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


class Demo:
    """A demo directory: database, objects, messages."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.config = self.dir / "user-export.toml"
        self.db_path = self.dir / "user-export.db"
        self.messages_path = self.dir / "messages.jsonl"

    def db(self):
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = None
        return conn

    def messages(self):
        if not self.messages_path.exists():
            return []
        with open(self.messages_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def objects(self):
        return sorted(p for p in (self.dir / "objects").rglob("*.csv.gz"))

    def export(self, *extra, env=None, check=True):
        return export(self.config, *extra, env=env, check=check)


def export(config, *extra, env=None, check=True):
    """Runs `user-export export --config config`, starting it in a new second: a one-shot
    export's slot is the current second and (group, slot) is the idempotency key, so a second
    export within the same second is a deliberate no-op."""
    time.sleep(1.0 - (time.time() % 1.0) + 0.01)
    return run(["export", "--config", str(config), *extra], env=env, check=check)


def read_csv_gz(path):
    """Parses a gzip CSV strictly; returns (header, rows)."""
    raw = Path(path).read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = list(reader)
    return rows[0], rows[1:]


def sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def new_temp_dir():
    return tempfile.mkdtemp(prefix="user-export-e2e-")
