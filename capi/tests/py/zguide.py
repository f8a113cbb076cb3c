"""The zguide's first programs with pyzmq, one role per process.

    zguide.py hwserver ENDPOINT N     REP: answers N "Hello"s with "World"
    zguide.py hwclient ENDPOINT N     REQ: sends N requests, prints replies
    zguide.py wuserver ENDPOINT       PUB: weather updates until killed
    zguide.py wuclient ENDPOINT N     SUB: N updates for zipcode 10001
    zguide.py taskvent VENT SINK N    PUSH: N tasks (after a start signal)
    zguide.py taskwork VENT SINK      PULL tasks, PUSH results (until killed)
    zguide.py tasksink SINK N         PULL: N results, prints the total
    zguide.py pairserver ENDPOINT     PAIR over ipc: echoes until "bye"
    zguide.py pairclient ENDPOINT     PAIR: small and large messages

What each prints is the same whichever libzmq runs it (no timings, no
random values), so a run on libzmq and one on zeroring compare equal.
Every receive has a timeout: a lost message fails the run, never hangs it.
"""

import hashlib
import random
import sys

import zmq

TIMEOUT_MS = 20000


def sock(ctx, kind):
    s = ctx.socket(kind)
    s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    s.setsockopt(zmq.LINGER, 5000)
    return s


def hwserver(ctx, endpoint, n):
    s = sock(ctx, zmq.REP)
    s.bind(endpoint)
    print("ready", flush=True)
    for _ in range(int(n)):
        msg = s.recv()
        print("Received request: %s" % msg.decode())
        s.send(b"World")


def hwclient(ctx, endpoint, n):
    s = sock(ctx, zmq.REQ)
    s.connect(endpoint)
    for i in range(int(n)):
        s.send(b"Hello")
        print("Received reply %d [ %s ]" % (i, s.recv().decode()))


def wuserver(ctx, endpoint):
    s = sock(ctx, zmq.PUB)
    s.bind(endpoint)
    print("ready", flush=True)
    rng = random.Random(7)
    while True:
        zipcode = rng.randrange(10000, 10010)
        # zipcode 10001 always reads 42F, so the average is known.
        temperature = 42 if zipcode == 10001 else rng.randrange(-80, 135)
        humidity = rng.randrange(10, 60)
        s.send_string("%05d %d %d" % (zipcode, temperature, humidity))


def wuclient(ctx, endpoint, n):
    s = sock(ctx, zmq.SUB)
    s.connect(endpoint)
    s.setsockopt_string(zmq.SUBSCRIBE, "10001 ")
    total, zips = 0, set()
    for _ in range(int(n)):
        zipcode, temperature, _ = s.recv_string().split()
        zips.add(zipcode)
        total += int(temperature)
    print("Zipcodes seen: %s" % sorted(zips))
    print("Average temperature for zipcode '10001' was %dF" % (total / int(n)))


def taskvent(ctx, vent, sink, n):
    sender = sock(ctx, zmq.PUSH)
    sender.bind(vent)
    start = sock(ctx, zmq.PUSH)
    start.connect(sink)
    print("ready", flush=True)
    # Wait for the driver: the workers are connected.
    sys.stdin.readline()
    start.send(b"0")
    # Wait again until the sink has the start of the batch: it fair-queues
    # this pipe with the workers', and under a loaded CPU a worker's first
    # result could otherwise reach it before the start, from another peer.
    sys.stdin.readline()
    rng = random.Random(1)
    total = 0
    for _ in range(int(n)):
        workload = rng.randint(1, 100)
        total += workload
        sender.send_string("%d" % workload)
    print("Total expected cost: %d msec" % total)


def taskwork(ctx, vent, sink):
    receiver = sock(ctx, zmq.PULL)
    receiver.setsockopt(zmq.RCVTIMEO, -1)  # until the driver ends it
    receiver.connect(vent)
    sender = sock(ctx, zmq.PUSH)
    sender.connect(sink)
    print("ready", flush=True)
    while True:
        sender.send_string(receiver.recv_string())


def tasksink(ctx, sink, n):
    receiver = sock(ctx, zmq.PULL)
    receiver.bind(sink)
    print("ready", flush=True)
    receiver.recv()  # the start of the batch
    print("started", flush=True)
    total = 0
    for _ in range(int(n)):
        total += int(receiver.recv_string())
    print("Results: %d, total cost %d msec" % (int(n), total))


def pairserver(ctx, endpoint):
    s = sock(ctx, zmq.PAIR)
    s.bind(endpoint)
    print("ready", flush=True)
    while True:
        frames = s.recv_multipart()
        s.send_multipart(frames)
        if frames == [b"bye"]:
            return


def pairclient(ctx, endpoint):
    s = sock(ctx, zmq.PAIR)
    s.connect(endpoint)
    for size in (0, 1, 100, 30000, 100000, 5000000):
        payload = bytes(random.Random(size).getrandbits(8) for _ in range(min(size, 4096)))
        payload = (payload * (size // 4096 + 1))[:size]
        s.send_multipart([b"size", str(size).encode(), payload])
        frames = s.recv_multipart()
        print("echo %d bytes in %d frames, sha1 %s, same: %s" % (
            size, len(frames), hashlib.sha1(frames[2]).hexdigest()[:12], frames[2] == payload))
    s.send(b"bye")
    print("bye: %s" % s.recv().decode())


ROLES = {
    "hwserver": hwserver, "hwclient": hwclient,
    "wuserver": wuserver, "wuclient": wuclient,
    "taskvent": taskvent, "taskwork": taskwork, "tasksink": tasksink,
    "pairserver": pairserver, "pairclient": pairclient,
}

if __name__ == "__main__":
    ctx = zmq.Context()
    try:
        ROLES[sys.argv[1]](ctx, *sys.argv[2:])
    finally:
        ctx.destroy(linger=2000)
