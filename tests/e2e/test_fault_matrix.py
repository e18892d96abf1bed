"""Fault matrix: each failure an operator may meet, injected into the real peers, with the
outcome they see (exit code, a log line, a metric from --metrics-file) and the proof that no data
is lost (a later run exports every user exactly once).

Backends per case: PostgreSQL where the database is the subject or must sit outside the
process's limits, SQLite elsewhere (fast to seed; and PostgreSQL refuses invalid UTF-8 in a UTF8
database, so invalid bytes in text columns can only come from a SQLite source)."""
import csv
import gzip
import hashlib
import io
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import stack  # noqa: E402
from kafka_peer import MockCluster  # noqa: E402

DOMAIN = "2c9a6e1f-5b3d-4a7c-8e90-1f2d3c4b5a69"
REQUIRE = os.environ.get("UE_REQUIRE_SERVICES") == "1"
BIG = 90000  # users of one group whose gzip-level-0 file is above 5 MiB


def needs(*names):
    missing = stack.services_missing(*names)
    return unittest.skipIf(missing and not REQUIRE, f"services not configured: {missing}")


def parse_csv_gz(raw):
    """Parses gzip CSV bytes strictly (UTF-8, RFC 4180); returns (header, rows)."""
    text = gzip.decompress(raw).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    return rows[0], rows[1:]


def metric(text, name, labels=None):
    """The sum of the samples of `name` (whose labels contain `labels`) in Prometheus text."""
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) == name and (labels is None or labels in (m.group(2) or "")):
            total += float(m.group(3))
            found = True
    return total if found else None


class FaultMatrixTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(harness.new_temp_dir())
        os.chmod(self.tmp, 0o755)
        self.metrics = self.tmp / "metrics.prom"
        self.closers = []
        self.env = stack.s3_env()

    def tearDown(self):
        for close in reversed(self.closers):
            close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- helpers -----------------------------------------------------------------------------

    def sqlite_config(self, s3=None, bucket=None, bootstrap=None, s3_extra="", extra=""):
        self.db_path = self.tmp / "db.sqlite"
        return stack.stack_config(
            self.tmp / "user-export.toml", domain=DOMAIN, database_url=f"sqlite://{self.db_path}",
            bucket=bucket, s3_endpoint=s3, staging=self.tmp / "staging", bootstrap=bootstrap,
            messages_file=None if bootstrap else self.tmp / "messages.jsonl",
            s3_extra=s3_extra, extra=extra)

    def pg_config(self, extra="", s3=None, bucket=None, s3_extra=""):
        self.pg = stack.PrivateDatabase(os.environ["UE_TEST_PG_URL"], prefix="ue_fault")
        self.closers.append(self.pg.close)
        return stack.stack_config(
            self.tmp / "user-export.toml", domain=DOMAIN, database_url=self.pg.url,
            bucket=bucket, s3_endpoint=s3, staging=self.tmp / "staging",
            messages_file=self.tmp / "messages.jsonl", s3_extra=s3_extra, extra=extra)

    def cli(self, config, *args, env=None, check=True):
        return harness.run([args[0], "--config", str(config), *args[1:]],
                           env={**self.env, **(env or {})}, check=check)

    def export(self, config, env=None, check=True):
        self.metrics.unlink(missing_ok=True)
        return harness.export(config, "--metrics-file", str(self.metrics),
                              env={**self.env, **(env or {})}, check=check)

    def metric(self, name, labels=None):
        return metric(self.metrics.read_text(), name, labels)

    def sqlite(self, query, args=()):
        with sqlite3.connect(self.db_path) as db:
            return db.execute(query, args).fetchall()

    def unsent_sqlite(self):
        return self.sqlite("SELECT COUNT(*) FROM users WHERE NOT sent_to_matching_service")[0][0]

    def jsonl(self):
        path = self.tmp / "messages.jsonl"
        if not path.exists():
            return []
        return [json.loads(line)["value"] for line in path.read_text().splitlines() if line]

    def assert_exported_once(self, all_refs, read_object):
        """Every user is in exactly one delivered message's object or id list."""
        seen = {}
        for v in self.jsonl():
            if v["payload"] == "USERS_EXPORT_FILE":
                raw = read_object(v)
                self.assertEqual(hashlib.sha256(raw).hexdigest(), v["sha256"])
                refs = [r[0] for r in parse_csv_gz(raw)[1]]
                self.assertEqual(len(refs), v["rowCount"])
            else:
                refs = v["refIds"]
            for r in refs:
                self.assertNotIn(r, seen, f"user {r} exported twice")
                seen[r] = v["runId"]
        self.assertEqual(set(seen), set(all_refs))

    def local_object(self, v):
        return Path(v["url"][len("file://"):]).read_bytes()

    # --- database ----------------------------------------------------------------------------

    @needs("pg")
    def test_database_connection_killed_mid_stream_is_retried_and_nothing_is_lost(self):
        config = self.pg_config()
        self.cli(config, "seed", "--users", "300000", "--groups", "1")
        time.sleep(1.0 - (time.time() % 1.0) + 0.01)
        env = {k: v for k, v in os.environ.items() if not k.startswith("USER_EXPORT_")}
        proc = subprocess.Popen([harness.BINARY, "export", "--config", str(config),
                                 "--metrics-file", str(self.metrics)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        killed = []
        deadline = time.time() + 120
        while not killed and proc.poll() is None and time.time() < deadline:
            killed = stack.psql(self.pg.base_url, f"""
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = '{self.pg.name}' AND query ILIKE 'COPY%' AND state = 'active'""")
            time.sleep(0.02)
        out, err = proc.communicate(timeout=600)
        self.assertTrue(killed, "the stream's COPY was never seen running")
        # The operator sees the broken connection in the log and the failed attempt counted;
        # the retry (max_attempts 2) streams the same claim again and succeeds.
        self.assertEqual(proc.returncode, 0, err)
        self.assertRegex(err, r"(?i)terminat|connection|server closed")
        self.assertGreaterEqual(self.metric("users_export_batch_failures_total") or 0, 1)
        self.assertEqual(stack.psql(self.pg.url, "SELECT count(*) FROM users WHERE NOT "
                                    "sent_to_matching_service"), [["0"]])
        refs = [r for (r,) in stack.psql(self.pg.url, "SELECT ref_id FROM users")]
        self.assert_exported_once(refs, self.local_object)

    @needs("pg")
    def test_a_writer_stalled_inside_its_commit_does_not_block_a_takeover(self):
        # Instance A (a 3 s lease) stops with its commit's transaction open: the runs' rows and
        # users locked. The server ends that transaction once it sits idle past its limit, so
        # instance B takes the runs over and finishes instead of waiting for A for good.
        config = self.pg_config()
        text = config.read_text()
        config_a = self.tmp / "user-export-a.toml"
        config_a.write_text(text.replace("[export]\n", "[export]\nlease_seconds = 3\n", 1))
        config_b = self.tmp / "user-export-b.toml"
        config_b.write_text(text.replace(f'staging_dir = "{self.tmp / "staging"}"',
                                         f'staging_dir = "{self.tmp / "staging-b"}"', 1))
        self.cli(config, "seed", "--users", "2000", "--groups", "4")
        time.sleep(1.0 - (time.time() % 1.0) + 0.01)
        env = {k: v for k, v in os.environ.items() if not k.startswith("USER_EXPORT_")}
        env["USER_EXPORT_FAULT"] = "inside_commit:stop"
        a = subprocess.Popen([harness.BINARY, "export", "--config", str(config_a)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.closers.append(lambda: a.poll() is None and (a.kill(), a.wait()))
        deadline = time.time() + 120
        while a.poll() is None and stack.process_state(a.pid) != "T" and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(stack.process_state(a.pid), "T",
                         "instance A never stopped inside its commit")
        held = stack.psql(self.pg.base_url, f"""
SELECT count(*) FROM pg_stat_activity
WHERE datname = '{self.pg.name}' AND state = 'idle in transaction'""")
        self.assertNotEqual(held, [["0"]], "A's commit transaction is not open")
        time.sleep(4.5)  # A's leases run out while it is stopped

        # Without the limit B waits on A's locks until A resumes, which the timeout turns into
        # a failure here.
        b = self.export(config_b, check=False)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertEqual(stack.psql(self.pg.url, "SELECT count(*) FROM users WHERE NOT "
                                    "sent_to_matching_service"), [["0"]])

        os.kill(a.pid, signal.SIGCONT)
        _, err_a = a.communicate(timeout=120)
        self.assertGreaterEqual(a.returncode, 0, "A ended by a signal")
        self.assertRegex(err_a, r"(?i)idle-in-transaction|terminat|connection", "A's log")

        # Each user in exactly one delivered file; no file that no message names.
        refs = [r for (r,) in stack.psql(self.pg.url, "SELECT ref_id FROM users")]
        self.assert_exported_once(refs, self.local_object)
        named = {Path(v["url"][len("file://"):]).resolve() for v in self.jsonl()
                 if v["payload"] == "USERS_EXPORT_FILE"}
        stored = {p.resolve() for p in (self.tmp / "objects").rglob("*.csv.gz")}
        self.assertEqual(stored, named)

    # --- S3 ----------------------------------------------------------------------------------

    def big_s3_setup(self, *fault, request_timeout_ms=1500, extra="", postgres=False):
        """A private S3 server with `fault`, and a SQLite database (or with `postgres`, a private
        PostgreSQL one, where the group, exported alone, has its users marked while it streams)
        with one cost-based group whose file (gzip level 0) is above the 5 MiB multipart
        threshold."""
        s3 = stack.PrivateS3(self.tmp / "s3", *fault)
        self.closers.append(s3.stop)
        config = (self.pg_config if postgres else self.sqlite_config)(
            s3=s3.endpoint, bucket=stack.new_bucket_name("ue-fault"),
            s3_extra="multipart_threshold_mib = 5\npart_size_mib = 5\nparallel_parts = 1\n"
                     f"request_timeout_ms = {request_timeout_ms}\n",
            extra="\n[csv]\ngzip_level = 0\n" + extra)
        self.cli(config, "seed", "--users", str(BIG), "--groups", "1")
        return s3, config

    def unsent_pg(self):
        return int(stack.psql(self.pg.url, "SELECT count(*) FROM users WHERE NOT "
                              "sent_to_matching_service")[0][0])

    def s3_reader(self, s3, config):
        bucket = re.search(r's3://([^/"]+)', config.read_text()).group(1)
        return lambda v: stack.s3_get(s3.endpoint, s3.access, s3.secret, bucket, v["objectKey"])

    def assert_s3_failure_then_recovery(self, s3, config, pattern):
        proc = self.export(config, check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stderr, pattern)
        self.assertIn("groups failed", proc.stderr)
        self.assertTrue(any("partNumber=" in r["url"] for r in s3.requests()), "multipart")
        self.assertGreaterEqual(self.metric("users_export_s3_retries_total"), 4)
        self.assertGreaterEqual(self.metric("users_export_s3_failures_total"), 1)
        self.assertEqual(self.unsent_sqlite(), BIG, "nothing marked")
        self.assertEqual(self.jsonl(), [])
        s3.restart()
        self.export(config)
        self.assertEqual(self.unsent_sqlite(), 0)
        refs = [r for (r,) in self.sqlite("SELECT ref_id FROM users")]
        self.assert_exported_once(refs, self.s3_reader(s3, config))

    def start_export_until_multipart(self, s3, config):
        """Starts `export` and returns the process once its multipart upload has begun (the
        stalled part requests are never answered, so never logged)."""
        time.sleep(1.0 - (time.time() % 1.0) + 0.01)
        env = {k: v for k, v in os.environ.items() if not k.startswith("USER_EXPORT_")}
        env.update(self.env)
        proc = subprocess.Popen([harness.BINARY, "export", "--config", str(config)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.closers.append(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        deadline = time.time() + 120
        while not any(r["method"] == "POST" and "uploads" in r["url"] for r in s3.requests()):
            self.assertIsNone(proc.poll(), "export ended before its multipart upload began")
            self.assertLess(time.time(), deadline, "no multipart upload began")
            time.sleep(0.05)
        time.sleep(0.5)  # the first part is in flight (and stalled)
        return proc

    def test_sigterm_mid_multipart_aborts_the_upload_keeps_the_claim_and_exits_3(self):
        s3, config = self.big_s3_setup("--stall-parts", "1", request_timeout_ms=120000,
                                       extra="\n[service]\nshutdown_timeout_seconds = 2\n")
        proc = self.start_export_until_multipart(s3, config)
        started = time.time()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=90)
        # The in-flight group got the 2 s shutdown timeout, then its upload was stopped.
        self.assertEqual(proc.returncode, 3, err)
        self.assertLess(time.time() - started, 60, "the upload was not stopped")
        self.assertIn("interrupted by SIGTERM", err)
        self.assertRegex(err, r"0 groups finished, 1 stopped")
        aborts = [r for r in s3.requests() if r["method"] == "DELETE" and "uploadId=" in r["url"]
                  and ".attempt-1.csv.gz" in r["url"]]
        self.assertTrue(aborts, "the multipart upload was not aborted")
        self.assertEqual(self.sqlite("SELECT state FROM export_runs"), [("claimed",)])
        self.assertEqual(self.unsent_sqlite(), BIG, "nothing marked")
        self.assertEqual(self.jsonl(), [])
        # (The test server answers AbortMultipartUpload with 405, so its upload directory stays:
        # the request is what is checked.)
        # The next run resumes the same claim and exports every user once.
        s3.restart()
        self.export(config)
        self.assertEqual(self.unsent_sqlite(), 0)
        self.assertEqual(len(self.sqlite("SELECT run_id FROM export_runs")), 1)
        refs = [r for (r,) in self.sqlite("SELECT ref_id FROM users")]
        self.assert_exported_once(refs, self.s3_reader(s3, config))

    @needs("pg")
    def test_sigterm_while_postgres_holds_the_streamed_marks_releases_them_and_exits_3(self):
        # On PostgreSQL a group exported alone has its users marked, unseen and row-locked, in
        # the commit's transaction while it streams and uploads. A signal during the upload
        # must end that transaction with the attempt: nothing marked, the claim kept, and the
        # next run exports every user once.
        s3, config = self.big_s3_setup(
            "--stall-parts", "1", request_timeout_ms=120000, postgres=True,
            extra="\n[service]\nshutdown_timeout_seconds = 2\n")
        proc = self.start_export_until_multipart(s3, config)
        unlocked = "SELECT count(*) FROM (SELECT 1 FROM users FOR UPDATE SKIP LOCKED) u"
        deadline = time.time() + 60
        while stack.psql(self.pg.url, unlocked) != [["0"]]:
            self.assertLess(time.time(), deadline, "the users were never marked while streaming")
            time.sleep(0.1)
        self.assertEqual(self.unsent_pg(), BIG, "the marks are seen before the commit")
        started = time.time()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
        self.assertEqual(proc.returncode, 3, err)
        self.assertLess(time.time() - started, 60, "the upload or the marking was not stopped")
        self.assertIn("interrupted by SIGTERM", err)
        self.assertRegex(err, r"0 groups finished, 1 stopped")
        self.assertTrue([r for r in s3.requests() if r["method"] == "DELETE"
                         and "uploadId=" in r["url"]], "the multipart upload was not aborted")
        self.assertEqual(stack.psql(self.pg.url, "SELECT state FROM export_runs"), [["claimed"]])
        self.assertEqual(self.unsent_pg(), BIG, "nothing marked")
        self.assertEqual(stack.psql(self.pg.url, unlocked), [[str(BIG)]], "rows left locked")
        self.assertEqual(self.jsonl(), [])
        s3.restart()
        self.export(config)
        self.assertEqual(self.unsent_pg(), 0)
        self.assertEqual(len(stack.psql(self.pg.url, "SELECT run_id FROM export_runs")), 1)
        self.assertEqual(self.metric("users_export_marked_while_streaming_total",
                                     'outcome="committed"'), 1)
        refs = [r for (r,) in stack.psql(self.pg.url, "SELECT ref_id FROM users")]
        self.assert_exported_once(refs, self.s3_reader(s3, config))

    def test_a_second_sigterm_exits_at_once_and_keeps_the_claim(self):
        s3, config = self.big_s3_setup("--stall-parts", "1", request_timeout_ms=120000,
                                       extra="\n[service]\nshutdown_timeout_seconds = 300\n")
        proc = self.start_export_until_multipart(s3, config)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        self.assertIsNone(proc.poll(), "the first signal waits for the group in flight")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 128 + signal.SIGTERM, err)
        self.assertIn("second signal", err)
        self.assertEqual(self.sqlite("SELECT state FROM export_runs"), [("claimed",)])
        self.assertEqual(self.unsent_sqlite(), BIG)

    def test_sigkill_mid_multipart_then_the_resume_aborts_the_killed_upload_by_its_key(self):
        s3, config = self.big_s3_setup("--stall-parts", "1", request_timeout_ms=120000)
        proc = self.start_export_until_multipart(s3, config)
        proc.kill()
        proc.communicate(timeout=30)
        (run_id,), = self.sqlite("SELECT run_id FROM export_runs")
        s3.restart()
        self.export(config)
        # The resumed run (attempt 2) listed the uploads of attempt 1's exact key: a prefix
        # listing finds nothing on MinIO.
        listings = [r["url"] for r in s3.requests()
                    if r["method"] == "GET" and "uploads" in r["url"]]
        self.assertTrue(any(f"{run_id}.attempt-1.csv.gz" in url for url in listings), listings)
        self.assertEqual(self.unsent_sqlite(), 0)
        refs = [r for (r,) in self.sqlite("SELECT ref_id FROM users")]
        self.assert_exported_once(refs, self.s3_reader(s3, config))

    def test_s3_answering_500_exhausts_retries_then_a_later_run_succeeds(self):
        s3, config = self.big_s3_setup("--fail-parts-status", "500")
        self.assert_s3_failure_then_recovery(s3, config, r"gave up after \d+ attempts")

    def test_s3_answering_503_exhausts_retries_then_a_later_run_succeeds(self):
        s3, config = self.big_s3_setup("--fail-parts-status", "503")
        self.assert_s3_failure_then_recovery(s3, config, r"gave up after \d+ attempts")

    def test_s3_timing_out_is_cut_by_the_request_timeout_then_a_later_run_succeeds(self):
        s3, config = self.big_s3_setup("--stall-parts", "1")
        self.assert_s3_failure_then_recovery(s3, config, r"(?i)time(d)? ?out")

    @needs("s3")
    def test_s3_credentials_revoked_fail_at_once_without_a_retry_storm(self):
        endpoint = os.environ.get("UE_TEST_S3_ENDPOINT")
        config = self.sqlite_config(s3=endpoint, bucket=stack.new_bucket_name("ue-fault"))
        self.cli(config, "seed", "--users", "200", "--groups", "2")
        proc = self.export(config, env={"AWS_SECRET_ACCESS_KEY": "revoked"}, check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("secret key is wrong", proc.stderr)
        self.assertIn("AWS_SECRET_ACCESS_KEY", proc.stderr)
        self.assertNotIn("revoked", proc.stderr, "the secret is never printed")
        # A run refused at start-up still writes its metrics file for the operator's tooling.
        self.assertGreaterEqual(self.metric("users_export_build_info"), 1)
        # The bucket check at start-up refuses the whole run: nothing is claimed or marked,
        # and the wrong signature is not retried (a HEAD and one GET ?location=).
        bucket = re.search(r's3://([^/"]+)', config.read_text()).group(1)
        log = Path(os.environ["UE_TEST_S3_REQUEST_LOG"]).read_text().splitlines()
        tried = [json.loads(line) for line in log if f"/{bucket}" in line]
        self.assertTrue(tried, "the server saw the requests")
        self.assertLessEqual(len(tried), 3, tried)
        self.assertTrue(all(r["status"] == 403 for r in tried), tried)
        self.assertEqual(self.unsent_sqlite(), 200, "nothing marked")
        self.export(config)
        self.assertEqual(self.unsent_sqlite(), 0)

    # --- Kafka -------------------------------------------------------------------------------

    def kafka_setup(self, users=200, groups=2):
        cluster = MockCluster()
        self.closers.append(cluster.close)
        config = self.sqlite_config(bootstrap=cluster.bootstrap)
        text = config.read_text().replace(
            f'bootstrap = "{cluster.bootstrap}"',
            f'bootstrap = "{cluster.bootstrap}"\ncircuit_failure_threshold = 1\n'
            'circuit_cool_down_ms = 500')
        config.write_text(text.replace("delivery_timeout_ms = 5000", "delivery_timeout_ms = 2000"))
        self.cli(config, "seed", "--users", str(users), "--groups", str(groups))
        return cluster, config

    @needs("kafka")
    def test_kafka_brokers_down_longer_than_the_delivery_timeout_keep_messages_queued(self):
        cluster, config = self.kafka_setup()
        cluster.command("all_down")
        proc = self.export(config, check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("still in the outbox", proc.stderr)
        self.assertEqual(self.metric("users_export_circuit_breaker_state", 'name="publish"'), 1)
        self.assertEqual(self.unsent_sqlite(), 0, "files are durable, users are marked")
        self.assertEqual(self.sqlite("SELECT COUNT(*) FROM export_outbox WHERE state = "
                                     "'pending'")[0][0], 2)
        time.sleep(1)  # the circuit's cool-down
        cluster.command("all_up")
        relay = self.cli(config, "relay")
        self.assertIn("still pending 0", relay.stdout)
        msgs = stack.consume(cluster.bootstrap, "flairbit-users")
        self.assertEqual(len({json.loads(m["value"])["runId"] for m in msgs}), 2)
        refs = {r for (r,) in self.sqlite("SELECT ref_id FROM users")}
        seen = set()
        for m in msgs:
            v = json.loads(m["value"])
            if "refIds" in v:
                seen |= set(v["refIds"])
            else:
                seen |= {r[0] for r in parse_csv_gz(self.local_object(v))[1]}
        self.assertEqual(seen, refs)

    @needs("kafka")
    def test_sigterm_stops_a_waiting_relay_with_exit_3_and_keeps_its_messages(self):
        cluster, config = self.kafka_setup()
        cluster.command("all_down")
        self.export(config, check=False)  # the messages stay in the outbox
        config.write_text(config.read_text().replace("delivery_timeout_ms = 2000",
                                                      "delivery_timeout_ms = 120000")
                          + "\n[service]\nshutdown_timeout_seconds = 1\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("USER_EXPORT_")}
        proc = subprocess.Popen([harness.BINARY, "relay", "--config", str(config)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.closers.append(lambda: proc.poll() is None and (proc.kill(), proc.wait()))
        time.sleep(2)
        self.assertIsNone(proc.poll(), "the relay should still be waiting for the brokers")
        proc.send_signal(signal.SIGTERM)
        # The send in flight gets the 1 s shutdown timeout, not the 120 s delivery timeout.
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 3, err)
        self.assertIn("interrupted by SIGTERM: 0 messages delivered, 2 left in the outbox", err)
        self.assertEqual(self.sqlite("SELECT COUNT(*) FROM export_outbox WHERE state = "
                                     "'pending'")[0][0], 2)

    @needs("kafka")
    def test_kafka_non_retriable_error_dead_letters_the_message_with_its_reason(self):
        cluster, config = self.kafka_setup(users=50, groups=1)
        cluster.command("error Produce TOPIC_AUTHORIZATION_FAILED 1")
        proc = self.export(config, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr, r"(?i)dead.?letter|dlq")
        self.assertEqual(self.metric("export_to_dlq_total"), 1)
        dlq = stack.consume(cluster.bootstrap, "flairbit-dlq")
        self.assertEqual(len(dlq), 1)
        self.assertEqual(dlq[0]["headers"]["dlt-exception-code"], "TOPIC_AUTHORIZATION_FAILED")
        (payload,) = self.sqlite("SELECT payload FROM export_outbox WHERE state = "
                                 "'dead_lettered'")[0:1][0]
        self.assertEqual(dlq[0]["value"], payload, "the message is kept whole in the DLQ")
        self.assertEqual(self.unsent_sqlite(), 0)

    # --- staging disk ------------------------------------------------------------------------

    @needs("pg")
    def test_staging_disk_full_fails_the_group_cleanly_then_a_later_run_succeeds(self):
        config = self.pg_config()
        self.cli(config, "seed", "--users", "20000", "--groups", "1")
        limit = 256 * 1024

        def limit_files():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        time.sleep(1.0 - (time.time() % 1.0) + 0.01)
        env = {k: v for k, v in os.environ.items() if not k.startswith("USER_EXPORT_")}
        proc = subprocess.run([harness.BINARY, "export", "--config", str(config),
                               "--metrics-file", str(self.metrics)], env=env,
                              capture_output=True, text=True, preexec_fn=limit_files,
                              timeout=600)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stderr, r"(?i)file too large|no space|write")
        self.assertGreaterEqual(self.metric("users_export_failures_total") or 0, 1)
        self.assertEqual(stack.psql(self.pg.url, "SELECT count(*) FROM users WHERE "
                                    "sent_to_matching_service"), [["0"]])
        staging = self.tmp / "staging"
        self.assertEqual([p.name for p in staging.iterdir() if p.name != ".lock"], [],
                         "the partial staged file is removed")
        self.export(config)
        refs = [r for (r,) in stack.psql(self.pg.url, "SELECT ref_id FROM users")]
        self.assert_exported_once(refs, self.local_object)

    # --- data and configuration --------------------------------------------------------------

    def junk_setup(self, value):
        """Exports a SQLite database whose first user's bio is `value` (bytes); returns
        (process, raw object bytes, that user's ref id)."""
        config = self.sqlite_config()
        self.cli(config, "seed", "--users", "40", "--groups", "1")
        (uid, ref), = self.sqlite("SELECT id, ref_id FROM users ORDER BY id LIMIT 1")
        with sqlite3.connect(self.db_path) as db:
            db.execute("INSERT OR REPLACE INTO profiles (user_id, bio) VALUES (?, ?)",
                       (uid, value))
        proc = self.export(config, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.unsent_sqlite(), 0)
        (v,) = self.jsonl()
        return proc, self.local_object(v), ref

    def test_binary_junk_without_nul_in_a_text_column_is_exported_verbatim(self):
        junk = bytes(range(1, 32)) + b"\x7f\x1b[31m\xc2\xa0,\"'"
        _, raw, ref = self.junk_setup(junk)
        header, rows = parse_csv_gz(raw)
        self.assertEqual(len(rows), 40)
        by_ref = {r[0]: r for r in rows}
        self.assertEqual(by_ref[ref][header.index("bio")], junk.decode("utf-8"))

    def test_invalid_utf8_in_a_text_column_still_gives_a_valid_utf8_file(self):
        """Bytes that are not UTF-8 (possible only from a SQLite source; PostgreSQL refuses them
        in a UTF8 database) must not break the file's UTF-8 contract: each ill-formed subpart
        becomes U+FFFD, the user is still exported, and the operator is told."""
        invalid = b"caf\xe9 \xff\xfe \xc3\x28 end"
        proc, raw, ref = self.junk_setup(invalid)
        header, rows = parse_csv_gz(raw)  # a strict UTF-8 decode of the whole file
        bio = {r[0]: r for r in rows}[ref][header.index("bio")]
        self.assertEqual(bio, "caf\ufffd \ufffd\ufffd \ufffd( end")
        self.assertIn("not valid UTF-8", proc.stderr)
        self.assertIn("repaired_values=1", proc.stderr)

    def test_unknown_group_type_is_reported_and_the_other_groups_are_exported(self):
        config = self.sqlite_config()
        self.cli(config, "seed", "--users", "300", "--groups", "3")
        (gid,) = self.sqlite("SELECT id FROM matching_groups ORDER BY id LIMIT 1")[0]
        with sqlite3.connect(self.db_path) as db:
            db.execute("UPDATE matching_groups SET group_type = 'PREMIUM' WHERE id = ?", (gid,))
        proc = self.export(config, check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("PREMIUM", proc.stderr)
        self.assertEqual(self.metric("users_export_invalid_group_type_total"), 1)
        self.assertEqual(self.sqlite("SELECT COUNT(*) FROM users WHERE group_id = ? AND "
                                     "sent_to_matching_service", (gid,))[0][0], 0)
        self.assertEqual(self.sqlite("SELECT COUNT(*) FROM users WHERE group_id <> ? AND NOT "
                                     "sent_to_matching_service", (gid,))[0][0], 0)
        self.assertEqual(len(self.jsonl()), 2)

    def test_invalid_domain_id_is_a_configuration_error(self):
        config = self.sqlite_config()
        proc = self.cli(config, "export", env={"USER_EXPORT_DOMAIN_ID": "not-a-uuid"},
                        check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("not-a-uuid", proc.stderr)
        self.assertFalse(self.db_path.exists() and self.sqlite(
            "SELECT name FROM sqlite_master WHERE name = 'export_runs'"), "nothing ran")

    def test_malformed_config_names_the_file_and_line(self):
        config = self.tmp / "broken.toml"
        config.write_text('[export]\ndomain_id = "%s"\nmax_parallel_groups = "four\n' % DOMAIN)
        proc = self.cli(config, "export", check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("broken.toml", proc.stderr)
        self.assertRegex(proc.stderr, r"line 3|:3")
        proc = self.cli(self.tmp / "absent.toml", "export", check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("absent.toml", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
