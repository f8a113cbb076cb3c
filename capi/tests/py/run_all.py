"""Runs the zguide programs (zguide.py) as separate processes and prints
what each printed, scenario by scenario: REQ/REP hello world over tcp,
weather PUB/SUB with a topic filter, the ventilator/workers/sink pipeline,
a PAIR of processes over ipc. The environment picks the libzmq (e.g.
LD_PRELOAD); the first line says which one pyzmq runs on.

    python3 run_all.py WORKDIR
"""

import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT = 120  # seconds for any one process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args, stdin=False):
    p = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "zguide.py")] + list(args),
        stdout=subprocess.PIPE, stdin=subprocess.PIPE if stdin else None, text=True)
    return p


def wait_ready(p):
    line = p.stdout.readline()
    if line.strip() != "ready":
        raise SystemExit("%s did not start: %r" % (p.args, line))


def finish(p):
    out, _ = p.communicate(timeout=LIMIT)
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (p.args[2:], p.returncode, out))
    return out


def main(workdir):
    import zmq
    print("libzmq %s, curve %s" % (zmq.zmq_version(), zmq.has("curve")))

    ep = "tcp://127.0.0.1:%d" % free_port()
    server = start("hwserver", ep, "10")
    wait_ready(server)
    client = start("hwclient", ep, "10")
    print("== hello world (REQ/REP)")
    print(finish(client) + finish(server), end="")

    ep = "tcp://127.0.0.1:%d" % free_port()
    server = start("wuserver", ep)
    wait_ready(server)
    client = start("wuclient", ep, "50")
    print("== weather (PUB/SUB, filter '10001 ')")
    print(finish(client), end="")
    server.kill()
    server.wait()

    vent = "tcp://127.0.0.1:%d" % free_port()
    sink = "tcp://127.0.0.1:%d" % free_port()
    sinkp = start("tasksink", sink, "100")
    wait_ready(sinkp)
    ventp = start("taskvent", vent, sink, "100", stdin=True)
    wait_ready(ventp)
    workers = [start("taskwork", vent, sink) for _ in range(2)]
    for w in workers:
        wait_ready(w)
    ventp.stdin.write("go\n")
    ventp.stdin.flush()
    if sinkp.stdout.readline().strip() != "started":
        raise SystemExit("the sink did not get the start of the batch")
    ventp.stdin.write("tasks\n")
    ventp.stdin.flush()
    print("== divide and conquer (PUSH/PULL, 2 workers)")
    print(finish(ventp), end="")
    print(finish(sinkp), end="")
    for w in workers:  # they run until killed, as the zguide's do
        w.kill()
        w.wait()

    ep = "ipc://%s/pair.ipc" % workdir
    server = start("pairserver", ep)
    wait_ready(server)
    client = start("pairclient", ep)
    print("== PAIR of processes over ipc")
    print(finish(client), end="")
    finish(server)


if __name__ == "__main__":
    main(sys.argv[1])
