#!/usr/bin/env python3
"""Crash-anywhere harness: PostgreSQL, a private S3 server (s3rver) and a private Kafka mock
cluster; groups of both types; the exporter is killed with SIGKILL at random moments (a random
delay within its typical run time, or an injected kill at a random fault point, or during the
outbox relay), restarted, and let finish. After every cycle the invariants are checked and
printed; any violation names the users and runs involved.

One cycle in five runs two instances on the same runs: instance A (a short lease) pauses
itself with SIGSTOP just before or just after its uploads, its leases run out, instance B takes
the runs over and commits, then A is resumed. A's uploads land on its own attempts' keys and
its commits are refused, so every committed object still matches its message.

With the default 12 groups (6 cost-based) and the exporter's 4 workers, the cost-based groups
are exported in batches of small groups, so kills land inside batches too; the run fails if no
batch formed.

Library: CrashHarness(...).run(). CLI:
  crash_harness.py [--cycles 20] [--seed S] [--max-seconds 150] [--users-per-cycle 30]
                   [--groups 12]
Needs USER_EXPORT_BIN, UE_KAFKA_MOCK_BIN, UE_KAFKA_CONSUME_BIN (or --build-dir DIR) and
UE_TEST_PG_URL (or a PostgreSQL server installed: then a private one is started).
Exit status: 0 all invariants held, 1 a violation, 2 the services could not be set up.
"""
import argparse
import csv
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
import stack  # noqa: E402
from kafka_peer import MockCluster  # noqa: E402

DOMAIN = "0b7f4a9e-3c21-4d5e-8f60-9a1b2c3d4e5f"
TOPIC = "flairbit-users"
POINTS = ["after_claim", "after_stage", "after_upload", "before_commit", "inside_commit",
          "after_commit", "after_publish"]
# Just before and just after the uploads, and with the commit's locks held.
PAUSE_POINTS = ["after_stage", "after_upload", "inside_commit"]
PAUSED_LEASE_SECONDS = 3  # instance A's lease in a pause cycle
SOURCE_SQL = """
SELECT u.ref_id, u.username, u.email, u.phone, to_char(u.created_at, 'YYYY-MM-DD HH24:MI:SS'),
       p.display_name, p.gender, to_char(p.date_of_birth, 'YYYY-MM-DD'), p.city, p.bio,
       p.interests
FROM users u LEFT JOIN profiles p ON p.user_id = u.id"""


def short(items, limit=20):
    items = sorted(items)
    more = f" … and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(str(i) for i in items[:limit]) + more + f" ({len(items)})"


class CrashHarness:
    def __init__(self, binary, pg_url, workdir, seed, log=print, initial_users=400, groups=12,
                 users_per_cycle=30):
        self.binary = binary
        self.dir = Path(workdir)
        self.rng = random.Random(seed)
        self.seed = seed
        self.log = log
        self.initial_users = initial_users
        self.groups = groups
        self.users_per_cycle = users_per_cycle
        self.db = stack.PrivateDatabase(pg_url, prefix="ue_crash")
        self.s3 = stack.PrivateS3(self.dir / "s3")
        self.cluster = MockCluster()
        self.bucket = stack.new_bucket_name("ue-crash")
        self.staging = self.dir / "staging"
        self.config = stack.stack_config(
            self.dir / "user-export.toml", domain=DOMAIN, database_url=self.db.url,
            bucket=self.bucket, s3_endpoint=self.s3.endpoint, staging=self.staging,
            bootstrap=self.cluster.bootstrap)
        # Instance A of a pause cycle: the same configuration with a short lease. Instance B is
        # the harness's configuration with a staging directory of its own, as every running
        # instance has.
        self.short_lease_config = self.dir / "user-export-short-lease.toml"
        self.short_lease_config.write_text(self.config.read_text().replace(
            "[export]\n", f"[export]\nlease_seconds = {PAUSED_LEASE_SECONDS}\n", 1))
        # One group at a time: each id-list group (and each group a batch leaves) is then
        # exported alone, so its users are marked while it streams, in a transaction left open
        # that the kills and faults below must never let commit half-way.
        self.serial_config = self.dir / "user-export-serial.toml"
        self.serial_config.write_text(self.config.read_text().replace(
            "[export]\n", "[export]\nmax_parallel_groups = 1\n", 1))
        # Instance A of a pause cycle, one group at a time: paused, it holds such a transaction
        # open while B takes its runs over.
        self.short_lease_serial_config = self.dir / "user-export-short-lease-serial.toml"
        self.short_lease_serial_config.write_text(self.short_lease_config.read_text().replace(
            "[export]\n", "[export]\nmax_parallel_groups = 1\n", 1))
        self.staging_b = self.dir / "staging-b"
        self.config_b = self.dir / "user-export-b.toml"
        self.config_b.write_text(self.config.read_text().replace(
            f'staging_dir = "{self.staging}"', f'staging_dir = "{self.staging_b}"', 1))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("USER_EXPORT_")}
        self.env.update(stack.s3_env())
        self.typical_run = 1.0  # seconds; updated from the clean runs
        self.verified = {}  # (key, (etag, size), message) -> ref ids of an object that passed
        self.stats = {"cycles": 0, "kills": 0, "fault_kills": 0, "relay_kills": 0,
                      "exports": 0, "batches": 0, "users": 0, "objects": 0, "messages": 0,
                      "pauses": 0, "refused_stale_attempts": 0}

    def close(self):
        self.cluster.close()
        self.s3.stop()
        self.db.close()

    # --- running the exporter ----------------------------------------------------------------

    def spawn(self, command, fault=None, config=None):
        """Starts `user-export command` at the start of a new second (the slot of a one-shot
        export is the current second), with `config` (default: the harness's)."""
        time.sleep(1.0 - (time.time() % 1.0) + 0.01)
        env = dict(self.env)
        if fault:
            env["USER_EXPORT_FAULT"] = fault
        out = open(self.dir / "exporter.log", "ab")
        out.write(f"\n=== {command} fault={fault}\n".encode())
        out.flush()
        proc = subprocess.Popen([self.binary, command, "--config", str(config or self.config)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)
        proc.log_file = out
        return proc

    def wait(self, proc, kill_after=None, timeout=300):
        try:
            proc.wait(timeout=kill_after if kill_after is not None else timeout)
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL, by pid
            proc.wait(timeout=60)
        proc.log_file.close()
        return proc.returncode

    def clean_run(self, command="export", config=None):
        started = time.monotonic()
        rc = self.wait(self.spawn(command, config=config))
        elapsed = time.monotonic() - started - 0.5  # about half a second of alignment
        if command == "export" and rc == 0:
            self.typical_run = 0.7 * self.typical_run + 0.3 * max(0.2, elapsed)
        self.stats["exports"] += 1
        return rc

    def cli(self, *args):
        proc = subprocess.run([self.binary, args[0], "--config", str(self.config), *args[1:]],
                              capture_output=True, text=True, env=self.env, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"user-export {args} exited {proc.returncode}: {proc.stderr}")
        return proc

    # --- data --------------------------------------------------------------------------------

    def sql(self, query):
        return stack.psql(self.db.url, query)

    def add_users(self, cycle, count):
        """New unsent users spread over the groups, half of them with a profile whose text needs
        CSV quoting."""
        self.sql(f"""
WITH g AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n, count(*) OVER () AS c
           FROM matching_groups WHERE domain_id = '{DOMAIN}')
INSERT INTO users (ref_id, username, email, phone, group_id, sent_to_matching_service, created_at)
SELECT gen_random_uuid(), 'c{cycle}_' || i, 'c{cycle}_' || i || '@example.com', '+91 98' || i,
       (SELECT id FROM g WHERE n = i % g.c LIMIT 1), false, date_trunc('second', now())
FROM generate_series(1, {count}) AS i, (SELECT max(c) AS c FROM g) AS g""")
        self.sql(f"""
INSERT INTO profiles (user_id, display_name, city, bio, interests)
SELECT id, 'Name ' || id || ', "quoted"', 'Pune', E'line one\\nline two, ' || id, 'a;b'
FROM users WHERE username LIKE 'c{cycle}\\_%' AND id % 2 = 0""")

    # --- one cycle ---------------------------------------------------------------------------

    def pause(self):
        """Two instances on the same runs: A pauses itself before or after its uploads and
        resumes after B committed. Returns a description of what was done."""
        point = self.rng.choice(PAUSE_POINTS)
        serial = self.rng.random() < 0.5
        a = self.spawn("export", fault=f"{point}:stop",
                       config=self.short_lease_serial_config if serial else self.short_lease_config)
        how = " (one group at a time)" if serial else ""
        deadline = time.monotonic() + 120
        while a.poll() is None and stack.process_state(a.pid) != "T":
            if time.monotonic() > deadline:
                a.kill()
                raise AssertionError(f"instance A neither paused at {point} nor exited")
            time.sleep(0.05)
        if a.poll() is not None:
            rc = self.wait(a)
            return f"pause at {point}{how}: not reached (exit {rc})"
        time.sleep(PAUSED_LEASE_SECONDS + 1.5)  # A's leases run out while it is paused
        rc_b = self.clean_run(config=self.config_b)  # B takes the runs over and commits them
        os.kill(a.pid, signal.SIGCONT)
        rc_a = self.wait(a)
        self.stats["pauses"] += 1
        log_text = (self.dir / "exporter.log").read_text(errors="replace")
        self.stats["refused_stale_attempts"] = log_text.count("lost the lease of a run")
        return (f"instance A paused at {point}{how}, instance B exported (exit {rc_b}), A "
                f"resumed (exit {rc_a})")

    def crash(self, cycle):
        """Runs the exporter once and kills it (or, one cycle in five, pauses one of two
        instances): returns a description of what was done."""
        mode = "pause" if cycle == 2 else self.rng.choice(
            ["timer", "timer", "fault", "relay", "pause"])
        if mode == "pause":
            return self.pause()
        serial = self.rng.random() < 0.5
        config = self.serial_config if serial else None
        how = " (one group at a time)" if serial else ""
        if mode == "fault":
            point = self.rng.choice(POINTS)
            nth = self.rng.choice([1, 1, 2, 3])
            spec = f"{point}@{nth}"
            rc = self.wait(self.spawn("export", fault=spec, config=config))
            killed = rc == -signal.SIGKILL
            self.stats["fault_kills"] += killed
            return f"fault {spec}{how}: " + ("killed" if killed else f"not reached (exit {rc})")
        if mode == "relay":
            # Leave committed runs with pending messages, then kill the relay at random.
            rc = self.wait(self.spawn("export", fault="after_commit"))
            delay = self.rng.uniform(0, self.typical_run)
            rc2 = self.wait(self.spawn("relay"), kill_after=delay)
            killed = rc2 == -signal.SIGKILL
            self.stats["relay_kills"] += killed
            return (f"export killed after_commit (exit {rc}), relay "
                    + (f"killed after {delay:.2f} s" if killed else f"finished (exit {rc2})"))
        delay = self.rng.uniform(0, self.typical_run)
        rc = self.wait(self.spawn("export", config=config), kill_after=delay)
        killed = rc == -signal.SIGKILL
        self.stats["kills"] += killed
        return (f"SIGKILL after {delay:.2f} s{how}" if killed
                else f"finished before the kill at {delay:.2f} s{how} (exit {rc})")

    def recover(self):
        """Clean runs until one succeeds (bounded)."""
        for attempt in range(1, 6):
            rc = self.clean_run()
            if rc == 0:
                return attempt
        raise AssertionError("the exporter did not recover after 5 clean runs; see "
                             f"{self.dir / 'exporter.log'}")

    def run(self, cycles, max_seconds):
        """Returns the list of violations (empty when every invariant held)."""
        started = time.monotonic()
        self.cli("migrate")
        self.cli("seed", "--users", str(self.initial_users), "--groups", str(self.groups),
                 "--seed", str(self.seed % 1000000))
        self.log(f"crash harness: seed {self.seed}, {self.groups} groups, "
                 f"{self.initial_users} users, workdir {self.dir}")
        violations = []
        done = 0
        for cycle in range(1, cycles + 1):
            if time.monotonic() - started > max_seconds:
                self.log(f"time limit of {max_seconds} s reached after {done} cycles")
                break
            if cycle > 1:
                self.add_users(cycle, self.rng.randint(1, self.users_per_cycle))
            what = self.crash(cycle)
            attempts = self.recover()
            found, summary = self.check()
            done += 1
            self.log(f"cycle {cycle}: {what}; recovered in {attempts} run(s); {summary}; "
                     + ("OK" if not found else f"{len(found)} VIOLATIONS"))
            for v in found:
                self.log(f"  VIOLATION (cycle {cycle}): {v}")
            violations += [f"cycle {cycle}: {v}" for v in found]
            if found:
                break
        self.stats["cycles"] = done
        log_file = self.dir / "exporter.log"
        if log_file.exists():
            self.stats["batches"] = log_file.read_text(errors="replace").count(
                "batch of small groups exported")
        self.log(f"crash harness: {done} cycles, {len(violations)} violations, "
                 f"{time.monotonic() - started:.0f} s; " +
                 ", ".join(f"{k} {v}" for k, v in self.stats.items()))
        return violations

    # --- invariants --------------------------------------------------------------------------

    def check(self):
        """Checks every invariant; returns (violations, a one-line summary)."""
        v = []
        users = {r[0]: (r[1], r[2] == "t") for r in self.sql(
            "SELECT ref_id, id, sent_to_matching_service FROM users")}
        by_id = {uid: ref for ref, (uid, _) in users.items()}
        db_rows = {r[0]: r for r in self.sql(SOURCE_SQL)}
        runs = {r[0]: r for r in self.sql(
            "SELECT run_id, group_id, state, object_key, row_count, byte_count, sha256 "
            "FROM export_runs")}
        outbox = self.sql("SELECT run_id, seq, payload, state FROM export_outbox")
        items = self.sql("SELECT run_id, user_id FROM export_run_items")

        # 1. A runId may repeat on the topic, never with different content.
        messages = stack.consume(self.cluster.bootstrap, TOPIC, idle_ms=1000)
        on_topic = {}
        for m in messages:
            value = json.loads(m["value"])
            key = (value["runId"], value.get("part", 1))
            if key in on_topic and on_topic[key] != m["value"]:
                v.append(f"run {key[0]} part {key[1]} is on the topic twice with different "
                         f"content:\n    {on_topic[key]}\n    {m['value']}")
            on_topic.setdefault(key, m["value"])
        pending = {}
        for run_id, seq, payload, state in outbox:
            value = json.loads(payload)
            key = (value["runId"], value.get("part", 1))
            if state == "pending":
                pending[key] = payload
            elif state == "published" and key not in on_topic:
                v.append(f"run {run_id} part {key[1]} is published in the outbox but not on "
                         "the topic")
            if key in on_topic and on_topic[key] != payload:
                v.append(f"run {run_id} part {key[1]} differs between topic and outbox")

        # 2. Exports of delivered (on the topic) or queued (pending) messages: each object
        #    matches its message, and every user is in at most one of them.
        listing = stack.s3_list_etags(self.s3.endpoint, self.s3.access, self.s3.secret,
                                      self.bucket)
        exported = {}  # ref -> set of run ids
        file_keys = set()
        for key, payload in {**pending, **on_topic}.items():
            value = json.loads(payload)
            run_id = value["runId"]
            if value["payload"] == "USERS_EXPORT_FILE":
                # An object already checked against this message is read again only when the
                # server's ETag (the MD5 of its bytes) or size changed.
                cache_key = (value["objectKey"], listing.get(value["objectKey"]), payload)
                refs = self.verified.get(cache_key)
                if refs is None:
                    before = len(v)
                    refs = self.check_object(value, runs.get(run_id), db_rows, v)
                    if len(v) == before and cache_key[1] is not None:
                        self.verified[cache_key] = refs
                file_keys.add(value["objectKey"])
            else:
                refs = value["refIds"]
            for ref in refs:
                exported.setdefault(ref, set()).add(run_id)
        for ref, run_ids in exported.items():
            if len(run_ids) > 1:
                v.append(f"user {ref} is in the exports of runs {short(run_ids)}")
            if ref not in users:
                v.append(f"runs {short(run_ids)} export unknown user {ref}")
            elif not users[ref][1]:
                v.append(f"user {ref} is not marked but is in runs {short(run_ids)}")
        marked_missing = [ref for ref, (_, marked) in users.items()
                          if marked and ref not in exported]
        if marked_missing:
            runs_of = {run for run, uid in items if by_id.get(uid) in set(marked_missing)}
            v.append(f"users marked sent but in no delivered or queued export: "
                     f"{short(marked_missing)}; their claims: runs {short(runs_of)}")

        # 3. A user not marked is in no committed run.
        finished = {r for r, row in runs.items() if row[2] in ("committed", "completed")}
        bad = {(by_id.get(uid), run) for run, uid in items
               if run in finished and not users.get(by_id.get(uid), (0, True))[1]}
        if bad:
            v.append(f"users not marked but in committed runs: {short(bad)}")

        # 4. Nothing lost once the cycle's runs finished: every user marked and delivered,
        #    nothing pending, no run unfinished.
        unmarked = [ref for ref, (_, marked) in users.items() if not marked]
        if unmarked:
            v.append(f"users left unmarked after a successful run: {short(unmarked)}")
        undelivered = [ref for ref in users if ref not in exported or
                       not (exported[ref] & {k[0] for k in on_topic})]
        if undelivered:
            v.append(f"users not delivered on the topic: {short(undelivered)}")
        if pending:
            v.append(f"messages still pending: runs {short({k[0] for k in pending})}")
        unfinished = [r for r, row in runs.items() if row[2] in ("claimed", "committed")]
        if unfinished:
            v.append(f"runs left unfinished: {short(unfinished)}")

        # 5. Nothing left behind: staged files, unfinished multipart uploads, objects without
        #    a message.
        leftovers = [p.name for d in (self.staging, self.staging_b) if d.exists()
                     for p in d.iterdir() if p.name != ".lock"]
        if leftovers:
            v.append(f"staged files left behind: {short(leftovers)}")
        uploads = self.s3.unfinished_uploads(self.bucket)
        if uploads:
            v.append(f"incomplete multipart uploads: {short(uploads)}")
        orphans = set(listing) - file_keys
        if orphans:
            v.append(f"objects without a message: {short(orphans)}")

        self.stats["users"] = len(users)
        self.stats["objects"] = len(listing)
        self.stats["messages"] = len(messages)
        summary = (f"{len(users)} users, {sum(1 for _, (_, m) in users.items() if m)} marked, "
                   f"{len(runs)} runs, {len(listing)} objects, {len(messages)} messages on the "
                   f"topic ({len(on_topic)} distinct), {len(pending)} pending")
        return v, summary

    def check_object(self, value, run, db_rows, v):
        """Reads the object of a file message back; checks SHA-256, size, rows against the
        message, the run row and the database. Returns its ref ids."""
        key = value["objectKey"]
        raw = stack.s3_curl(self.s3.endpoint, self.s3.access, self.s3.secret, self.bucket,
                            key)
        status, body = raw
        run_id = value["runId"]
        if status != 200:
            v.append(f"run {run_id}: object {key} of its message is missing (HTTP {status})")
            return []
        digest = hashlib.sha256(body).hexdigest()
        if digest != value["sha256"] or len(body) != value["bytes"]:
            v.append(f"run {run_id}: object {key} has sha256 {digest} and {len(body)} bytes, "
                     f"its message says {value['sha256']} and {value['bytes']}")
        if run is None:
            v.append(f"run {run_id} of a message is not in export_runs")
        elif (run[3], run[4], run[5], run[6]) != (key, str(value["rowCount"]),
                                                   str(value["bytes"]), value["sha256"]):
            v.append(f"run {run_id}: the run row {run[3:]} disagrees with its message")
        try:
            text = gzip.decompress(body).decode("utf-8")
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))[1:]
        except Exception as e:  # noqa: BLE001
            v.append(f"run {run_id}: object {key} does not parse: {e}")
            return []
        if len(rows) != value["rowCount"]:
            v.append(f"run {run_id}: object {key} has {len(rows)} rows, its message says "
                     f"{value['rowCount']}")
        wrong = [r[0] for r in rows if db_rows.get(r[0]) != r]
        if wrong:
            v.append(f"run {run_id}: rows differing from the database for users {short(wrong)}")
        return [r[0] for r in rows]


def find_binaries(build_dir):
    if build_dir:
        b = Path(build_dir)
        os.environ.setdefault("USER_EXPORT_BIN", str(b / "user-export"))
        os.environ.setdefault("UE_KAFKA_MOCK_BIN", str(b / "tests/kafka/kafka_mock_cluster"))
        os.environ.setdefault("UE_KAFKA_CONSUME_BIN", str(b / "tests/kafka/kafka_consume"))
    missing = [n for n in ("USER_EXPORT_BIN", "UE_KAFKA_MOCK_BIN", "UE_KAFKA_CONSUME_BIN")
               if not os.environ.get(n)]
    return missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock")
    parser.add_argument("--max-seconds", type=float, default=150)
    parser.add_argument("--users-per-cycle", type=int, default=30)
    parser.add_argument("--groups", type=int, default=12,
                        help="groups seeded, half of them cost-based (default 12)")
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time() * 1000) % 1000000007

    missing = find_binaries(args.build_dir)
    if missing:
        print(f"crash harness: set {', '.join(missing)} or pass --build-dir", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="user-export-crash-"))
    os.chmod(workdir, 0o755)
    private_pg = None
    pg_url = os.environ.get("UE_TEST_PG_URL")
    try:
        if not pg_url:
            if os.environ.get("UE_REQUIRE_SERVICES") == "1":
                print("crash harness: UE_TEST_PG_URL is not set", file=sys.stderr)
                return 2
            private_pg = workdir / "pg"
            private_pg.mkdir()
            os.chmod(private_pg, 0o755)
            started = subprocess.run([str(stack.ROOT / "scripts/services/postgres.sh"),
                                      "start", str(private_pg)])
            if started.returncode != 0:
                print("crash harness: skipped: UE_TEST_PG_URL is unset and no PostgreSQL "
                      "server could be started", flush=True)
                return 0
            env_line = (private_pg / "postgres.env").read_text().strip()
            pg_url = env_line.split("=", 1)[1]
        h = CrashHarness(os.environ["USER_EXPORT_BIN"], pg_url, workdir, seed,
                         log=lambda s: print(s, flush=True), groups=args.groups,
                         users_per_cycle=args.users_per_cycle)
        try:
            violations = h.run(args.cycles, args.max_seconds)
        finally:
            h.close()
        if violations:
            print(f"crash harness: FAILED with seed {seed} (rerun with --seed {seed}); "
                  f"exporter log in {workdir / 'exporter.log'}", flush=True)
            args.keep = True
            return 1
        if h.stats["cycles"] == 0:
            print("crash harness: no cycle completed", flush=True)
            return 1
        if h.stats["cycles"] >= 2 and h.stats["pauses"] == 0:
            print("crash harness: no pause cycle reached its pause; two instances on one run "
                  f"went untested (exporter log in {workdir / 'exporter.log'})", flush=True)
            args.keep = True
            return 1
        if args.groups >= 12 and h.stats["batches"] == 0:
            print("crash harness: no batch of small groups was exported; the batch path went "
                  f"untested (exporter log in {workdir / 'exporter.log'})", flush=True)
            args.keep = True
            return 1
        print(f"crash harness: PASSED {h.stats['cycles']} cycles with seed {seed}", flush=True)
        return 0
    finally:
        if private_pg:
            subprocess.run([str(stack.ROOT / "scripts/services/postgres.sh"), "stop",
                            str(private_pg)], check=False)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
