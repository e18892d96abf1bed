"""End-to-end: the metrics and logs of real exports. A run with a good cost-based group, a good
id-list group, a group of unknown type, one injected retriable failure and one message the
broker refuses for good (TOPIC_AUTHORIZATION_FAILED, so it is dead-lettered) must leave numbers
in the metrics file that match what happened, pass `promtool check metrics`, and together with
a run against a broker that is down must contain every metric name the alerts and the Grafana
dashboard use. Logs: JSON mode writes one object per line with run_id/group_id/slot; no secret
ever appears in the output, not even in the errors of unreachable backends."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from kafka_peer import MockCluster  # noqa: E402

DOMAIN = "5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41"
ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "user-export.json"
SERIES = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
METRIC_NAME = re.compile(r'\b(?:users_export_[a-z0-9_]*[a-z0-9]|export_to_dlq_total)\b')

SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "s3-secret-Vq7rT2xLw9",
    "USER_EXPORT_ADMIN_TOKEN": "admin-token-Kd83jfQ1",
    "USER_EXPORT_HASH_KEY": "hash-key-Pz52mBn7",
    "USER_EXPORT_KAFKA_SASL_PASSWORD": "sasl-password-Jm61tYe3",
}
DB_PASSWORD = "db-password-Hw4sX9c2"


def parse_metrics(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SERIES.match(line)
        assert m, f"unparsable sample line {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples


def value(samples, name, /, **labels):
    """The value of one series; fails when it does not exist."""
    key = (name, frozenset(labels.items()))
    assert key in samples, f"no series {name}{labels}; have " + ", ".join(
        f"{n}{dict(l)}" for n, l in samples if n == name)
    return samples[key]


def total(samples, name):
    """Sum over every series of `name`."""
    return sum(v for (n, _), v in samples.items() if n == name)


def promtool_check_metrics(path):
    with open(path, "rb") as f:
        return subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True,
                              text=True, timeout=120)


def alert_expressions(text):
    """The PromQL of every `expr:` in a rules file (one-line or `|` block)."""
    exprs, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r'^(\s*)expr:\s*(.*)$', lines[i])
        i += 1
        if not m:
            continue
        if m.group(2) not in ("|", ">", "|-", ">-"):
            exprs.append(m.group(2))
            continue
        indent, block = len(m.group(1)), []
        while i < len(lines) and (not lines[i].strip() or
                                  len(lines[i]) - len(lines[i].lstrip()) > indent):
            block.append(lines[i])
            i += 1
        exprs.append("\n".join(block))
    return exprs


def dashboard_expressions(dashboard):
    """Every `expr` and templating query of a Grafana dashboard."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("expr", "definition") and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(dashboard)
    return found


class ObservabilityTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(harness.new_temp_dir())
        self.cluster = None

    def tearDown(self):
        if self.cluster is not None:
            self.cluster.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def make_config(self, name, kafka=True, log='level = "info"'):
        """A directory with a config: SQLite, file store, and the mock cluster or a JSON-lines
        file as the message sink."""
        d = self.tmp / name
        d.mkdir()
        sink = (f'[kafka]\nbootstrap = "{self.cluster.bootstrap}"\n'
                "circuit_failure_threshold = 1\ncircuit_cool_down_ms = 60000\n"
                # One message per produce request, so an injected request error hits exactly
                # one message.
                '[kafka.properties]\n"batch.num.messages" = "1"\n'
                if kafka else "")
        config = d / "user-export.toml"
        config.write_text(f"""
[export]
domain_id = "{DOMAIN}"
staging_dir = "{d}/staging"

[database]
url = "sqlite://{d}/db.sqlite"

[store]
url = "file://{d}/objects"

[messages]
file = "{d}/messages.jsonl"
delivery_timeout_ms = 3000

{sink}
[retry]
max_attempts = 3
initial_backoff_ms = 20

[log]
{log}
""")
        return d, config

    def seed(self, config, users, groups, types):
        harness.run(["seed", "--config", str(config), "--users", str(users), "--groups",
                     str(groups)])
        db = sqlite3.connect(config.parent / "db.sqlite")
        ids = [r[0] for r in db.execute("SELECT id FROM matching_groups ORDER BY id")]
        self.assertEqual(len(ids), len(types))
        for gid, gtype in zip(ids, types):
            db.execute("UPDATE matching_groups SET group_type = ? WHERE id = ?", (gtype, gid))
        db.commit()
        counts = dict(db.execute("SELECT group_id, COUNT(*) FROM users GROUP BY group_id"))
        db.close()
        return [(gid, gtype, counts.get(gid, 0)) for gid, gtype in zip(ids, types)]

    def test_metrics_match_the_run_pass_promtool_and_cover_alerts_and_dashboard(self):
        self.cluster = MockCluster()
        d, config = self.make_config("run")
        groups = self.seed(config, 300, 3, ["COST_BASED", "NON_COST_BASED", "NO_SUCH_TYPE"])
        (good_file, _, file_users), (good_ids, _, id_users), (bad, _, _) = groups
        self.assertGreater(file_users, 0)
        self.assertGreater(id_users, 0)
        version = harness.run(["--version"]).stdout.split()[-1]

        # The first message produced is refused for good -> dead-lettered; the first staged file
        # fails once (retriable) -> one retry; the unknown type fails the group.
        self.cluster.command("error Produce TOPIC_AUTHORIZATION_FAILED 1")
        metrics_file = d / "metrics.prom"
        started = time.time()
        proc = harness.export(config, "--metrics-file", str(metrics_file), check=False,
                              env={"USER_EXPORT_FAULT": "after_stage:fail@1"})
        finished = time.time()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("1 of 3 groups failed", proc.stderr)

        check = promtool_check_metrics(metrics_file)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        s = parse_metrics(metrics_file.read_text())

        # Rows: every user of a good group was exported, committed and marked.
        for gid, users in ((good_file, file_users), (good_ids, id_users)):
            self.assertEqual(value(s, "users_export_batch_processed_total", group_id=gid), users)
            self.assertEqual(value(s, "users_export_rows_marked_total", group_id=gid), users)
        self.assertEqual(value(s, "users_export_csv_processed_total", group_id=good_file),
                         file_users)
        self.assertEqual(total(s, "users_export_batch_processed_total"), file_users + id_users)
        with sqlite3.connect(d / "db.sqlite") as db:
            marked = db.execute("SELECT COUNT(*) FROM users WHERE sent_to_matching_service"
                                ).fetchone()[0]
            published = db.execute("SELECT COUNT(*) FROM export_outbox WHERE state = 'published'"
                                   ).fetchone()[0]
            dead = db.execute("SELECT COUNT(*) FROM export_outbox WHERE state = 'dead_lettered'"
                              ).fetchone()[0]
        self.assertEqual(total(s, "users_export_rows_marked_total"), marked)

        # Bytes: the uploaded file's size.
        objects = list((d / "objects").rglob("*.csv.gz"))
        self.assertEqual(len(objects), 1)
        self.assertEqual(value(s, "users_export_bytes_uploaded_total", group_id=good_file),
                         objects[0].stat().st_size)

        # Failures: exactly the group of unknown type, once; one failed attempt, one retry.
        self.assertEqual(value(s, "users_export_failures_total", group_id=bad,
                               group_type="NO_SUCH_TYPE"), 1)
        self.assertEqual(total(s, "users_export_failures_total"), 1)
        self.assertEqual(value(s, "users_export_invalid_group_type_total", group_id=bad,
                               group_type="NO_SUCH_TYPE"), 1)
        self.assertEqual(total(s, "users_export_batch_failures_total"), 1)
        self.assertEqual(total(s, "users_export_retries_total"), 1)

        # Delivery: the injected error fails one produce request. librdkafka may put both
        # groups' messages (on different partitions of one broker) into that request, so one or
        # two messages are dead-lettered; the metric, the outbox and the DLQ topic must agree.
        self.assertIn(dead, (1, 2))
        dlq = self.cluster.consume("flairbit-dlq")
        self.assertEqual(len(dlq), dead)
        for message in dlq:
            self.assertEqual(value(s, "export_to_dlq_total", key=message["key"],
                                   topic="flairbit-dlq"), 1)
        self.assertEqual(total(s, "export_to_dlq_total"), dead)
        self.assertEqual(total(s, "users_export_messages_published_total"), published)
        self.assertEqual(value(s, "users_export_outbox_pending"), 0)
        self.assertEqual(value(s, "users_export_circuit_breaker_state", name="publish"), 0)

        # Process gauges, durations, last success.
        self.assertEqual(value(s, "users_export_build_info", version=version), 1)
        self.assertEqual(value(s, "users_export_scheduler_paused"), 0)
        for gid, gtype, _ in groups:
            self.assertEqual(value(s, "users_export_duration_seconds_count", group_id=gid,
                                   group_type=gtype), 1)
        for gid in (good_file, good_ids):
            ts = value(s, "users_export_last_success_timestamp_seconds", group_id=gid)
            self.assertGreaterEqual(ts, started - 1)
            self.assertLessEqual(ts, finished + 1)
        self.assertNotIn(("users_export_last_success_timestamp_seconds",
                          frozenset({("group_id", bad)})), s)

        # A second run with the broker down: retriable delivery failures, the circuit opens,
        # the message stays pending.
        d2, config2 = self.make_config("down")
        self.seed(config2, 20, 1, ["COST_BASED"])
        self.cluster.command("all_down")
        metrics_down = d2 / "metrics.prom"
        proc = harness.export(config2, "--metrics-file", str(metrics_down), check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        check = promtool_check_metrics(metrics_down)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        s2 = parse_metrics(metrics_down.read_text())
        self.assertGreaterEqual(total(s2, "users_export_publish_failures_total"), 1)
        self.assertEqual(value(s2, "users_export_circuit_breaker_state", name="publish"), 1)
        self.assertEqual(value(s2, "users_export_outbox_pending"), 1)

        # Every metric name the alerts and the dashboard use exists in real output.
        present = {name for name, _ in s} | {name for name, _ in s2}
        used = set()
        for expr in alert_expressions(ALERTS.read_text()):
            used |= set(METRIC_NAME.findall(expr))
        self.assertGreaterEqual(len(used), 7)
        dash = set()
        for expr in dashboard_expressions(json.loads(DASHBOARD.read_text())):
            dash |= set(METRIC_NAME.findall(expr))
        self.assertGreaterEqual(len(dash), 15)
        self.assertEqual(sorted((used | dash) - present), [],
                         "metric names used by alerts.yml or the dashboard but never exposed")

    def test_json_logs_carry_run_fields_and_no_secret_is_logged(self):
        d, config = self.make_config("logs", kafka=False, log='level = "debug"\njson = true')
        groups = self.seed(config, 120, 2, ["COST_BASED", "NON_COST_BASED"])
        env = dict(SECRETS, AWS_ACCESS_KEY_ID="exporter")
        proc = harness.export(config, env=env)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        self.assertTrue(lines)
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        for r in records:
            self.assertTrue(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["ts"]), r)
            self.assertIn(r["level"], ("trace", "debug", "info", "warning", "error", "critical"))
            self.assertIsInstance(r["msg"], str)
        finished = [r for r in records if r["msg"] == "group export finished"]
        self.assertEqual(sorted(r["group_id"] for r in finished), sorted(g for g, _, _ in groups))
        run_ids = set()
        for r in finished:
            self.assertRegex(r["run_id"], r"^[0-9a-f-]{36}$")
            self.assertRegex(r["slot"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(r["rows"], dict((g, n) for g, _, n in groups)[r["group_id"]])
            run_ids.add(r["run_id"])
        with sqlite3.connect(d / "db.sqlite") as db:
            stored = {r[0] for r in db.execute("SELECT run_id FROM export_outbox")}
        self.assertEqual(run_ids, stored)
        steps = [r for r in records if r["msg"] in ("staged and uploaded", "staged id-list messages")]
        self.assertEqual(len(steps), 2)
        for r in steps:
            self.assertIn(r["run_id"], run_ids)
            self.assertIn("group_id", r)
            self.assertIn("slot", r)

        self.assertNoSecret(proc.stdout + proc.stderr)

    def test_secrets_never_appear_in_output_even_when_backends_fail(self):
        d, config = self.make_config("secrets", kafka=False, log='level = "trace"')
        self.seed(config, 30, 1, ["COST_BASED"])
        env = dict(SECRETS, AWS_ACCESS_KEY_ID="exporter")
        outputs = []
        # A database that refuses the connection: the error names the URL without its password.
        db_url = f"postgresql://exporter:{DB_PASSWORD}@127.0.0.1:1/users"
        proc = harness.export(config, env=dict(env, USER_EXPORT_DATABASE_URL=db_url),
                              check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("cannot connect to PostgreSQL", proc.stderr)
        outputs.append(proc.stdout + proc.stderr)
        # An object store that cannot be reached: S3 errors are logged and retried.
        s3_env = dict(env, USER_EXPORT_STORE_URL="s3://exports/users",
                      USER_EXPORT_S3_ENDPOINT="http://127.0.0.1:1",
                      USER_EXPORT_S3_REGION="us-east-1")
        proc = harness.export(config, "--metrics-file", str(d / "metrics.prom"), env=s3_env,
                              check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("S3 request failed, retrying", proc.stderr)
        outputs.append(proc.stdout + proc.stderr)
        # check-config prints the effective configuration, secrets redacted.
        proc = harness.run(["check-config", str(config)],
                           env=dict(s3_env, USER_EXPORT_DATABASE_URL=db_url), check=False)
        outputs.append(proc.stdout + proc.stderr)
        for out in outputs:
            if os.environ.get("UE_SHOW_OUTPUT"):
                print(out)
            self.assertNoSecret(out)

    def assertNoSecret(self, text):
        for name, secret in list(SECRETS.items()) + [("database password", DB_PASSWORD)]:
            self.assertNotIn(secret, text, f"{name} leaked into the output:\n{text}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
