"""Confine the worker before it loads any module: the second wall behind the safety gate (analysis.execution).

Static analysis decides whether a graph may run; this module makes sure that a
graph it misjudged still cannot write a file outside the worker's temporary
directory, read the rest of the machine or open a TCP connection.  On Linux the
worker, first thing after it starts and before it imports numpy or TensorFlow
(so before any thread exists: Landlock applies to the calling thread and the
threads and processes it creates later), restricts itself with Landlock:

- read-only: the module directories it was started for, the Python
  installation and sys.path, the system libraries, ``/proc/self``, the CPU
  topology TensorFlow reads, a few devices;
- read-write: only its own temporary directory;
- no execve at all; no TCP bind or connect (Landlock ABI >= 4); no abstract
  Unix sockets or signals to processes outside the sandbox (ABI >= 6);
- no sockets but Unix ones (UDP, raw, netlink, ...) and no io_uring (which
  could open them): a seccomp filter, on x86-64 and arm64.  Once TensorFlow is
  imported (its gRPC probes IPv6 with a socket at import, and must only be told
  no), a second filter makes an IPv4 or IPv6 socket end the process with SIGSYS
  (``end_on_network``): an error code would only make gRPC retry until the
  timeout, while a SIGSYS lets the parent report at once that the sandbox
  stopped the module (runner);
- no core dumps (``RLIMIT_CORE`` 0): a killed worker writes nothing to the working directory;
- ``RLIMIT_DATA`` bounds its memory, so a huge allocation fails at once;
- ``PR_SET_PDEATHSIG`` kills it when sigcheck dies.

Landlock rules can only be narrowed, never widened, so the parent starts a new
worker when a module outside the granted directories arrives (runner.Worker).
The Landlock syscalls go through ``landlockpy`` (dependency-free, covers
network and scope rights; the ``landlock`` package has no network rules); the
seccomp filter is ten BPF instructions loaded with prctl (libseccomp's Python
bindings need the C library installed, which is not a given).  Setting
``SIGCHECK_NO_SANDBOX=1`` turns the sandbox off for debugging.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

NETWORK_ABI = 4  # Landlock's TCP rules
_SYSTEM_READ = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/usr/share/zoneinfo",
                "/etc/ld.so.cache", "/etc/localtime", "/proc/self", "/proc/cpuinfo", "/proc/meminfo",
                "/proc/stat", "/sys/devices/system/cpu", "/sys/fs/cgroup", "/dev/urandom", "/dev/random")
_DEVICES_RW = ("/dev/null",)
_PR_SET_PDEATHSIG = 1
ACTIVE = None  # in the worker, once confined: "landlock ABI 7, network denied"
MEMORY_LIMIT = 0  # in the worker: its RLIMIT_DATA in bytes (0: none)


def unavailable_reason():
    """Why this machine cannot sandbox the worker completely, or None."""
    if os.environ.get("SIGCHECK_NO_SANDBOX"):
        return "disabled by SIGCHECK_NO_SANDBOX"
    if not sys.platform.startswith("linux"):
        return f"no sandbox on {sys.platform} (Landlock is Linux only)"
    try:
        import landlockpy
    except ImportError:
        return "the landlockpy package is not installed"
    abi = landlockpy.abi_version()
    if abi < 1:
        return "the kernel has no Landlock (Linux 5.13 or newer with Landlock enabled is needed)"
    if abi < NETWORK_ABI and _machine_filter() is None:
        return f"Landlock ABI {abi} cannot deny network connections (ABI {NETWORK_ABI}, Linux 6.7, needed)"
    return None


def enter(settings_json: str) -> None:
    """Apply ``settings`` (from the parent) to this process and tell the parent
    which sandbox it got, as the first event on stdout."""
    global ACTIVE
    settings = json.loads(settings_json)
    _die_with_parent(settings["parent"])
    _no_core_dumps()
    _limit_memory(settings.get("memory") or 0)
    reason = unavailable_reason()
    description = f"none: {reason}" if reason else None
    if reason is None:
        try:
            description = ACTIVE = _landlock(settings["read"], settings["write"])
        except Exception as exc:  # noqa: BLE001 - report it: the parent decides whether to go on
            description = f"none: Landlock failed ({type(exc).__name__}: {exc})"
    sys.stdout.write(json.dumps({"event": "sandbox", "description": description}) + "\n")
    sys.stdout.flush()
    if description.startswith("none") and settings.get("require"):
        sys.exit(2)


def _die_with_parent(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _no_core_dumps() -> None:
    """A worker ended by SIGSYS or a TensorFlow segfault must not leave a core file behind."""
    try:
        import resource
    except ImportError:  # Windows: no core files to begin with
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _limit_memory(limit: int) -> None:
    """Private writable memory (heap, anonymous maps) beyond ``limit`` fails to allocate."""
    global MEMORY_LIMIT
    if limit <= 0:
        return
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    MEMORY_LIMIT = limit


def _landlock(read_roots, write_root: str) -> str:
    from landlockpy import AccessFS, AccessNet, Ruleset, fs_for_abi, net_for_abi, scope_for_abi

    abi = __import__("landlockpy").abi_version()
    handled = fs_for_abi(abi)
    read = AccessFS.READ_FILE | AccessFS.READ_DIR
    write = handled & ~AccessFS.EXECUTE
    with Ruleset(handled_fs=handled, handled_net=net_for_abi(abi) & (AccessNet.BIND_TCP | AccessNet.CONNECT_TCP),
                 scoped=scope_for_abi(abi)) as ruleset:
        for path in sorted(set(_python_paths()) | set(read_roots) | set(_SYSTEM_READ)):
            _allow(ruleset, path, read)
        for path in _DEVICES_RW:
            _allow(ruleset, path, AccessFS.READ_FILE | AccessFS.WRITE_FILE)
        ruleset.allow_path(write_root, write)
        ruleset.restrict()  # also sets no_new_privs, which seccomp needs
    _deny_sockets()
    return f"landlock ABI {abi}, network denied"


def _allow(ruleset, path: str, access) -> None:
    if not os.path.exists(path):
        return
    if not os.path.isdir(path):
        access &= ~type(access).READ_DIR  # file rules take file rights only
    ruleset.allow_path(path, access)


def _python_paths() -> list:
    """The interpreter, its standard library and everything on sys.path."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sys.path if p)
    return [os.path.realpath(p) for p in paths]


# seccomp: socket(2) for anything but AF_UNIX, and io_uring_setup, fail with EACCES.
_SECCOMP = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}  # arch, socket, io_uring_setup
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_ALLOW, _EACCES, _KILL_PROCESS = 0x7FFF0000, 0x00050000 | 13, 0x80000000
_AF_INET, _AF_INET6 = 2, 10
_SECCOMP_SYSCALL = {"x86_64": 317, "aarch64": 277}  # seccomp(2): the only way to filter every thread at once
_SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC = 1, 1
NETWORK_SIGNAL = signal.SIGSYS  # how a worker that opened an IPv4/IPv6 socket after end_on_network ends
_LD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06


def _machine_filter():
    return _SECCOMP.get(os.uname().machine)


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_Instruction))]


def _deny_sockets() -> None:
    """Install the filter; the arch check keeps other syscall tables (x32) from slipping past."""
    known = _machine_filter()
    if known is None:
        return
    arch, socket_nr, io_uring_nr = known
    program = [
        (_LD, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, 6, arch),  # another ABI: allow (not reachable from this process's code)
        (_LD, 0, 0, 0),  # seccomp_data.nr
        (_JGE, 5, 0, 0x40000000),  # x32 syscall numbers: deny
        (_JEQ, 4, 0, io_uring_nr),
        (_JEQ, 0, 2, socket_nr),
        (_LD, 0, 0, 16),  # seccomp_data.args[0]: the address family
        (_JEQ, 0, 1, 1),  # AF_UNIX
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _EACCES),
    ]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_compile(program)), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")


def end_on_network() -> bool:
    """From now on an IPv4/IPv6 socket(2) in any thread ends the process with SIGSYS.

    Called by the worker after importing TensorFlow.  Stacked filters give the
    strictest answer, so this only turns the first filter's EACCES into a kill.
    False (and EACCES stays) when there is no sandbox or the kernel refuses."""
    known = _machine_filter()
    if ACTIVE is None or known is None:
        return False
    arch, socket_nr, _ = known
    program = [
        (_LD, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, 5, arch),
        (_LD, 0, 0, 0),  # seccomp_data.nr
        (_JEQ, 0, 3, socket_nr),
        (_LD, 0, 0, 16),  # the address family
        (_JEQ, 2, 0, _AF_INET),
        (_JEQ, 1, 0, _AF_INET6),
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _KILL_PROCESS),
    ]
    libc = ctypes.CDLL(None, use_errno=True)
    done = libc.syscall(ctypes.c_long(_SECCOMP_SYSCALL[os.uname().machine]), ctypes.c_long(_SECCOMP_SET_MODE_FILTER),
                        ctypes.c_long(_SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(_compile(program)))
    return done == 0


def _compile(program) -> _Program:
    instructions = (_Instruction * len(program))(*[_Instruction(*i) for i in program])
    fprog = _Program(len(program), instructions)
    fprog._keep = instructions  # the struct points into the array: keep it alive
    return fprog
