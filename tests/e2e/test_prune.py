"""End-to-end: `user-export prune` on SQLite deletes finished history older than the retention
period and keeps everything unfinished, recent, and every user."""
import os
import shutil
import sys
import unittest
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Demo  # noqa: E402

DAY_MS = 24 * 3600 * 1000


class PruneTest(unittest.TestCase):
    def setUp(self):
        self.tmp = harness.new_temp_dir()
        self.demo = Demo(Path(self.tmp) / "d")
        # Four groups exported and delivered: four completed runs.
        harness.run(["demo", "--dir", str(self.demo.dir), "--users", "800", "--groups", "4"])
        with self.demo.db() as db:
            self.groups = [g for (g,) in db.execute("SELECT id FROM matching_groups ORDER BY id")]
            self.old_runs = [r for (r,) in db.execute("SELECT run_id FROM export_runs")]
        self.assertEqual(len(self.old_runs), 4)
        self.age_history(40)
        # A later export: new users of the first group make a recent completed run, the other
        # groups recent empty runs.
        self.add_users(self.groups[0], 5)
        self.demo.export()
        with self.demo.db() as db:
            self.recent_runs = [r for (r,) in db.execute(
                "SELECT run_id FROM export_runs WHERE run_id NOT IN (%s)"
                % ",".join("?" * len(self.old_runs)), self.old_runs)]
            self.recent_run = db.execute(
                "SELECT run_id FROM export_runs WHERE group_id = ? AND state = 'completed' "
                "ORDER BY created_at DESC LIMIT 1", (self.groups[0],)).fetchone()[0]
        self.assertIn(self.recent_run, self.recent_runs)
        with self.demo.db() as db:
            # Two old runs made unfinished: one committed with its messages pending, one claimed
            # (an attempt that failed after its claim).
            self.committed_run, self.claimed_run = self.old_runs[0], self.old_runs[1]
            db.execute("UPDATE export_runs SET state = 'committed' WHERE run_id = ?",
                       (self.committed_run,))
            db.execute("UPDATE export_outbox SET state = 'pending', published_at = NULL "
                       "WHERE run_id = ?", (self.committed_run,))
            db.execute("UPDATE export_runs SET state = 'claimed', lease_owner = NULL "
                       "WHERE run_id = ?", (self.claimed_run,))
            db.execute("DELETE FROM export_outbox WHERE run_id = ?", (self.claimed_run,))
            db.commit()
            self.finished_old = self.old_runs[2:]
            self.users_before = db.execute("SELECT count(*) FROM users").fetchone()[0]
            self.sent_before = db.execute(
                "SELECT count(*) FROM users WHERE sent_to_matching_service").fetchone()[0]
            self.items_of_finished_old = self.count(db, "export_run_items", self.finished_old)
            self.messages_of_finished_old = self.count(db, "export_outbox", self.finished_old)
        self.assertGreater(self.items_of_finished_old, 0)
        self.assertGreater(self.messages_of_finished_old, 0)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def age_history(self, days):
        """Moves every run and message `days` days into the past."""
        shift = days * DAY_MS
        with self.demo.db() as db:
            db.execute("UPDATE export_runs SET created_at = created_at - ?, "
                       "updated_at = updated_at - ?", (shift, shift))
            db.execute("UPDATE export_outbox SET created_at = created_at - ?, "
                       "next_attempt_at = next_attempt_at - ?, "
                       "published_at = published_at - ?", (shift, shift, shift))
            db.commit()

    def add_users(self, group, count):
        with self.demo.db() as db:
            for i in range(count):
                db.execute("INSERT INTO users (ref_id, username, group_id, "
                           "sent_to_matching_service, created_at) VALUES (?, ?, ?, 0, "
                           "'2026-01-01 00:00:00')", (str(uuid.uuid4()), f"new_{i}", group))
            db.commit()

    @staticmethod
    def count(db, table, run_ids):
        return db.execute("SELECT count(*) FROM %s WHERE run_id IN (%s)"
                          % (table, ",".join("?" * len(run_ids))), run_ids).fetchone()[0]

    def prune(self, *extra, env=None, check=True):
        return harness.run(["prune", "--config", str(self.demo.config), *extra], env=env,
                           check=check)

    def test_prune_deletes_old_finished_history_and_keeps_the_rest(self):
        proc = self.prune(env={"USER_EXPORT_LOG_LEVEL": "info"})
        self.assertIn("older than 30 days", proc.stdout)
        self.assertIn("export_runs: 2 rows", proc.stdout)
        self.assertIn(f"export_run_items: {self.items_of_finished_old} rows", proc.stdout)
        self.assertIn(f"export_outbox: {self.messages_of_finished_old} rows", proc.stdout)
        self.assertIn("pruned finished history retention_days=30", proc.stderr)
        self.assertIn(f"export_runs=2 export_run_items={self.items_of_finished_old} "
                      f"export_outbox={self.messages_of_finished_old}", proc.stderr)
        with self.demo.db() as db:
            self.assertEqual(self.count(db, "export_runs", self.finished_old), 0)
            self.assertEqual(self.count(db, "export_run_items", self.finished_old), 0)
            self.assertEqual(self.count(db, "export_outbox", self.finished_old), 0)
            # Unfinished and recent history stays, with its claims and messages.
            states = dict(db.execute("SELECT run_id, state FROM export_runs"))
            self.assertEqual(sorted(states),
                             sorted([self.committed_run, self.claimed_run] + self.recent_runs))
            self.assertEqual(states[self.committed_run], "committed")
            self.assertEqual(states[self.claimed_run], "claimed")
            self.assertEqual(states[self.recent_run], "completed")
            for run in (self.committed_run, self.claimed_run, self.recent_run):
                self.assertGreater(self.count(db, "export_run_items", [run]), 0, run)
            pending = db.execute("SELECT count(*) FROM export_outbox WHERE run_id = ? "
                                 "AND state = 'pending'", (self.committed_run,)).fetchone()[0]
            self.assertGreater(pending, 0)
            self.assertGreater(self.count(db, "export_outbox", [self.recent_run]), 0)
            # Users are never touched.
            self.assertEqual(db.execute("SELECT count(*) FROM users").fetchone()[0],
                             self.users_before)
            self.assertEqual(db.execute("SELECT count(*) FROM users "
                                        "WHERE sent_to_matching_service").fetchone()[0],
                             self.sent_before)
        # Nothing is left to delete.
        again = self.prune()
        self.assertIn("export_runs: 0 rows", again.stdout)

    def test_older_than_days_overrides_the_configured_period(self):
        self.prune("--older-than-days", "50")
        with self.demo.db() as db:
            self.assertEqual(self.count(db, "export_runs", self.finished_old), 2)
        self.age_history(3)  # the recent runs are 3 days old now
        proc = self.prune("--older-than-days", "2")
        self.assertIn(f"export_runs: {2 + len(self.recent_runs)} rows", proc.stdout)
        with self.demo.db() as db:
            states = sorted(s for (s,) in db.execute("SELECT state FROM export_runs"))
        self.assertEqual(states, ["claimed", "committed"])

    def test_bad_period_is_a_usage_error_that_deletes_nothing(self):
        for bad in ("0", "-3", "many"):
            proc = self.prune("--older-than-days", bad, check=False)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("--older-than-days", proc.stderr)
        bad_config = Path(self.tmp) / "bad.toml"
        bad_config.write_text(self.demo.config.read_text() + "\n[retention]\ndays = 0\n")
        proc = harness.run(["prune", "--config", str(bad_config)], check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("retention.days", proc.stderr)
        with self.demo.db() as db:
            self.assertEqual(db.execute("SELECT count(*) FROM export_runs").fetchone()[0],
                             len(self.old_runs) + len(self.recent_runs))


if __name__ == "__main__":
    harness.BINARY = os.environ.get("USER_EXPORT_BIN") or sys.argv.pop(1)
    unittest.main(verbosity=2)
