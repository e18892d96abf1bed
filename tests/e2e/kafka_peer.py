"""A private librdkafka mock cluster (real Kafka protocol on loopback) for one test, with fault
commands on its stdin, and a real consumer to read topics back."""
import json
import os
import subprocess


class MockCluster:
    def __init__(self):
        binary = os.environ["UE_KAFKA_MOCK_BIN"]
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("BOOTSTRAP="):
            self.proc.kill()
            raise RuntimeError(f"mock cluster did not start: {line!r}")
        self.bootstrap = line[len("BOOTSTRAP="):]

    def command(self, text):
        """Sends one fault command (broker_down 1, all_down, all_up, topic_error T CODE, ...)."""
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("OK"):
            raise RuntimeError(f"mock cluster refused {text!r}: {answer}")

    def consume(self, topic, idle_ms=1500, max_wait_ms=20000, commit_group=None):
        """Every message of `topic` from the beginning, as dicts (key, headers, value, ...).
        With `commit_group`, that consumer group then commits the end of what was read (a
        downstream consumer that caught up)."""
        binary = os.environ["UE_KAFKA_CONSUME_BIN"]
        commit = ["--commit-group", commit_group] if commit_group else []
        out = subprocess.run([binary, "--bootstrap", self.bootstrap, "--topic", topic,
                              "--idle-ms", str(idle_ms), "--max-wait-ms", str(max_wait_ms),
                              *commit],
                             capture_output=True, text=True, check=True, timeout=120)
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except Exception:  # noqa: BLE001
                pass
