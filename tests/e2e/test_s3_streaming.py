"""A cost-based export to the signature-checking S3 server whose file is large enough for a
multipart upload: the parts go up while the file is streamed (docs/S3.md, "Uploads while the
file is written"), and the object read back is exactly the file its message names."""
import csv
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import unittest
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import stack  # noqa: E402

DOMAIN = "7d3e1c52-0a4b-4e8f-9c1d-2b6a5f4e3d21"
USERS = 150000
MISSING = stack.services_missing("pg", "s3")


@unittest.skipIf(MISSING and os.environ.get("UE_REQUIRE_SERVICES") != "1",
                 f"services not configured: {MISSING}")
class S3StreamingExportTest(unittest.TestCase):
    def setUp(self):
        self.assertFalse(MISSING, f"UE_REQUIRE_SERVICES=1 but unset: {MISSING}")
        self.tmp = Path(harness.new_temp_dir())
        self.db = stack.PrivateDatabase(os.environ["UE_TEST_PG_URL"])
        self.s3 = stack.PrivateS3(self.tmp / "s3")  # its own request log
        self.bucket = stack.new_bucket_name()
        self.env = stack.s3_env(self.s3.access, self.s3.secret)

    def tearDown(self):
        self.s3.stop()
        self.db.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_a_multipart_export_reads_back_as_the_exact_bytes_its_message_names(self):
        # gzip level 0 keeps the file large: three 5 MiB parts for 150,000 users.
        config = stack.stack_config(
            self.tmp / "user-export.toml", domain=DOMAIN, database_url=self.db.url,
            bucket=self.bucket, s3_endpoint=self.s3.endpoint, staging=self.tmp / "staging",
            messages_file=self.tmp / "messages.jsonl",
            s3_extra="multipart_threshold_mib = 5\npart_size_mib = 5\nparallel_parts = 2\n",
            extra="\n[csv]\ngzip_level = 0\n")
        harness.run(["seed", "--config", str(config), "--users", str(USERS), "--groups", "1"],
                    env=self.env)
        harness.export(config, env=self.env)

        messages = [json.loads(line)["value"] for line in
                    (self.tmp / "messages.jsonl").read_text().splitlines() if line.strip()]
        files = [m for m in messages if m["payload"] == "USERS_EXPORT_FILE"]
        self.assertEqual(len(files), 1, messages)
        message = files[0]
        raw = stack.s3_get(self.s3.endpoint, self.s3.access, self.s3.secret, self.bucket,
                           message["objectKey"])
        self.assertEqual(len(raw), message["bytes"])
        self.assertEqual(hashlib.sha256(raw).hexdigest(), message["sha256"])
        self.assertGreater(len(raw), 10 << 20, "the file was to need three parts or more")
        text = gzip.decompress(raw).decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        self.assertEqual(rows[0], harness.COLUMNS)
        self.assertEqual(len(rows) - 1, USERS)
        self.assertEqual(message["rowCount"], USERS)

        key_url = f"/{self.bucket}/{message['objectKey']}"
        requests = [r for r in self.s3.requests() if r["url"].startswith(key_url)]
        started = [r for r in requests if r["method"] == "POST" and "?uploads" in r["url"]]
        parts = [r for r in requests if "partNumber=" in r["url"]]
        completed = [r for r in requests if r["method"] == "POST" and "?uploadId=" in r["url"]]
        self.assertEqual(len(started), 1, requests)
        self.assertEqual(len(parts), (len(raw) + (5 << 20) - 1) // (5 << 20), requests)
        self.assertTrue(all(r["status"] == 200 for r in parts), parts)
        self.assertEqual(len(completed), 1, requests)
        self.assertEqual([r for r in requests if r["url"] == key_url and r["method"] == "PUT"],
                         [], "the file was uploaded again after the parts")
        self.assertEqual(stack.psql(self.db.url, "SELECT count(*) FROM users WHERE "
                                    "sent_to_matching_service"), [[str(USERS)]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
