"""End-to-end: `user-export demo` and repeated `export` runs on the embedded default backends."""
import gzip
import os
import shutil
import subprocess
import sys
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Demo, read_csv_gz, sha256_file  # noqa: E402


def db_value(v):
    return "" if v is None else str(v)


class DemoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = harness.new_temp_dir()
        cls.demo = Demo(Path(cls.tmp) / "demo")
        cls.proc = harness.run(["demo", "--dir", str(cls.demo.dir), "--users", "3000",
                                "--groups", "4"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_prints_a_table_row_per_group(self):
        out = self.proc.stdout
        with self.demo.db() as db:
            groups = [g for (g,) in db.execute("SELECT id FROM matching_groups WHERE active")]
        self.assertEqual(len(groups), 4)
        for g in groups:
            self.assertIn(g, out)
        self.assertIn("COST_BASED", out)
        self.assertIn("NON_COST_BASED", out)

    def test_each_cost_based_group_has_one_valid_file_matching_the_database(self):
        demo = self.demo
        with demo.db() as db:
            cost_groups = [g for (g,) in db.execute(
                "SELECT id FROM matching_groups WHERE group_type = 'COST_BASED' AND active")]
            self.assertEqual(len(cost_groups), 2)
            file_messages = [m for m in demo.messages()
                             if m["value"].get("payload") == "USERS_EXPORT_FILE"]
            self.assertEqual(sorted(m["key"] for m in file_messages), sorted(cost_groups))
            for m in file_messages:
                v = m["value"]
                path = Path(v["url"][len("file://"):])
                self.assertTrue(path.is_file(), path)
                self.assertEqual(v["filePath"], v["url"])
                self.assertIn(f"/{v['groupId']}/", str(path))
                subprocess.run(["gzip", "-t", str(path)], check=True)
                self.assertEqual(v["bytes"], path.stat().st_size)
                self.assertEqual(v["sha256"], sha256_file(path))
                header, rows = read_csv_gz(path)
                self.assertEqual(header, harness.COLUMNS)
                self.assertEqual(v["rowCount"], len(rows))
                expected = db.execute(
                    "SELECT COUNT(*) FROM users WHERE group_id = ?", (v["groupId"],)).fetchone()[0]
                self.assertEqual(len(rows), expected)
                for row in rows:
                    db_row = db.execute(harness.SOURCE_SQL, (row[0],)).fetchone()
                    self.assertIsNotNone(db_row, row[0])
                    self.assertEqual(row, [db_value(x) for x in db_row])
                ids = [r[0] for r in rows]
                self.assertEqual(len(ids), len(set(ids)))
        # Each cost-based group has exactly one file.
        self.assertEqual(len(demo.objects()), 2)

    def test_hostile_values_survive_the_round_trip(self):
        with self.demo.db() as db:
            hostile = db.execute(
                "SELECT COUNT(*) FROM profiles WHERE bio LIKE '%,%' OR bio LIKE '%\"%' "
                "OR bio LIKE '%' || char(10) || '%'").fetchone()[0]
            non_ascii = db.execute(
                "SELECT COUNT(*) FROM profiles WHERE city <> CAST(city AS BLOB) "
                "OR length(CAST(display_name AS BLOB)) <> length(display_name)").fetchone()[0]
        self.assertGreater(hostile, 0, "the demo data should contain hostile values")
        self.assertGreater(non_ascii, 0, "the demo data should contain non-ASCII text")

    def test_non_cost_groups_have_id_list_messages_only(self):
        demo = self.demo
        with demo.db() as db:
            for (gid,) in db.execute(
                    "SELECT id FROM matching_groups WHERE group_type = 'NON_COST_BASED'"):
                msgs = [m for m in demo.messages() if m["key"] == gid]
                self.assertGreaterEqual(len(msgs), 1)
                ids = []
                for m in msgs:
                    v = m["value"]
                    self.assertEqual(v["payload"], "USERS_EXPORT_REF_IDS")
                    self.assertNotIn("url", v)
                    self.assertEqual(v["parts"], len(msgs))
                    ids += v["refIds"]
                expected = sorted(r for (r,) in db.execute(
                    "SELECT ref_id FROM users WHERE group_id = ?", (gid,)))
                self.assertEqual(sorted(ids), expected)
                self.assertFalse(any(p.parent.parent.name == gid for p in demo.objects()))

    def test_every_user_marked_and_headers_present(self):
        with self.demo.db() as db:
            unsent = db.execute(
                "SELECT COUNT(*) FROM users WHERE NOT sent_to_matching_service").fetchone()[0]
            pending = db.execute(
                "SELECT COUNT(*) FROM export_outbox WHERE state <> 'published'").fetchone()[0]
        self.assertEqual(unsent, 0)
        self.assertEqual(pending, 0)
        for m in self.demo.messages():
            self.assertEqual(m["topic"], "flairbit-users")
            self.assertIn("runId", m["headers"])
            self.assertEqual(m["headers"]["runId"], m["value"]["runId"])


class RepeatedExportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = harness.new_temp_dir()
        self.demo = Demo(Path(self.tmp) / "d")
        harness.run(["demo", "--dir", str(self.demo.dir), "--users", "400", "--groups", "2"])

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def add_users(self, count):
        with self.demo.db() as db:
            groups = [g for (g,) in db.execute("SELECT id FROM matching_groups ORDER BY id")]
            refs = []
            for i in range(count):
                ref = str(uuid.uuid4())
                refs.append(ref)
                db.execute("INSERT INTO users (ref_id, username, email, phone, group_id, "
                           "sent_to_matching_service, created_at) VALUES (?, ?, ?, ?, ?, 0, "
                           "'2026-01-01 00:00:00')",
                           (ref, f"late_user_{i}", f"late{i}@example.com", None,
                            groups[i % len(groups)]))
            db.commit()
        return refs

    def exported_ref_ids(self, since_messages):
        refs = []
        for m in self.demo.messages()[since_messages:]:
            v = m["value"]
            if "refIds" in v:
                refs += v["refIds"]
            else:
                _, rows = read_csv_gz(v["url"][len("file://"):])
                refs += [r[0] for r in rows]
        return refs

    def test_second_export_exports_nothing_new(self):
        before = len(self.demo.messages())
        objects = self.demo.objects()
        self.demo.export()
        self.assertEqual(len(self.demo.messages()), before)
        self.assertEqual(self.demo.objects(), objects)

    def test_users_added_between_runs_are_exported_by_the_next_run_only(self):
        before = len(self.demo.messages())
        refs = self.add_users(10)
        self.demo.export()
        self.assertEqual(sorted(self.exported_ref_ids(before)), sorted(refs))
        after = len(self.demo.messages())
        self.demo.export()
        self.assertEqual(len(self.demo.messages()), after)

    def test_unknown_group_type_fails_that_group_only(self):
        refs = self.add_users(4)  # into the two good groups, before the bad one exists
        with self.demo.db() as db:
            bad = str(uuid.uuid4())
            domain = db.execute("SELECT domain_id FROM matching_groups LIMIT 1").fetchone()[0]
            db.execute("INSERT INTO matching_groups (id, domain_id, name, group_type, active, "
                       "created_at) VALUES (?, ?, 'bad', 'PREMIUM', 1, '2026-01-01 00:00:00')",
                       (bad, domain))
            db.execute("INSERT INTO users (ref_id, username, group_id, sent_to_matching_service, "
                       "created_at) VALUES (?, 'stuck', ?, 0, '2026-01-01 00:00:00')",
                       (str(uuid.uuid4()), bad))
            db.commit()
        before = len(self.demo.messages())
        proc = self.demo.export("--metrics-file", str(Path(self.tmp) / "m.prom"), check=False)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("PREMIUM", proc.stdout + proc.stderr)
        self.assertEqual(sorted(self.exported_ref_ids(before)), sorted(refs))
        with self.demo.db() as db:
            stuck = db.execute("SELECT sent_to_matching_service FROM users WHERE username = 'stuck'"
                               ).fetchone()[0]
        self.assertEqual(stuck, 0, "a user of the failed group must stay unmarked")
        metrics = (Path(self.tmp) / "m.prom").read_text()
        self.assertIn(f'users_export_invalid_group_type_total{{group_id="{bad}",group_type="PREMIUM"}} 1',
                      metrics)

    def test_bad_config_is_exit_2_naming_the_key(self):
        bad = Path(self.tmp) / "bad.toml"
        bad.write_text(self.demo.config.read_text().replace("[export]", "[export]\nmax_parallel_groups = 0\n", 1)
                       .replace("max_parallel_groups = 2\n", "", 1))
        proc = harness.run(["export", "--config", str(bad)], check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("max_parallel_groups", proc.stderr)

    def test_invalid_domain_id_is_exit_2(self):
        proc = self.demo.export(env={"USER_EXPORT_DOMAIN_ID": "not-a-uuid"}, check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("not-a-uuid", proc.stderr)


if __name__ == "__main__":
    harness.BINARY = os.environ.get("USER_EXPORT_BIN") or sys.argv.pop(1)
    unittest.main(verbosity=2)
