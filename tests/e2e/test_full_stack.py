"""End-to-end on the real components together: PostgreSQL (a private database per test), the
signature-checking S3 server (a private bucket, or a private server that is stopped mid-upload)
and a Kafka-protocol mock cluster. Objects are read back with the curl CLI and compared with
their messages; rows are compared with the database."""
import gzip
import hashlib
import io
import csv
import json
import os
import shutil
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import stack  # noqa: E402
from kafka_peer import MockCluster  # noqa: E402

DOMAIN = "7d3e1c52-0a4b-4e8f-9c1d-2b6a5f4e3d21"
TOPIC = "flairbit-users"
# The database values of one user, formatted as the CSV writes them.
SOURCE_SQL = """
SELECT u.ref_id, u.username, u.email, u.phone, to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS'),
       p.display_name, p.gender, to_char(p.date_of_birth, 'YYYY-MM-DD'), p.city, p.bio,
       p.interests
FROM users u LEFT JOIN profiles p ON p.user_id = u.id"""

MISSING = stack.services_missing("pg", "s3", "kafka")


def parse_csv_gz(raw):
    text = gzip.decompress(raw).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    return rows[0], rows[1:]


@unittest.skipIf(MISSING and os.environ.get("UE_REQUIRE_SERVICES") != "1",
                 f"services not configured: {MISSING}")
class FullStackTest(unittest.TestCase):
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
        self.private_s3 = None

    def tearDown(self):
        self.cluster.close()
        if self.private_s3:
            self.private_s3.stop()
        self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, endpoint=None, database_url=None, s3_extra="", extra=""):
        return stack.stack_config(
            self.tmp / "user-export.toml", domain=DOMAIN,
            database_url=database_url or self.db.url, bucket=self.bucket,
            s3_endpoint=endpoint or self.endpoint, staging=self.tmp / "staging",
            bootstrap=self.cluster.bootstrap, s3_extra=s3_extra, extra=extra)

    def cli(self, config, *args, env=None, check=True):
        return harness.run([args[0], "--config", str(config), *args[1:]],
                           env={**self.env, **(env or {})}, check=check)

    def export(self, config, env=None, check=True):
        return harness.export(config, "--metrics-file", str(self.tmp / "metrics.prom"),
                              env={**self.env, **(env or {})}, check=check)

    def sql(self, query):
        return stack.psql(self.db.url, query)

    def messages(self):
        return [json.loads(m["value"]) for m in stack.consume(self.cluster.bootstrap, TOPIC)]

    def check_delivered(self, endpoint=None, access=None, secret=None):
        """Every user is marked and in exactly one delivered object or id list; each object's
        bytes, SHA-256, rows and values match its message and the database. Returns the number
        of distinct runs."""
        endpoint = endpoint or self.endpoint
        by_run = {}
        for v in self.messages():
            key = (v["runId"], v.get("part", 1))
            if key in by_run:
                self.assertEqual(by_run[key], v, f"run {key} published twice, differently")
            by_run[key] = v
        db_rows = {r[0]: r for r in self.sql(SOURCE_SQL)}
        types = dict(self.sql("SELECT id, group_type FROM matching_groups"))
        seen = {}
        keys_in_messages = set()
        for (run_id, _), v in by_run.items():
            self.assertEqual(v["domainId"], DOMAIN)
            self.assertEqual(v["groupType"], types[v["groupId"]])
            if v["payload"] == "USERS_EXPORT_FILE":
                self.assertEqual(v["groupType"], "COST_BASED")
                self.assertEqual(v["bucket"], self.bucket)
                self.assertEqual(v["url"], f"s3://{self.bucket}/{v['objectKey']}")
                self.assertEqual(v["filePath"], v["url"])
                raw = stack.s3_get(endpoint, access or self.access, secret or self.secret,
                                   self.bucket, v["objectKey"])
                keys_in_messages.add(v["objectKey"])
                self.assertEqual(hashlib.sha256(raw).hexdigest(), v["sha256"], run_id)
                self.assertEqual(len(raw), v["bytes"], run_id)
                header, rows = parse_csv_gz(raw)
                self.assertEqual(header, harness.COLUMNS)
                self.assertEqual(len(rows), v["rowCount"], run_id)
                for row in rows:
                    self.assertEqual(row, db_rows[row[0]], f"user {row[0]} of run {run_id}")
                refs = [r[0] for r in rows]
            else:
                self.assertEqual(v["groupType"], "NON_COST_BASED")
                refs = v["refIds"]
            for r in refs:
                self.assertNotIn(r, seen, f"user {r} exported by runs {seen.get(r)} and {run_id}")
                self.assertIn(r, db_rows, f"run {run_id} names unknown user {r}")
                seen[r] = run_id
        self.assertEqual(set(seen), set(db_rows), "users missing from the delivered exports")
        self.assertEqual(self.sql("SELECT count(*) FROM users WHERE NOT sent_to_matching_service"),
                         [["0"]], "users left unmarked")
        self.assertEqual(self.sql("SELECT count(*) FROM export_outbox WHERE state <> 'published'"),
                         [["0"]])
        listed = set(stack.s3_list(endpoint, access or self.access, secret or self.secret,
                                   self.bucket))
        self.assertEqual(listed, keys_in_messages, "objects in the bucket without a message")
        return len({run for run, _ in by_run})

    def test_migrate_seed_export_from_config_file_and_with_environment_override(self):
        config = self.config()
        out = self.cli(config, "migrate")
        self.assertIn("database schema at version", out.stdout)
        self.assertEqual(self.sql("SELECT count(*) > 0 FROM schema_version"), [["t"]])
        self.cli(config, "seed", "--users", "3000", "--groups", "4")
        self.assertEqual(self.sql("SELECT count(*) FROM users"), [["3000"]])
        self.export(config)
        self.assertEqual(self.check_delivered(), 4)
        self.assertEqual(len(stack.s3_list(self.endpoint, self.access, self.secret,
                                           self.bucket)), 2, "two cost-based groups")

        # The same binary pointed at another database by USER_EXPORT_DATABASE_URL only: the
        # file names a server that does not exist, the environment wins.
        other = stack.PrivateDatabase(os.environ["UE_TEST_PG_URL"])
        try:
            bad = self.config(database_url="postgresql://nobody@127.0.0.1:1/none")
            env = {"USER_EXPORT_DATABASE_URL": other.url}
            self.cli(bad, "migrate", env=env)
            self.cli(bad, "seed", "--users", "500", "--groups", "2", "--seed", "7", env=env)
            self.export(bad, env=env)
            self.assertEqual(stack.psql(other.url, "SELECT count(*) FROM users WHERE "
                                        "sent_to_matching_service"), [["500"]])
            self.assertEqual(stack.psql(other.url, "SELECT count(*) FROM export_runs WHERE "
                                        "state = 'completed'"), [["2"]])
            # The first database did not change.
            self.assertEqual(self.sql("SELECT count(*) FROM export_runs"), [["4"]])
            # Without the override the file's unreachable server is the error (exit 1 or 2).
            proc = self.cli(bad, "migrate", check=False)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("127.0.0.1", proc.stderr)
        finally:
            other.close()

    def test_s3_server_stopped_mid_upload_fails_the_run_then_a_later_run_exports_once(self):
        self.private_s3 = stack.PrivateS3(self.tmp / "s3", "--crash-on-part", "2")
        # One cost-based group big enough for a multipart upload of 5 MiB parts; gzip level 0
        # keeps the file large.
        config = self.config(
            endpoint=self.private_s3.endpoint,
            s3_extra="multipart_threshold_mib = 5\npart_size_mib = 5\nparallel_parts = 1\n"
                     "request_timeout_ms = 20000\n",
            extra="\n[csv]\ngzip_level = 0\n")
        self.cli(config, "seed", "--users", "90000", "--groups", "1")
        proc = self.export(config, check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertFalse(self.private_s3.alive(), "the server was to stop on the second part")
        self.assertIn("failed", proc.stderr)
        metrics = (self.tmp / "metrics.prom").read_text()
        retries = [line for line in metrics.splitlines()
                   if line.startswith("users_export_s3_retries_total")]
        self.assertTrue(retries and float(retries[0].split()[-1]) >= 1, metrics)
        self.assertEqual(self.sql("SELECT count(*) FROM users WHERE sent_to_matching_service"),
                         [["0"]], "nothing is marked when the upload failed")
        self.assertEqual(self.sql("SELECT count(*) FROM export_outbox"), [["0"]])
        self.assertEqual(self.messages(), [])
        parts = [r for r in self.private_s3.requests() if "partNumber=" in r["url"]]
        self.assertGreaterEqual(len(parts), 1, "the upload was multipart")

        self.private_s3.restart()  # same port, same data, no fault
        self.export(config)
        self.assertEqual(self.check_delivered(endpoint=self.private_s3.endpoint), 1)
        self.assertEqual(self.sql("SELECT count(*) FROM users WHERE sent_to_matching_service"),
                         [["90000"]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
