"""Presigned downloads (docs/S3.md, "Presigned downloads"): with [store.s3] presign_seconds set,
a file message's downloadUrl downloads the exact object from the signature-checking S3 server
with plain curl and no credentials, a tampered URL is refused, and an expired one is refused."""
import csv
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import stack  # noqa: E402

DOMAIN = "2b7f4c1e-9a3d-4f6b-8c2e-5d1a7e9f3b64"
MISSING = stack.services_missing("s3")


def plain_get(url, timeout=60):
    """GET with the curl CLI and nothing else: no credentials, no signing. (status, body)."""
    proc = subprocess.run(["curl", "-s", "--globoff", "--max-time", str(timeout), "-w",
                           "\n%{http_code}", url], capture_output=True, timeout=timeout + 10)
    body, _, status = proc.stdout.rpartition(b"\n")
    return int(status or 0), body


def with_param(url, name, value):
    """`url` with query parameter `name` set to `value` (other parameters and order kept)."""
    base, _, query = url.partition("?")
    pairs = [p.split("=", 1) for p in query.split("&")]
    return base + "?" + "&".join(f"{k}={value if k == name else v}" for k, v in pairs)


def param(url, name):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[name][0]


@unittest.skipIf(MISSING and os.environ.get("UE_REQUIRE_SERVICES") != "1",
                 f"services not configured: {MISSING}")
class S3PresignTest(unittest.TestCase):
    def setUp(self):
        self.assertFalse(MISSING, f"UE_REQUIRE_SERVICES=1 but unset: {MISSING}")
        self.tmp = Path(harness.new_temp_dir())
        self.s3 = stack.PrivateS3(self.tmp / "s3")
        self.bucket = stack.new_bucket_name()
        self.env = stack.s3_env(self.s3.access, self.s3.secret)

    def tearDown(self):
        self.s3.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def export(self, presign_seconds):
        """Seeds a cost-based and a non-cost-based group into SQLite, exports them to the S3
        server with presign_seconds and returns (delivered message values, export process)."""
        config = stack.stack_config(
            self.tmp / "user-export.toml", domain=DOMAIN,
            database_url=f"sqlite://{self.tmp / 'db.sqlite'}", bucket=self.bucket,
            s3_endpoint=self.s3.endpoint, staging=self.tmp / "staging",
            messages_file=self.tmp / "messages.jsonl",
            s3_extra=f"presign_seconds = {presign_seconds}\n",
            extra='\n[log]\nlevel = "debug"\n')
        self.config = config
        harness.run(["seed", "--config", str(config), "--users", "300", "--groups", "2"],
                    env=self.env)
        proc = harness.export(config, env=self.env)
        messages = [json.loads(line)["value"] for line in
                    (self.tmp / "messages.jsonl").read_text().splitlines() if line.strip()]
        return messages, proc

    def test_the_download_url_fetches_the_exact_object_without_credentials(self):
        messages, proc = self.export(3600)
        files = [m for m in messages if m["payload"] == "USERS_EXPORT_FILE"]
        id_lists = [m for m in messages if m["payload"] == "USERS_EXPORT_REF_IDS"]
        self.assertEqual(len(files), 1, messages)
        self.assertTrue(id_lists, messages)
        for m in id_lists:
            self.assertNotIn("downloadUrl", m)
        message = files[0]
        url = message["downloadUrl"]

        # The object's own URL on the endpoint the upload went to, signed for an hour.
        self.assertTrue(url.startswith(
            stack.s3_url(self.s3.endpoint, self.bucket, message["objectKey"]) + "?"), url)
        self.assertEqual(param(url, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256")
        self.assertEqual(param(url, "X-Amz-Expires"), "3600")
        self.assertEqual(param(url, "X-Amz-SignedHeaders"), "host")
        self.assertRegex(param(url, "X-Amz-Credential"),
                         r"^S3RVER/\d{8}/us-east-1/s3/aws4_request$")
        self.assertRegex(param(url, "X-Amz-Signature"), r"^[0-9a-f]{64}$")
        signed_at = datetime.strptime(param(url, "X-Amz-Date"), "%Y%m%dT%H%M%SZ").replace(
            tzinfo=timezone.utc)
        self.assertLess(abs(time.time() - signed_at.timestamp()), 120)

        # Plain curl, no credentials: the exact bytes the message names.
        status, body = plain_get(url)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(len(body), message["bytes"])
        self.assertEqual(hashlib.sha256(body).hexdigest(), message["sha256"])
        rows = list(csv.reader(io.StringIO(gzip.decompress(body).decode("utf-8"), newline="")))
        self.assertEqual(rows[0], harness.COLUMNS)
        self.assertEqual(len(rows) - 1, message["rowCount"])

        # The server checked that signature: any change to what it covers is refused.
        signature = param(url, "X-Amz-Signature")
        tampered = signature[:-1] + ("0" if signature[-1] != "0" else "1")
        for bad in (with_param(url, "X-Amz-Signature", tampered),
                    with_param(url, "X-Amz-Expires", "7200"),
                    url.replace(message["objectKey"].rsplit("/", 1)[1], "other.csv.gz", 1)):
            status, body = plain_get(bad)
            self.assertEqual(status, 403, bad)
            self.assertIn(b"SignatureDoesNotMatch", body)

        # Neither the URL nor its signature is logged; check-config shows the setting.
        self.assertNotIn(signature, proc.stdout + proc.stderr)
        shown = harness.run(["check-config", str(self.config)], env=self.env).stdout
        self.assertRegex(shown, r"(?m)^presign_seconds = 3600$")

    def test_an_expired_download_url_is_refused(self):
        messages, _ = self.export(1)
        [message] = [m for m in messages if m["payload"] == "USERS_EXPORT_FILE"]
        url = message["downloadUrl"]
        self.assertEqual(param(url, "X-Amz-Expires"), "1")
        signed_at = datetime.strptime(param(url, "X-Amz-Date"), "%Y%m%dT%H%M%SZ").replace(
            tzinfo=timezone.utc).timestamp()
        time.sleep(max(0.0, signed_at + 2.5 - time.time()))
        status, body = plain_get(url)
        self.assertEqual(status, 403, body[:300])
        self.assertRegex(body.decode(), r"<Code>AccessDenied</Code>\s*<Message>Request has expired")

    def test_without_presign_seconds_file_messages_have_no_download_url(self):
        messages, _ = self.export(0)
        files = [m for m in messages if m["payload"] == "USERS_EXPORT_FILE"]
        self.assertEqual(len(files), 1, messages)
        self.assertNotIn("downloadUrl", files[0])
        self.assertTrue(re.fullmatch(r"s3://[^/]+/.+", files[0]["url"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
