"""A database of either backend for end-to-end tests: a SQLite file or a private PostgreSQL
database, with a configuration that writes objects to a local directory and messages to a
JSON-lines file."""
import json
import os
import sqlite3
import uuid
from pathlib import Path

import harness
import stack


class Backend:
    """A database of one backend seeded with one id-list group."""

    def __init__(self, tmp, kind):
        self.tmp = Path(tmp)
        self.kind = kind
        self.domain = str(uuid.uuid4())
        self.private = None
        if kind == "sqlite":
            self.url = f"sqlite://{self.tmp}/export.db"
        else:
            self.private = stack.PrivateDatabase(os.environ["UE_TEST_PG_URL"], "ue_idlist")
            self.url = self.private.url
        self.messages = self.tmp / "messages.jsonl"

    def config(self, extra=""):
        return stack.stack_config(self.tmp / "user-export.toml", domain=self.domain,
                                  database_url=self.url, staging=self.tmp / "staging",
                                  messages_file=self.messages, extra=extra)

    def seed(self, users, groups=1, group_type="NON_COST_BASED"):
        """`groups` groups of `users` users in all, made `group_type` (None: the seed's own
        alternation of COST_BASED and NON_COST_BASED); returns the first group's id."""
        harness.run(["seed", "--config", str(self.config()), "--users", str(users),
                     "--groups", str(groups)])
        if group_type:
            self.sql(f"UPDATE matching_groups SET group_type = '{group_type}'")
        return self.query("SELECT id FROM matching_groups ORDER BY id")

    def sql(self, statement):
        if self.kind == "sqlite":
            with sqlite3.connect(self.tmp / "export.db") as db:
                db.execute(statement)
        else:
            stack.psql(self.url, statement)

    def query(self, statement):
        if self.kind == "sqlite":
            with sqlite3.connect(self.tmp / "export.db") as db:
                return str(db.execute(statement).fetchone()[0])
        return stack.scalar(self.url, statement)

    def count(self, statement):
        return int(self.query(statement))

    def read_messages(self):
        """The payloads of the delivered messages, in delivery order."""
        return [line["value"] for line in self.read_envelopes()]

    def read_envelopes(self):
        """The delivered messages as the JSON-lines sink wrote them (topic, key, headers,
        value), in delivery order."""
        if not self.messages.exists():
            return []
        with open(self.messages, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def close(self):
        if self.private:
            self.private.close()
