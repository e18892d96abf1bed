"""End-to-end: `user-export schedule` prints the next fire times of the configured cron."""
import os
import re
import shutil
import sys
import time
import unittest
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)([+-]\d\d:\d\d) \((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\)$")


class ScheduleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(harness.new_temp_dir())
        # No [schedule] section: the default `0 59 20 * * *` in Asia/Kolkata applies.
        cls.config = cls.tmp / "user-export.toml"
        cls.config.write_text(
            "[export]\n"
            'domain_id = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"\n'
            "[database]\n"
            f'url = "sqlite://{cls.tmp}/user-export.db"\n'
            "[store]\n"
            f'url = "file://{cls.tmp}/objects"\n'
            "[messages]\n"
            f'file = "{cls.tmp}/messages.jsonl"\n',
            encoding="utf-8")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def schedule(self, *extra, env=None, check=True):
        return harness.run(["schedule", "--config", str(self.config), *extra], env=env,
                           check=check)

    def test_default_schedule_in_kolkata_for_a_fixed_instant(self):
        proc = self.schedule("--next", "3", "--from", "2026-11-25T00:00:00Z")
        self.assertEqual(proc.stdout.splitlines(), [
            "2026-11-25T20:59:00+05:30 (2026-11-25T15:29:00Z)",
            "2026-11-26T20:59:00+05:30 (2026-11-26T15:29:00Z)",
            "2026-11-27T20:59:00+05:30 (2026-11-27T15:29:00Z)",
        ])

    def test_from_is_exclusive(self):
        proc = self.schedule("--next", "1", "--from", "2026-11-25T15:29:00Z")
        self.assertEqual(proc.stdout.splitlines(),
                         ["2026-11-26T20:59:00+05:30 (2026-11-26T15:29:00Z)"])

    def test_environment_overrides_and_dst_gap_and_overlap(self):
        env = {"USER_EXPORT_SCHEDULE": "0 30 2 * * *", "USER_EXPORT_TIME_ZONE": "Europe/Berlin"}
        spring = self.schedule("--next", "2", "--from", "2026-03-27T12:00:00Z", env=env)
        self.assertEqual(spring.stdout.splitlines(), [
            "2026-03-28T02:30:00+01:00 (2026-03-28T01:30:00Z)",
            "2026-03-30T02:30:00+02:00 (2026-03-30T00:30:00Z)",  # 29th: 02:30 does not exist
        ])
        autumn = self.schedule("--next", "2", "--from", "2026-10-24T12:00:00Z", env=env)
        self.assertEqual(autumn.stdout.splitlines(), [
            "2026-10-25T02:30:00+02:00 (2026-10-25T00:30:00Z)",  # first of two 02:30s only
            "2026-10-26T02:30:00+01:00 (2026-10-26T01:30:00Z)",
        ])

    def test_default_from_is_now(self):
        before = datetime.now(timezone.utc).replace(microsecond=0)
        proc = self.schedule("--next", "2",
                             env={"USER_EXPORT_SCHEDULE": "*/10 * * * * *",
                                  "USER_EXPORT_TIME_ZONE": "UTC"})
        lines = proc.stdout.splitlines()
        self.assertEqual(len(lines), 2, proc.stdout)
        instants = []
        for line in lines:
            m = LINE.match(line)
            self.assertIsNotNone(m, line)
            self.assertEqual(m.group(2), "+00:00")
            instants.append(datetime.strptime(m.group(3), "%Y-%m-%dT%H:%M:%SZ")
                            .replace(tzinfo=timezone.utc))
        self.assertGreater(instants[0], before)
        self.assertEqual((instants[1] - instants[0]).total_seconds(), 10)
        self.assertEqual(instants[0].second % 10, 0)

    def test_invalid_expression_exits_2_naming_the_field(self):
        proc = self.schedule("--next", "1", "--from", "2026-11-25T00:00:00Z",
                             env={"USER_EXPORT_SCHEDULE": "0 61 20 * * *"}, check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("minute field '61'", proc.stderr)
        self.assertIn("out of range", proc.stderr)

    def test_unknown_zone_exits_2(self):
        proc = self.schedule("--next", "1", env={"USER_EXPORT_TIME_ZONE": "Mars/Olympus_Mons"},
                             check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("unknown time zone 'Mars/Olympus_Mons'", proc.stderr)

    def test_malformed_from_exits_2(self):
        proc = self.schedule("--next", "1", "--from", "tomorrow", check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("--from 'tomorrow'", proc.stderr)

    def test_impossible_date_is_a_configuration_error(self):
        started = time.monotonic()
        proc = self.schedule("--next", "3", "--from", "2026-11-25T00:00:00Z",
                             env={"USER_EXPORT_SCHEDULE": "0 0 0 30 2 *"}, check=False)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertIn("schedule.cron", proc.stderr)
        self.assertIn("never fires", proc.stderr)
        self.assertLess(time.monotonic() - started, 120)


if __name__ == "__main__":
    unittest.main()
