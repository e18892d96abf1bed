"""End-to-end: the operator's commands on SQLite and PostgreSQL (docs/OPERATIONS.md) — `runs`
lists what the database holds, `replay` delivers a run's message again with the same runId and
content, `reexport` followed by an export sends exactly the run's users again in a new run, and
bad input is one sentence with exit code 2 that changes nothing."""
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
from backends import Backend  # noqa: E402

REQUIRE = os.environ.get("UE_REQUIRE_SERVICES") == "1"


def ref_ids_of_object(path):
    header, rows = harness.read_csv_gz(path)
    column = header.index("ref_id")
    return sorted(row[column] for row in rows)


class OperatorCommandsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = harness.new_temp_dir()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def backend(self, kind):
        if kind == "postgres":
            missing = stack.services_missing("pg")
            if missing:
                if REQUIRE:
                    self.fail(f"PostgreSQL is required but {missing} is unset")
                self.skipTest(f"no PostgreSQL ({missing} unset)")
        (Path(self.tmp) / kind).mkdir(parents=True, exist_ok=True)
        b = Backend(Path(self.tmp) / kind, kind)
        self.addCleanup(b.close)
        return b

    def cli(self, b, *args, check=True):
        return harness.run([args[0], "--config", str(b.config()), *args[1:]], check=check)

    def runs(self, b, *args):
        return json.loads(self.cli(b, "runs", "--json", *args).stdout)

    def show(self, b, run_id):
        return json.loads(self.cli(b, "runs", "show", run_id).stdout)

    def objects(self, b):
        return sorted((b.tmp / "objects").rglob("*.csv.gz"))

    def state(self, b):
        """What an action must leave alone when it is refused."""
        return (b.count("SELECT count(*) FROM export_outbox"),
                b.count("SELECT count(*) FROM users WHERE sent_to_matching_service"),
                b.query("SELECT count(*) || ':' || min(state) || max(state) FROM export_runs"),
                len(b.read_envelopes()))

    def check_operator_commands(self, kind):
        b = self.backend(kind)
        first = b.seed(600, groups=2, group_type="COST_BASED")
        harness.export(b.config())
        runs = self.runs(b)
        self.assertEqual(len(runs), 2)
        self.assertEqual({r["state"] for r in runs}, {"completed"})
        run = next(r for r in runs if r["groupId"] == first)
        for field in ("runId", "groupId", "state", "rows", "objectKey", "users", "createdAt"):
            self.assertIn(field, run)
        self.assertEqual(run["rows"], 300)
        # Filters: by group (any letter case), state, age, count.
        self.assertEqual([r["runId"] for r in self.runs(b, "--group", first.upper())],
                         [run["runId"]])
        self.assertEqual(self.runs(b, "--state", "claimed"), [])
        self.assertEqual(len(self.runs(b, "--limit", "1")), 1)
        self.assertEqual(self.runs(b, "--since", "2200-01-01T00:00:00Z"), [])
        table = self.cli(b, "runs").stdout
        self.assertIn(run["runId"], table)
        self.assertEqual(self.show(b, run["runId"].upper())["actions"], [])

        # Replay: the same message again, with the reason in a header, audited.
        original = [e for e in b.read_envelopes() if e["headers"]["runId"] == run["runId"]]
        self.assertEqual(len(original), 1)
        out = self.cli(b, "replay", "--run", run["runId"], "--reason",
                       "consumer lost the file").stdout
        self.assertIn("queued 1 message(s)", out)
        self.assertEqual(self.runs(b, "--group", first)[0]["state"], "committed")
        shown = self.show(b, run["runId"])["messages"]
        self.assertEqual([(m["seq"], m["state"]) for m in shown],
                         [(shown[0]["seq"], "published"), (shown[1]["seq"], "pending")])
        self.assertGreater(shown[1]["seq"], shown[0]["seq"])
        self.assertEqual(shown[1]["headers"]["replay"], "consumer lost the file")
        self.assertIsNone(shown[1]["publishedAt"])
        self.assertEqual(shown[1]["payload"], shown[0]["payload"])
        self.cli(b, "relay")
        shown = self.show(b, run["runId"])["messages"]
        self.assertEqual([m["state"] for m in shown], ["published", "published"])
        self.assertIsNotNone(shown[1]["publishedAt"])
        again = [e for e in b.read_envelopes() if e["headers"]["runId"] == run["runId"]]
        self.assertEqual(len(again), 2)
        self.assertEqual(again[1]["value"], original[0]["value"])
        self.assertEqual(again[1]["key"], original[0]["key"])
        self.assertEqual(again[1]["topic"], original[0]["topic"])
        self.assertEqual(again[1]["headers"]["replay"], "consumer lost the file")
        self.assertEqual({k: v for k, v in again[1]["headers"].items() if k != "replay"},
                         original[0]["headers"])
        self.assertEqual(self.runs(b, "--group", first)[0]["state"], "completed")
        actions = self.show(b, run["runId"])["actions"]
        self.assertEqual([(a["action"], a["reason"], a["count"]) for a in actions],
                         [("replay", "consumer lost the file", 1)])
        self.assertTrue(actions[0]["actor"].startswith("cli:"))

        # Re-export: the run's users unsent, then a new run sends exactly them again.
        sent_file = [p for p in self.objects(b) if run["runId"] in p.name]
        self.assertEqual(len(sent_file), 1)
        users_of_run = ref_ids_of_object(sent_file[0])
        out = self.cli(b, "reexport", "--run", run["runId"], "--reason", "file was corrupt").stdout
        self.assertIn("set 300 user(s)", out)
        self.assertEqual(b.count(f"SELECT count(*) FROM users WHERE group_id = '{first}' "
                                 "AND NOT sent_to_matching_service"), 300)
        harness.export(b.config(), "--group", first)
        newest = self.runs(b, "--group", first)[0]
        self.assertNotEqual(newest["runId"], run["runId"])
        self.assertEqual(newest["state"], "completed")
        self.assertEqual(newest["rows"], 300)
        new_file = [p for p in self.objects(b) if newest["runId"] in p.name]
        self.assertEqual(ref_ids_of_object(new_file[0]), users_of_run)
        self.assertEqual(b.count("SELECT count(*) FROM users WHERE NOT sent_to_matching_service"),
                         0)
        new_message = [e for e in b.read_envelopes() if e["headers"]["runId"] == newest["runId"]]
        self.assertEqual(len(new_message), 1)
        self.assertEqual(json.loads(new_message[0]["value"])["rowCount"]
                         if isinstance(new_message[0]["value"], str)
                         else new_message[0]["value"]["rowCount"], 300)
        self.assertEqual([a["action"] for a in self.show(b, run["runId"])["actions"]],
                         ["replay", "reexport"])

        # --now exports at once.
        self.cli(b, "reexport", "--run", newest["runId"], "--reason", "again", "--now")
        self.assertEqual(len(self.runs(b, "--group", first)), 3)
        self.assertEqual(b.count("SELECT count(*) FROM users WHERE NOT sent_to_matching_service"),
                         0)

        # verify agrees with all of it: the replayed run (its copy delivered) and the
        # re-exported runs (their users unsent on purpose) are no differences.
        verified = self.cli(b, "verify", "--since", "2000-01-01T00:00:00Z")
        self.assertNotIn("FAIL", verified.stdout)
        self.assertIn(f"OK run {run['runId']}", verified.stdout)
        self.assertIn(f"OK run {newest['runId']}", verified.stdout)

        # Bad input: one sentence, exit 2, nothing changed.
        harness.export(b.config())  # nobody new: empty runs
        empty = self.runs(b, "--state", "empty")[0]["runId"]
        b.sql(f"INSERT INTO users (id, ref_id, username, group_id, sent_to_matching_service, "
              f"created_at) SELECT max(id) + 1, '{uuid.uuid4()}', 'late', '{first}', "
              f"{'false' if kind == 'postgres' else '0'}, '2026-01-01 00:00:00' FROM users")
        killed = harness.run(["export", "--config", str(b.config()), "--group", first],
                             env={"USER_EXPORT_FAULT": "after_stage:kill"}, check=False)
        self.assertNotEqual(killed.returncode, 0)
        claimed = self.runs(b, "--state", "claimed")[0]["runId"]
        before = self.state(b)
        cases = [
            (["replay", "--run", "last-night", "--reason", "x"], "'last-night' is not a run id"),
            (["replay", "--run", "11111111-2222-3333-4444-555555555555", "--reason", "x"],
             "there is no run 11111111-2222-3333-4444-555555555555"),
            (["replay", "--run", run["runId"]], "--reason"),
            (["replay", "--run", run["runId"], "--reason", " "], "needs a reason"),
            (["replay", "--run", claimed, "--reason", "x"], "is not finished (claimed)"),
            (["reexport", "--run", claimed, "--reason", "x"], "is not finished (claimed)"),
            (["replay", "--run", empty, "--reason", "x"], "is empty"),
            (["reexport", "--run", "zzz", "--reason", "x"], "'zzz' is not a run id"),
            (["runs", "show", "nope"], "'nope' is not a run id"),
            (["runs", "--group", "nope"], "invalid group id 'nope'"),
        ]
        for args, said in cases:
            proc = self.cli(b, *args, check=False)
            self.assertEqual(proc.returncode, 2, f"{args}: {proc.stderr}")
            self.assertIn(said, proc.stderr, args)
            self.assertLessEqual(len(proc.stderr.strip().splitlines()), 2, proc.stderr)
        self.assertEqual(self.state(b), before)

    def test_sqlite(self):
        self.check_operator_commands("sqlite")

    def test_postgres(self):
        self.check_operator_commands("postgres")


if __name__ == "__main__":
    unittest.main()
