"""End-to-end: `user-export plan` writes nothing and predicts the export that follows it;
`user-export verify` agrees with good runs and names a damaged or missing object and an
undelivered message. On SQLite and, when UE_TEST_PG_URL is set, on PostgreSQL."""
import hashlib
import json
import os
import shutil
import sys
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import stack  # noqa: E402

DOMAIN = "5f0c6c1e-8d0b-4c57-9a57-2b8f3c0e9d41"
COLUMNS = """
[[csv.columns]]
source = "ref_id"

[[csv.columns]]
source = "email"
mask = "partial"
"""


def tree(directory):
    """Every file under `directory` with its SHA-256 (names relative to it)."""
    root = Path(directory)
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class PlanVerifyCase:
    """The scenario, on the backend a subclass sets up (database_url, db_* helpers)."""

    def setUp(self):
        self.tmp = Path(harness.new_temp_dir())
        self.staging = self.tmp / "staging"
        self.objects = self.tmp / "objects"
        self.messages = self.tmp / "messages.jsonl"
        self.open_database()
        config = stack.stack_config(self.tmp / "user-export.toml", domain=DOMAIN,
                                    database_url=self.database_url, staging=self.staging,
                                    messages_file=self.messages, extra=COLUMNS)
        # Small messages: the id-list groups are cut into several parts.
        config.write_text(config.read_text().replace(
            "delivery_timeout_ms = 5000", "delivery_timeout_ms = 5000\nmax_message_bytes = 2048"))
        self.config = config
        self.cli("migrate")
        self.cli("seed", "--users", "400", "--groups", "4", "--seed", "1")
        harness.export(self.config)  # history: four finished runs
        self.cli("seed", "--users", "300", "--groups", "2", "--seed", "2")  # two new groups

    def tearDown(self):
        self.close_database()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self, command, *args, check=True):
        return harness.run([command, "--config", str(self.config), *args], check=check)

    def snapshot(self):
        return (self.db_snapshot(), tree(self.objects), tree(self.staging),
                self.messages.read_bytes() if self.messages.exists() else b"")

    def runs(self):
        """run_id -> (group_id, state, item_count, object_key) of every run."""
        return {r[0]: (r[1], r[2], int(r[3]), r[4]) for r in self.db_rows(
            "SELECT run_id, group_id, state, item_count, coalesce(object_key, '') "
            "FROM export_runs")}

    def test_plan_writes_nothing_and_predicts_the_export(self):
        before = self.snapshot()
        proc = self.cli("plan", "--json")
        table = self.cli("plan")
        self.assertEqual(self.snapshot(), before, "plan changed the database, store or messages")
        plans = json.loads(proc.stdout)
        self.assertEqual(len(plans), 6)
        self.assertIn("est. bytes", table.stdout)
        waiting = {p["groupId"]: p for p in plans if p["users"] > 0}
        self.assertEqual(len(waiting), 2, plans)
        for p in plans:
            if p["type"] == "COST_BASED":
                self.assertEqual(p["maskedColumns"], [{"column": "email", "mask": "partial"}])
                self.assertTrue(p["keyPrefix"].startswith(f"{DOMAIN}/{p['groupId']}/"), p)
                if p["users"] > 0:
                    self.assertGreater(p["estimatedBytes"], 0)  # from the other groups' runs
            else:
                self.assertIsNone(p["keyPrefix"])
                self.assertIsNone(p["estimatedBytes"])
            self.assertIsNone(p["resumesRun"])
        self.assertGreater(max(p["messages"] for p in waiting.values()), 1, "one id-list part")

        old_runs = set(self.runs())
        harness.export(self.config)
        new_runs = {r: v for r, v in self.runs().items() if r not in old_runs}
        exported = {v[0]: (r, v) for r, v in new_runs.items() if v[1] != "empty"}
        self.assertEqual(set(exported), set(waiting))
        for group, (run_id, (_, state, claimed, key)) in exported.items():
            self.assertEqual(state, "completed")
            self.assertEqual(claimed, waiting[group]["users"], group)
            messages = int(self.db_rows(
                f"SELECT count(*) FROM export_outbox WHERE run_id = '{run_id}'")[0][0])
            self.assertEqual(messages, waiting[group]["messages"], group)
            if key:
                self.assertTrue(key.startswith(waiting[group]["keyPrefix"]), key)

        # Bad input: one sentence, exit 2, nothing written.
        before = self.snapshot()
        for bad in ("not-a-group", str(uuid.uuid4())):
            proc = self.cli("plan", "--group", bad, check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(bad, proc.stderr)
        self.assertEqual(self.snapshot(), before)

    def test_verify_agrees_with_good_runs_and_names_what_differs(self):
        finished = {r: v for r, v in self.runs().items() if v[1] in ("committed", "completed")}
        self.assertEqual(len(finished), 4)
        proc = self.cli("verify")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        for run_id, (group, *_rest) in finished.items():
            self.assertIn(f"OK run {run_id} group {group}", proc.stdout)

        files = [(r, v) for r, v in finished.items() if v[3]]
        id_lists = [(r, v) for r, v in finished.items() if not v[3]]
        (damaged, (damaged_group, _, _, damaged_key)), (deleted, (_, _, _, deleted_key)) = files
        path = self.objects / damaged_key
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        (self.objects / deleted_key).unlink()
        undelivered = id_lists[0][0]
        self.db_exec("UPDATE export_outbox SET state = 'pending', published_at = NULL "
                     f"WHERE run_id = '{undelivered}' AND seq = 0")

        proc = self.cli("verify", check=False)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        lines = {line.split()[2]: line for line in proc.stdout.splitlines()
                 if line.startswith(("OK run", "FAIL run"))}
        self.assertTrue(lines[damaged].startswith(f"FAIL run {damaged} group {damaged_group}: "))
        self.assertIn("has SHA-256", lines[damaged])
        self.assertIn(f"object {deleted_key} is missing from the store", lines[deleted])
        self.assertIn("still pending, not delivered", lines[undelivered])
        self.assertTrue(lines[id_lists[1][0]].startswith("OK run"), lines)
        self.assertIn("4 runs: 1 agree, 3 differ", proc.stdout)

        one = self.cli("verify", "--run", id_lists[1][0])
        self.assertIn(f"OK run {id_lists[1][0]}", one.stdout)
        later = self.cli("verify", "--since", "2200-01-01T00:00:00Z")
        self.assertIn("no committed or completed run", later.stdout)
        for bad in ("nope", str(uuid.uuid4())):
            proc = self.cli("verify", "--run", bad, check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(bad, proc.stderr)
        self.assertEqual(self.cli("verify", "--since", "yesterday", check=False).returncode, 2)


class SqlitePlanVerifyTest(PlanVerifyCase, unittest.TestCase):
    def open_database(self):
        self.db_path = self.tmp / "db" / "user-export.db"
        self.database_url = f"sqlite://{self.db_path}"

    def close_database(self):
        pass

    def db_snapshot(self):
        # The file's bytes and every file beside it (no journal or WAL left behind).
        return (self.db_path.read_bytes(), sorted(os.listdir(self.db_path.parent)))

    def db_rows(self, sql):
        import sqlite3
        with sqlite3.connect(self.db_path) as db:
            return [list(r) for r in db.execute(sql)]

    def db_exec(self, sql):
        import sqlite3
        db = sqlite3.connect(self.db_path)
        db.execute(sql)
        db.commit()
        db.close()


MISSING = stack.services_missing("pg")


@unittest.skipIf(MISSING and os.environ.get("UE_REQUIRE_SERVICES") != "1",
                 f"no PostgreSQL test server ({MISSING} unset)")
class PostgresPlanVerifyTest(PlanVerifyCase, unittest.TestCase):
    def open_database(self):
        self.assertFalse(MISSING, f"UE_REQUIRE_SERVICES=1 but unset: {MISSING}")
        self.database = stack.PrivateDatabase(os.environ["UE_TEST_PG_URL"])
        self.database_url = self.database.url

    def close_database(self):
        self.database.close()

    def db_snapshot(self):
        # Every row of every table, as an md5 per table of the ordered rows.
        tables = [t for (t,) in stack.psql(self.database_url, (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name"))]
        self.assertIn("export_runs", tables)
        return {t: stack.scalar(self.database_url,
                                f"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, "
                                f"'|' ORDER BY t::text)), '') FROM {t} t")
                for t in tables}

    def db_rows(self, sql):
        return stack.psql(self.database_url, sql)

    def db_exec(self, sql):
        stack.psql(self.database_url, sql)


if __name__ == "__main__":
    harness.BINARY = os.environ.get("USER_EXPORT_BIN") or sys.argv.pop(1)
    unittest.main(verbosity=2)
