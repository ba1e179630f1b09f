"""`xraykit serve` as a child process on a free loopback port, for the web tests, the
benchmarks and the abuse test: started, waited for until it accepts connections, stopped.

    from serve_process import Server
    s = Server("build/bin/xraykit", "models/pneumonia.xrk", ["--workers", "2"], password="...")
    ... s.url, s.port, s.proc, s.rss_kib() ...
    s.stop()

The server's output goes to `output` (a pipe by default, standard error merged into it, so a
server that exits at start says why).
"""
import os
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid, field="VmRSS"):
    """A process's resident memory in KiB (VmHWM: its peak); 0 when it has gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    def __init__(self, binary, model, extra=(), password=None, env=None, output=subprocess.PIPE, start_seconds=30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = dict(os.environ, **(env or {}))
        if password is not None:
            environ["XRAYKIT_PASSWORD"] = password
        self.proc = subprocess.Popen([binary, "serve", str(model), "--port", str(self.port), *extra], env=environ,
                                     stdout=output, stderr=subprocess.STDOUT, text=True,
                                     errors="replace")
        deadline = time.monotonic() + start_seconds
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("server exited: " + (self.proc.stdout.read() if self.proc.stdout else ""))
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not accept connections within {start_seconds} s")

    def rss_kib(self, field="VmRSS"):
        return rss_kib(self.proc.pid, field)

    def stop(self, seconds=30):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=seconds)
