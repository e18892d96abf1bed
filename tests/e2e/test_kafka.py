"""End-to-end: `user-export export` publishing to a Kafka-protocol broker (librdkafka's mock
cluster), read back by a real consumer; broker outages, non-retriable errors, large id lists."""
import json
import os
import shutil
import sqlite3
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import read_csv_gz  # noqa: E402
from kafka_peer import MockCluster  # noqa: E402

DOMAIN = "5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41"


class KafkaExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(harness.new_temp_dir())
        self.cluster = MockCluster()
        self.db = self.tmp / "db.sqlite"
        self.metrics = self.tmp / "metrics.prom"
        self.write_config()

    def tearDown(self):
        self.cluster.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_config(self, extra=""):
        self.config = self.tmp / "user-export.toml"
        self.config.write_text(f"""
[export]
domain_id = "{DOMAIN}"
staging_dir = "{self.tmp}/staging"

[database]
url = "sqlite://{self.db}"

[store]
url = "file://{self.tmp}/objects"

[messages]
delivery_timeout_ms = 3000

[kafka]
bootstrap = "{self.cluster.bootstrap}"
circuit_failure_threshold = 3
circuit_cool_down_ms = 500

[retry]
max_attempts = 2
initial_backoff_ms = 50
{extra}
""")

    def cli(self, *args, check=True):
        return harness.run([*args, "--config", str(self.config)], check=check)

    def export(self, check=True):
        return harness.export(self.config, "--metrics-file", str(self.metrics), check=check)

    def unsent(self):
        with sqlite3.connect(self.db) as db:
            return db.execute(
                "SELECT COUNT(*) FROM users WHERE NOT sent_to_matching_service").fetchone()[0]

    def outbox(self, state):
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT COUNT(*) FROM export_outbox WHERE state = ?",
                              (state,)).fetchone()[0]

    def test_messages_arrive_with_key_headers_and_payload(self):
        self.cli("seed", "--users", "400", "--groups", "4")
        self.export()
        msgs = self.cluster.consume("flairbit-users")
        self.assertEqual(len(msgs), 4)
        for m in msgs:
            v = json.loads(m["value"])
            self.assertEqual(m["key"], v["groupId"])
            self.assertEqual(m["headers"]["runId"], v["runId"])
            self.assertEqual(m["headers"]["schemaVersion"], v["schemaVersion"])
            self.assertIn(m["headers"]["contentType"], ("application/gzip", "application/json"))
            if v["payload"] == "USERS_EXPORT_FILE":
                _, rows = read_csv_gz(v["url"][len("file://"):])
                self.assertEqual(len(rows), v["rowCount"])
            else:
                self.assertEqual(len(v["refIds"]), 100)
        self.assertEqual(self.unsent(), 0)
        self.assertEqual(self.outbox("pending"), 0)

    def test_brokers_down_leave_messages_pending_until_they_are_back(self):
        self.write_config("[kafka.circuit]\n".replace("[kafka.circuit]\n", ""))
        self.config.write_text(self.config.read_text().replace(
            "circuit_failure_threshold = 3", "circuit_failure_threshold = 1"))
        self.cli("seed", "--users", "200", "--groups", "2")
        self.cluster.command("all_down")
        proc = self.export(check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("still in the outbox", proc.stderr)
        self.assertEqual(self.unsent(), 0, "files are durable, so users are marked")
        self.assertEqual(self.outbox("pending"), 2)
        metrics = self.metrics.read_text()
        self.assertIn('users_export_circuit_breaker_state{name="publish"} 1', metrics)
        self.cluster.command("all_up")
        relay = self.cli("relay")
        self.assertIn("still pending 0", relay.stdout)
        msgs = self.cluster.consume("flairbit-users")
        run_ids = {json.loads(m["value"])["runId"] for m in msgs}
        self.assertEqual(len(run_ids), 2, "each run's message arrives (at least once)")
        self.assertEqual(self.outbox("pending"), 0)

    def test_non_retriable_error_sends_the_message_to_the_dlq_with_reasons(self):
        self.cli("seed", "--users", "50", "--groups", "1")
        self.cluster.command("error Produce TOPIC_AUTHORIZATION_FAILED 1")
        proc = self.export(check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        dlq = self.cluster.consume("flairbit-dlq")
        self.assertEqual(len(dlq), 1)
        h = dlq[0]["headers"]
        self.assertEqual(h["dlt-original-topic"], "flairbit-users")
        self.assertEqual(h["dlt-exception-code"], "TOPIC_AUTHORIZATION_FAILED")
        self.assertTrue(h["dlt-exception-message"])
        self.assertEqual(h["dlt-attempts"], "1")
        self.assertIn("dlt-timestamp", h)
        self.assertEqual(h["runId"], json.loads(dlq[0]["value"])["runId"])
        self.assertEqual(self.outbox("dead_lettered"), 1)
        group = json.loads(dlq[0]["value"])["groupId"]
        self.assertIn(f'export_to_dlq_total{{key="{group}",topic="flairbit-dlq"}} 1',
                      self.metrics.read_text())

    def test_a_million_ref_ids_are_split_under_the_limit_and_cover_the_group(self):
        self.cli("seed", "--users", "1000000", "--groups", "1")
        with sqlite3.connect(self.db) as db:
            db.execute("UPDATE matching_groups SET group_type = 'NON_COST_BASED'")
            db.commit()
            expected = {r for (r,) in db.execute("SELECT ref_id FROM users")}
        self.export()
        # Every part was delivered; the outbox keeps each payload exactly as it was produced.
        with sqlite3.connect(self.db) as db:
            rows = db.execute("SELECT payload, state FROM export_outbox ORDER BY seq").fetchall()
        self.assertGreater(len(rows), 1)
        seen = []
        for payload, state in rows:
            self.assertEqual(state, "published")
            self.assertLessEqual(len(payload.encode()), 1_000_000)
            v = json.loads(payload)
            self.assertEqual(v["parts"], len(rows))
            seen += v["refIds"]
        self.assertEqual(len(seen), len(expected))
        self.assertEqual(set(seen), expected)
        # The broker has them too (the mock cluster keeps only the newest ~5 MB of a partition,
        # so the check is on the messages it still holds).
        msgs = self.cluster.consume("flairbit-users", idle_ms=2000, max_wait_ms=60000)
        self.assertGreater(len(msgs), 0)
        produced = {json.loads(p)["part"]: p for p, _ in rows}
        for m in msgs:
            v = json.loads(m["value"])
            self.assertEqual(m["value"], produced[v["part"]])

if __name__ == "__main__":
    unittest.main(verbosity=2)
