"""End-to-end: `user-export run`, the service, on PostgreSQL, S3 and a private Kafka mock
cluster: two instances export each group once per slot, a killed instance's run is taken over
once its lease expired, SIGTERM mid-run then a restart loses and duplicates nothing, SIGTERM
during a stalled S3 upload cancels it promptly, the consumer-lag back-pressure holds slots until
the downstream group commits, the admin HTTP API (tokens, pause/resume/trigger, /metrics), and
verify_after_slot counting a run whose message was never delivered."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import stack  # noqa: E402
from kafka_peer import MockCluster  # noqa: E402
from test_full_stack import SOURCE_SQL, parse_csv_gz  # noqa: E402

DOMAIN = "7d3e1c52-0a4b-4e8f-9c1d-2b6a5f4e3d21"
TOPIC = "flairbit-users"
TOKEN = "admin-token-for-tests"
MISSING = stack.services_missing("pg", "s3", "kafka")
DEADLINE = 90  # seconds any single wait may take on a loaded machine


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, predicate, timeout=DEADLINE, interval=0.3):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Instance:
    """One `user-export run` process with its own admin port and log file."""

    def __init__(self, test, name, env=None):
        self.name = name
        self.port = free_port()
        self.log_path = test.tmp / f"{name}.log"
        full_env = {**os.environ, **test.env, "USER_EXPORT_ADMIN_ADDR": f"127.0.0.1:{self.port}",
                    "USER_EXPORT_ADMIN_TOKEN": TOKEN, **(env or {})}
        if "USER_EXPORT_FAULT" not in (env or {}):
            full_env.pop("USER_EXPORT_FAULT", None)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [os.environ["USER_EXPORT_BIN"], "run", "--config", str(test.config_for(name))],
            stdout=self.log, stderr=subprocess.STDOUT, env=full_env)

    def text(self):
        return self.log_path.read_text(errors="replace")

    def request(self, method, path, token=TOKEN):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     data=b"" if method == "POST" else None)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers.get("Content-Type", "")
        except OSError:
            return 0, "", ""

    def metric(self, name):
        status, body, _ = self.request("GET", "/metrics")
        if status != 200:
            return None
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith(name + "{") or line.startswith(name + " "))

    def wait_ready(self):
        wait_until(f"{self.name} to serve /readyz",
                   lambda: self.proc.poll() is None and self.request("GET", "/readyz")[0] == 200
                   or self.proc.poll() is not None)
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.text()}")

    def stop(self, sig=signal.SIGTERM, timeout=DEADLINE):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        return self.proc.returncode


@unittest.skipIf(MISSING and os.environ.get("UE_REQUIRE_SERVICES") != "1",
                 f"services not configured: {MISSING}")
class ServiceTest(unittest.TestCase):
    def setUp(self):
        self.assertFalse(MISSING, f"UE_REQUIRE_SERVICES=1 but unset: {MISSING}")
        self.tmp = Path(harness.new_temp_dir())
        self.db = stack.PrivateDatabase(os.environ["UE_TEST_PG_URL"])
        self.cluster = MockCluster()
        self.endpoint = os.environ["UE_TEST_S3_ENDPOINT"]
        self.access = os.environ["UE_TEST_S3_ACCESS_KEY"]
        self.secret = os.environ["UE_TEST_S3_SECRET_KEY"]
        self.bucket = stack.new_bucket_name()
        self.env = stack.s3_env(self.access, self.secret)
        self.instances = []
        self.cron = "*/3 * * * * *"
        self.lease = 30
        self.shutdown_timeout = 5
        self.s3_extra = ""        # more [store.s3] keys
        self.schedule_extra = ""  # more [schedule] keys
        self.service_extra = ""   # more [service] keys
        self.more_tables = ""     # whole tables appended to the configuration

    def tearDown(self):
        for i in self.instances:
            if i.proc.poll() is None:
                i.stop(signal.SIGKILL)
        self.cluster.close()
        self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config_for(self, name):
        path = self.tmp / f"{name}.toml"
        path.write_text(f"""
[export]
domain_id = "{DOMAIN}"
staging_dir = "{self.tmp}/staging-{name}"
instance_id = "{name}"
lease_seconds = {self.lease}
max_parallel_groups = 2

[database]
url = "{self.db.url}"

[store]
url = "s3://{self.bucket}/exports"

[store.s3]
endpoint = "{self.endpoint}"
{self.s3_extra}

[messages]
delivery_timeout_ms = 5000

[kafka]
bootstrap = "{self.cluster.bootstrap}"

[retry]
max_attempts = 2
initial_backoff_ms = 50

[schedule]
cron = "{self.cron}"
time_zone = "UTC"
missed_slot_grace_seconds = 0
sweep_interval_seconds = 2
{self.schedule_extra}
[service]
shutdown_timeout_seconds = {self.shutdown_timeout}
{self.service_extra}
{self.more_tables}
""")
        return path

    def seed(self, users, groups, seed=1):
        harness.run(["seed", "--config",
                     str(self.config_for("seed")), "--users", str(users), "--groups",
                     str(groups), "--seed", str(seed)], env=self.env)

    def start(self, name, env=None):
        instance = Instance(self, name, env)
        self.instances.append(instance)
        return instance

    def sql(self, query):
        return stack.psql(self.db.url, query)

    def count(self, query):
        return int(self.sql(query)[0][0])

    def all_done(self):
        return (self.count("SELECT count(*) FROM users WHERE NOT sent_to_matching_service") == 0
                and self.count("SELECT count(*) FROM export_runs WHERE state IN "
                               "('claimed', 'committed')") == 0)

    def assert_exported_exactly_once(self):
        self.assertEqual(self.sql("SELECT group_id, slot FROM export_runs GROUP BY 1, 2 "
                                  "HAVING count(*) > 1"), [], "a group ran twice for one slot")
        by_run = {}
        for m in stack.consume(self.cluster.bootstrap, TOPIC):
            v = json.loads(m["value"])
            by_run[(v["runId"], v.get("part", 1))] = v
        db_users = {r[0] for r in self.sql(SOURCE_SQL)}
        seen = {}
        for (run_id, _), v in by_run.items():
            if v["payload"] == "USERS_EXPORT_FILE":
                raw = stack.s3_get(self.endpoint, self.access, self.secret, self.bucket,
                                   v["objectKey"])
                refs = [row[0] for row in parse_csv_gz(raw)[1]]
            else:
                refs = v["refIds"]
            for r in refs:
                self.assertNotIn(r, seen, f"user {r} exported by runs {seen.get(r)} and {run_id}")
                seen[r] = run_id
        self.assertEqual(set(seen), db_users, "users missing from the delivered exports")
        self.assertEqual(self.count("SELECT count(*) FROM users WHERE NOT "
                                    "sent_to_matching_service"), 0)
        claimed = self.count("SELECT coalesce(sum(item_count), 0) FROM export_runs "
                             "WHERE state <> 'claimed'")
        self.assertEqual(claimed, len(db_users), "users claimed by more than one finished run")

    def test_two_instances_export_each_group_once_per_slot(self):
        self.seed(3000, 6)
        a, b = self.start("instance-a"), self.start("instance-b")
        a.wait_ready()
        b.wait_ready()
        wait_until("every user exported", self.all_done)
        # Several slots fired on both instances meanwhile: each (group, slot) still ran once.
        wait_until("three slots", lambda: self.count(
            "SELECT count(DISTINCT slot) FROM export_runs") >= 3)
        marked = [a.metric("users_export_rows_marked_total") or 0,
                  b.metric("users_export_rows_marked_total") or 0]
        self.assertEqual(sum(marked), 3000, f"rows marked per instance: {marked}")
        self.assertEqual(a.stop(), 0, a.text())
        self.assertEqual(b.stop(), 0, b.text())
        self.assert_exported_exactly_once()

    def test_killed_instance_is_taken_over_after_its_lease_expired(self):
        self.lease = 4
        self.seed(2000, 4)
        a = self.start("instance-a", {"USER_EXPORT_FAULT": "after_stage"})
        wait_until("instance-a to die at after_stage", lambda: a.proc.poll() is not None)
        self.assertEqual(a.stop(), -signal.SIGKILL, a.text())
        orphans = self.sql("SELECT run_id FROM export_runs WHERE state = 'claimed' "
                           "AND lease_owner = 'instance-a'")
        self.assertTrue(orphans, "the killed instance left no claimed run")
        b = self.start("instance-b")
        wait_until("instance-b to finish every run", self.all_done)
        for (run_id,) in orphans:
            state = self.sql(f"SELECT state, lease_owner FROM export_runs "
                             f"WHERE run_id = '{run_id}'")[0]
            self.assertIn(state[0], ("committed", "completed"), run_id)
            self.assertEqual(state[1] or "instance-b", "instance-b", run_id)
        self.assertEqual(b.stop(), 0, b.text())
        self.assert_exported_exactly_once()

    def test_sigterm_mid_run_then_restart_loses_and_duplicates_nothing(self):
        self.seed(40000, 4)
        a = self.start("instance-a")
        wait_until("a slot to start", lambda: "slot started" in a.text())
        started = time.monotonic()
        self.assertEqual(a.stop(signal.SIGTERM), 0, a.text())
        self.assertLess(time.monotonic() - started, 60, "graceful shutdown took too long")
        self.assertIn("service stopped", a.text())
        again = self.start("instance-a2")
        wait_until("the restarted instance to finish", self.all_done)
        self.assertEqual(again.stop(), 0, again.text())
        self.assert_exported_exactly_once()

    def test_sigterm_during_a_stalled_upload_cancels_it_and_a_restart_exports_once(self):
        # A private S3 server that never answers upload parts: without cancellation the part
        # would hang until its 120 s request timeout and then be retried.
        s3 = stack.PrivateS3(self.tmp / "s3", "--stall-parts", "1")
        try:
            self.endpoint, self.access, self.secret = s3.endpoint, s3.access, s3.secret
            self.s3_extra = "multipart_threshold_mib = 0\nrequest_timeout_ms = 120000\n"
            self.shutdown_timeout = 1
            self.seed(400, 1)  # one cost-based group: its file goes up as a multipart upload
            a = self.start("instance-a")
            wait_until("a multipart upload to start", lambda: any(
                r["method"] == "POST" and "uploads" in r["url"] for r in s3.requests()))
            time.sleep(1.5)  # the part is in flight, unanswered
            started = time.monotonic()
            self.assertEqual(a.stop(signal.SIGTERM, timeout=30), 0, a.text())
            took = time.monotonic() - started
            self.assertLess(took, 15, f"shutdown took {took:.1f} s:\n{a.text()}")
            text = a.text()
            self.assertIn("cancelled by shutdown", text)
            self.assertIn("service stopped", text)
            # Nothing marked, nothing committed, the claim kept; the upload was aborted.
            self.assertEqual(self.count("SELECT count(*) FROM users WHERE "
                                        "sent_to_matching_service"), 0)
            self.assertEqual(self.sql("SELECT DISTINCT state FROM export_runs"), [["claimed"]])
            aborts = [r for r in s3.requests()
                      if r["method"] == "DELETE" and "uploadId=" in r["url"]]
            self.assertTrue(aborts, f"no AbortMultipartUpload request: {s3.requests()}")
            self.assertEqual(stack.s3_list(s3.endpoint, s3.access, s3.secret, self.bucket), [])

            s3.restart()  # answers parts again, same port and data
            b = self.start("instance-b")
            wait_until("the restarted instance to finish", self.all_done)
            self.assertEqual(b.stop(), 0, b.text())
            self.assertIn("resuming unfinished run", b.text())
            self.assert_exported_exactly_once()
        finally:
            s3.stop()

    def test_consumer_lag_holds_slots_until_the_consumer_group_commits(self):
        self.schedule_extra = 'max_consumer_lag = 1\nconsumer_group = "downstream"\n'
        self.seed(400, 2)
        a = self.start("instance-a")
        a.wait_ready()
        wait_until("the first export", self.all_done)
        # Its messages are on the topic and the group "downstream" committed none of them.
        def published():
            n = len(self.cluster.consume(TOPIC))
            return n if n >= 2 else 0
        published = wait_until("the messages on the topic", published)
        wait_until("the lag to hold a slot",
                   lambda: a.metric("users_export_scheduler_paused") == 1)
        m = re.search(r'scheduler paused.*reason="consumer lag (\d+) is above 1 messages"',
                      a.text())
        self.assertTrue(m, a.text())
        self.assertTrue(1 < int(m.group(1)) <= published, m.group(0))
        held_at = self.count("SELECT count(*) FROM export_runs")
        time.sleep(7)  # two cron periods: nothing runs while held
        self.assertEqual(self.count("SELECT count(*) FROM export_runs"), held_at)
        self.assertEqual(a.metric("users_export_scheduler_paused"), 1)

        # The downstream consumer catches up and commits the end of the topic.
        self.cluster.consume(TOPIC, commit_group="downstream")
        wait_until("slots to run again", lambda: self.count(
            "SELECT count(*) FROM export_runs") >= held_at + 2)
        self.assertEqual(a.metric("users_export_scheduler_paused"), 0)
        self.assertIn("scheduler resumed", a.text())
        self.assertEqual(a.stop(), 0, a.text())
        self.assert_exported_exactly_once()

    def test_admin_api_tokens_pause_resume_trigger_and_metrics(self):
        self.seed(400, 2)
        a = self.start("instance-a")
        a.wait_ready()
        self.assertEqual(a.request("GET", "/healthz")[0], 200)
        wait_until("the first export", self.all_done)

        status, body, _ = a.request("POST", "/api/pause", token=None)
        self.assertEqual(status, 401, body)
        self.assertEqual(a.request("POST", "/api/pause", token="wrong")[0], 401)
        self.assertEqual(a.metric("users_export_scheduler_paused"), 0)

        self.assertEqual(a.request("POST", "/api/pause")[0], 200)
        status, text, ctype = a.request("GET", "/metrics")
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        self.assertIn("users_export_scheduler_paused 1", text)
        wait_until("the pause to hold a slot", lambda: "scheduler paused" in a.text())
        paused_at = self.count("SELECT count(*) FROM export_runs")
        # Held: two cron periods pass without a new run.
        time.sleep(7)
        self.assertEqual(self.count("SELECT count(*) FROM export_runs"), paused_at)

        group = self.sql("SELECT id FROM matching_groups ORDER BY id LIMIT 1")[0][0]
        self.assertEqual(a.request("POST", "/api/trigger?group=not-a-uuid")[0], 400)
        self.assertEqual(a.request("POST", f"/api/trigger?group={group}")[0], 202)
        wait_until("the triggered run", lambda: self.count(
            "SELECT count(*) FROM export_runs") == paused_at + 1)
        status, body, _ = a.request("GET", "/api/runs?limit=5")
        self.assertEqual(status, 200)
        runs = json.loads(body)
        self.assertEqual(runs[0]["groupId"], group)

        self.assertEqual(a.request("POST", "/api/resume")[0], 200)
        self.assertEqual(a.metric("users_export_scheduler_paused"), 0)
        wait_until("slots to run again after resume", lambda: self.count(
            "SELECT count(*) FROM export_runs") >= paused_at + 3)
        self.assertEqual(a.stop(), 0, a.text())

    def test_verify_after_slot_counts_a_run_whose_message_was_not_delivered(self):
        self.service_extra = "verify_after_slot = true\n"
        self.more_tables = "[log]\njson = true\n"
        self.seed(300, 2)
        a = self.start("instance-a")
        a.wait_ready()
        wait_until("every user exported", self.all_done)
        wait_until("a verified slot with runs", lambda: re.search(
            r'slot verified.*\bruns"?[=:]\s*[1-9]', a.text()) is not None)
        self.assertEqual(a.metric("users_export_verify_failures_total"), 0, a.text())
        self.assertNotIn("run failed verification", a.text())

        # The broker goes away: the next slot's new runs commit, their messages stay pending,
        # and once the delivery timeout passed verification names them and counts them.
        self.cluster.command("all_down")
        self.seed(100, 1, seed=2)
        wait_until("a verify failure counted",
                   lambda: (a.metric("users_export_verify_failures_total") or 0) >= 1)
        # [log] json holds for the service too: each failure is one JSON line naming its run.
        failures = [json.loads(line) for line in a.text().splitlines()
                    if "run failed verification" in line]
        self.assertTrue(failures, a.text())
        committed = {r[0] for r in self.sql("SELECT run_id FROM export_runs "
                                            "WHERE state = 'committed'")}
        for f in failures:
            self.assertIn(f["run_id"], committed)
            self.assertIn("still pending, not delivered", f["differences"])
        self.cluster.command("all_up")
        self.assertEqual(a.stop(), 0, a.text())


if __name__ == "__main__":
    unittest.main()
