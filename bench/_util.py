"""What the bench scripts share: tool detection, child processes with peak memory, tables, targets."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PYTHON = sys.executable


# -- tools ---------------------------------------------------------------------


def which(name: str) -> str | None:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def has_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def module_version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


def tool_line(name: str, found: bool, detail: str = "", fallback: str = "") -> str:
    if found:
        return f"  {name:<12} yes  {detail}"
    return f"  {name:<12} no   -> {fallback}"


def machine_line() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            total = int(f.readline().split()[1]) // 1024
        mem = f", {total / 1024:.1f} GiB RAM"
    except OSError:
        pass
    import platform

    return f"{cpus} cores{mem}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a process we started (by its pid only): SIGTERM, then SIGKILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- memory --------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    result: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                result += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return result


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kb(pid: int) -> int:
    """RSS of a process and all its descendants (a process pool counts in full)."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        total += _rss_kb(current)
        stack += _children(current)
    return total


def vm_hwm_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class TreeSampler:
    """Samples the RSS of this process and its descendants every ``interval`` seconds; keeps the peak."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        pid = os.getpid()
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, tree_rss_kb(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, tree_rss_kb(os.getpid()))


# -- child processes -----------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    data: dict[str, Any]
    maxrss_mb: float  # the child's own peak RSS (VmHWM, read by the child at its end; never shared with other phases)
    tree_peak_mb: float  # sampled peak RSS of the child and its descendants (process pools)
    wall: float  # seconds the child lived, imports included
    cpu: float  # user + system seconds of the child and the children it waited for
    foreign_cpu: float  # CPU seconds other processes on the machine used meanwhile (a share of one core)
    calibration: float | None = None  # CPU seconds of run_phase's ``calibrate`` just before the phase

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def run_phase(name: str, target: str, args: dict[str, Any], *, timeout: float = 3600, env: dict | None = None,
              quiet: bool = False, quiet_machine: bool = True, max_wait: float = 300.0,
              calibrate: Callable[[], float] | None = None) -> PhaseResult:
    """Run ``module:function(**args)`` in a fresh interpreter and return what it returned, with its peak memory.

    A fresh interpreter per phase: no phase inherits another's imports,
    caches or heap, and ``ru_maxrss`` from ``wait4`` is that phase's alone.
    With ``quiet_machine`` it first waits for other processes to calm down;
    ``calibrate`` is timed right before the phase starts (``PhaseResult.calibration``).
    """
    if quiet_machine:
        wait_quiet(max_wait)
    calibration = calibrate() if calibrate is not None else None
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False, dir=OUT) as handle:
        result_path = handle.name
    command = [PYTHON, "-m", "bench._child", target, json.dumps(args), result_path]
    started = time.monotonic()
    with ForeignCpu() as foreign:
        proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                                stdout=subprocess.DEVNULL if quiet else None)
        deadline = started + timeout
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, rusage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    try:
        text = Path(result_path).read_text()
    finally:
        Path(result_path).unlink(missing_ok=True)
    if proc.returncode != 0 or not text:
        raise RuntimeError(f"phase {name} ({target}) failed with exit code {proc.returncode}")
    data = json.loads(text)
    return PhaseResult(
        name=name,
        data=data,
        # Not wait4's ru_maxrss: on Linux it starts from the parent's RSS at fork time.
        maxrss_mb=data.pop("vm_hwm_mb"),
        tree_peak_mb=data.pop("_tree_peak_kb", 0) / 1024,
        wall=wall,
        cpu=rusage.ru_utime + rusage.ru_stime,
        foreign_cpu=foreign.seconds,
        calibration=calibration,
    )


# -- statistics and tables -----------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, align: str | None = None) -> str:
    """A plain-text table; ``align`` is one letter per column (l or r), numbers right by default."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if align is None:
        align = "l" + "r" * (len(headers) - 1)
    lines = []
    for index, row in enumerate(cells):
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True)]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@dataclass
class Target:
    """One target of the issue and what this run measured."""

    label: str  # e.g. "cold sync vs serial feedparser floor"
    op: str  # "<=" or ">="
    bound: float
    measured: float
    unit: str = "x"

    @property
    def met(self) -> bool:
        return self.measured <= self.bound if self.op == "<=" else self.measured >= self.bound

    def line(self) -> str:
        def show(value: float) -> str:
            return f"{value:.2f}{self.unit}" if self.unit == "x" else f"{value:.0f} {self.unit}"

        verdict = "met"
        if not self.met:
            factor = self.measured / self.bound if self.op == "<=" else self.bound / max(self.measured, 1e-12)
            verdict = f"MISSED by {factor:.2f}x"
        return f"target {self.label} {self.op} {show(self.bound)} : measured {show(self.measured)} — {verdict}"


@dataclass
class Report:
    title: str
    lines: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def target(self, target: Target) -> None:
        self.targets.append(target)
        self.say(target.line())

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value


# -- quiet machine -------------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, cpu seconds so far) for every process."""
    table: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rindex(")") + 2 :].split()
        table[int(name)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / _CLK_TCK)
    return table


def _descendants(table: dict[int, tuple[int, float]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    result, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid not in result:
            result.add(pid)
            stack += children.get(pid, [])
    return result


class ForeignCpu:
    """CPU seconds used by processes outside this benchmark's process tree while it runs.

    Other people's test runs on a shared 2-core machine distort every
    timing; this measures by how much, so a table can say so.
    """

    def __init__(self, interval: float = 0.25):
        self.interval = interval
        self.seconds = 0.0
        self.elapsed = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        last = _proc_table()
        while not self._stop.wait(self.interval):
            now = _proc_table()
            ours = _descendants(now, me)
            for pid, (_, cpu) in now.items():
                if pid in ours:
                    continue
                before = last.get(pid)
                self.seconds += cpu - (before[1] if before else cpu)
            last = now

    def __enter__(self) -> ForeignCpu:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.elapsed = time.monotonic() - self._started

    @property
    def share(self) -> float:
        """Foreign CPU as a share of one core over the phase."""
        return self.seconds / self.elapsed if self.elapsed else 0.0


def machine_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over ``seconds`` (0..1)."""

    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values), idle

    total0, idle0 = read()
    time.sleep(seconds)
    total1, idle1 = read()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_quiet(max_wait: float = 300.0, threshold: float = 0.15, say: Callable[[str], None] = print) -> float:
    """Wait until the machine is idle (busy < ``threshold`` for 2 s in a row), at most ``max_wait`` s.

    Returns the busy share seen last. Other processes' test runs would
    otherwise land in the middle of a timed phase.
    """
    deadline = time.monotonic() + max_wait
    warned = False
    quiet = 0
    busy = 1.0
    while time.monotonic() < deadline:
        busy = machine_busy(1.0)
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= 2:
            return busy
        if not warned and busy >= threshold:
            say(f"  (machine busy {busy:.0%} with other processes: waiting up to {max_wait:.0f} s for quiet)")
            warned = True
    say(f"  (machine still busy {busy:.0%} after {max_wait:.0f} s: measuring anyway)")
    return busy
