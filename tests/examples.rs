//! Runs the zguide examples (`examples/hw*`, `wu*`, `task*`, `rr*`,
//! `msgqueue`) in their single-process `--inproc` mode and checks what they
//! print. Cargo does not build examples for integration tests, so the first
//! test to start builds them all (`cargo build --example ...`), and each test
//! then runs `cargo run --example NAME`.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

const EXAMPLES: [&str; 21] = [
    "hwserver",
    "hwclient",
    "wuserver",
    "wuclient",
    "taskvent",
    "taskwork",
    "tasksink",
    "rrclient",
    "rrworker",
    "rrbroker",
    "msgqueue",
    "local_thr",
    "remote_thr",
    "local_lat",
    "remote_lat",
    "zmq_local_thr",
    "zmq_remote_thr",
    "zmq_local_lat",
    "zmq_remote_lat",
    "async_reqrep",
    "async_pubsub",
];

/// `cargo` in this package, in the profile these tests were built in.
fn cargo(subcommand: &str) -> Command {
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(env!("CARGO_MANIFEST_DIR"));
    cargo.args([subcommand, "--quiet"]);
    if !cfg!(debug_assertions) {
        cargo.arg("--release"); // reuse what `cargo test --release` built
    }
    cargo
}

/// Runs `command` to its end, or kills it after `limit`; its exit status
/// (`None` if killed), stdout and stderr.
fn run_for(mut command: Command, limit: Duration) -> (Option<ExitStatus>, String, String) {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start cargo");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = String::new();
            pipe.read_to_string(&mut text).expect("output is not UTF-8");
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id();
    let (done_tx, done) = std::sync::mpsc::channel();
    let waiter = thread::spawn(move || done_tx.send(child.wait().expect("cannot wait for cargo")));
    let status = match done.recv_timeout(limit) {
        Ok(status) => Some(status),
        Err(_) => {
            // Over its time: kill it, and let the waiter reap it.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            let _ = done.recv();
            None
        }
    };
    let _ = waiter.join();
    (status, stdout.join().unwrap(), stderr.join().unwrap())
}

/// Runs example `name` with `args` (building the examples first, once), and
/// fails if it takes longer than `limit`.
fn run(name: &str, args: &[&str], limit: Duration) -> (ExitStatus, String, String) {
    build_examples();
    let mut command = cargo("run");
    command.args(["--example", name, "--"]).args(args);
    match run_for(command, limit) {
        (Some(status), stdout, stderr) => (status, stdout, stderr),
        (None, stdout, stderr) => panic!(
            "`{name} {args:?}` ran over {limit:?} and was killed\n\
             --- stdout\n{stdout}\n--- stderr\n{stderr}"
        ),
    }
}

/// Builds every example, once for the whole test binary.
fn build_examples() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut build = cargo("build");
        for example in EXAMPLES {
            build.args(["--example", example]);
        }
        let (status, _, stderr) = run_for(build, Duration::from_secs(600));
        assert!(
            status.is_some_and(|s| s.success()),
            "building the examples failed:\n{stderr}"
        );
    });
}

/// Runs example `name` with `args`, which must succeed within two minutes;
/// its stdout.
fn run_ok(name: &str, args: &[&str]) -> String {
    let (status, stdout, stderr) = run(name, args, Duration::from_secs(120));
    assert!(
        status.success(),
        "`{name} {args:?}` failed: {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
}

/// How many lines of `text` are exactly `line`.
fn count(text: &str, line: &str) -> usize {
    text.lines().filter(|l| *l == line).count()
}

/// The number in a line of `text` that reads `prefix<number><suffix>`.
fn number_after(text: &str, prefix: &str, suffix: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok())
        .unwrap_or_else(|| panic!("no line `{prefix}N{suffix}` in:\n{text}"))
}

#[test]
fn async_reqrep_switches_nine_times_each_way() {
    let out = run_ok("async_reqrep", &[]);
    let want: Vec<String> = (1..10)
        .flat_map(|n| {
            [
                format!("Switched to Server for {n}"),
                format!("Switched to Client for {n}"),
            ]
        })
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want, "{out}");
}

#[test]
fn async_pubsub_delivers_each_topic_to_its_subscriber() {
    for endpoint in ["inproc://async-pubsub", "tcp://127.0.0.1:0"] {
        let out = run_ok("async_pubsub", &[endpoint]);
        for topic in ["weather", "sports", "news"] {
            assert_eq!(count(&out, &format!("publisher: {topic} subscribed")), 1);
            for n in 1..=5 {
                assert_eq!(
                    count(&out, &format!("{topic} subscriber: update {n}")),
                    1,
                    "{out}"
                );
            }
            assert_eq!(count(&out, &format!("{topic} subscriber: 5 updates")), 1);
        }
    }
}

#[test]
fn hwserver_and_client_exchange_ten_messages() {
    let out = run_ok("hwserver", &["--inproc"]);
    for n in 0..10 {
        assert_eq!(
            count(&out, &format!("Received reply {n}: World")),
            1,
            "{out}"
        );
    }
    assert_eq!(count(&out, "Received Hello"), 10, "{out}");
}

#[test]
fn hwclient_gets_ten_replies() {
    let out = run_ok("hwclient", &["--inproc"]);
    for n in 0..10 {
        assert_eq!(
            count(&out, &format!("Received reply {n}: World")),
            1,
            "{out}"
        );
    }
}

#[test]
fn wuserver_serves_three_clients() {
    let out = run_ok("wuserver", &["--inproc", "--updates", "20"]);
    for zipcode in ["10001 ", "10002 ", "10003 "] {
        let prefix = format!("Average temperature for zipcode '{zipcode}' was ");
        let average = number_after(&out, &prefix, "F");
        assert!((-80..=134).contains(&average), "{out}");
    }
}

#[test]
fn wuclient_averages_its_updates() {
    let out = run_ok("wuclient", &["--inproc", "--updates", "20"]);
    // The stand-in publisher's temperatures are n % 100 for n not divisible by 3.
    let average = number_after(&out, "Average temperature for zipcode '10001 ' was ", "F");
    assert!((0..100).contains(&average), "{out}");
}

#[test]
fn taskvent_spreads_tasks_over_workers() {
    let out = run_ok("taskvent", &["--inproc"]);
    let cost = number_after(&out, "Total expected cost: ", " msec");
    let elapsed = number_after(&out, "Total elapsed time: ", " msec");
    // Between those two lines: workers print "<workload>." per task, the sink
    // ':' or '.' per result.
    let progress = out.split("msec\n").nth(1).expect("no progress");
    let progress = progress.split("Total elapsed").next().unwrap();
    let workloads: Vec<i64> = progress
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(workloads.len(), 100, "every task is done once\n{out}");
    assert_eq!(workloads.iter().sum::<i64>(), cost, "{out}");
    assert!(workloads.iter().all(|w| (1..=10).contains(w)), "{out}");
    assert_eq!(progress.matches(':').count(), 10, "{out}");
    // Four workers in parallel take about a quarter of the total cost.
    assert!(
        elapsed < cost,
        "tasks were not spread over the workers\n{out}"
    );
}

#[test]
fn taskwork_does_its_tasks() {
    let out = run_ok("taskwork", &["--inproc"]);
    assert_eq!(count(&out, &"1.".repeat(10)), 1, "{out}");
    assert_eq!(count(&out, "10 tasks done"), 1, "{out}");
}

#[test]
fn tasksink_collects_a_batch() {
    let out = run_ok("tasksink", &["--inproc"]);
    assert_eq!(count(&out, &":.........".repeat(10)), 1, "{out}");
    number_after(&out, "Total elapsed time: ", " msec");
}

/// Three clients' ten requests each, answered through a broker.
fn check_broker(out: &str) {
    for n in 0..10 {
        assert_eq!(
            count(out, &format!("Received reply {n} [World]")),
            3,
            "{out}"
        );
    }
    assert_eq!(count(out, "Received request: [Hello]"), 30, "{out}");
}

#[test]
fn rrbroker_answers_every_request() {
    check_broker(&run_ok("rrbroker", &["--inproc"]));
}

#[test]
fn msgqueue_answers_every_request() {
    check_broker(&run_ok("msgqueue", &["--inproc"]));
}

#[test]
fn rrclient_gets_ten_replies() {
    let out = run_ok("rrclient", &["--inproc"]);
    for n in 0..10 {
        assert_eq!(
            count(&out, &format!("Received reply {n} [World]")),
            1,
            "{out}"
        );
    }
}

#[test]
fn rrworker_answers_ten_requests() {
    let out = run_ok("rrworker", &["--inproc"]);
    assert_eq!(count(&out, "Received request: [Hello]"), 10, "{out}");
}

/// An example's binary, built by `build_examples` beside this test's own
/// (`<target>/<profile>/deps/…` → `<target>/<profile>/examples/NAME`).
fn example_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// Without `--inproc` the examples take an endpoint: a server and a client
/// in two processes talk over tcp loopback and over ipc (shared memory
/// between zeroring processes).
#[test]
fn hwserver_and_hwclient_talk_in_two_processes_over_tcp_and_ipc() {
    build_examples();
    let ipc = format!(
        "ipc://{}/zr-hw-{}",
        std::env::temp_dir().display(),
        std::process::id()
    );
    for endpoint in [format!("tcp://127.0.0.1:{}", free_port()), ipc] {
        // The binary itself, not `cargo run`: killing cargo would leave the
        // server running.
        let mut server = Command::new(example_bin("hwserver"))
            .arg(&endpoint)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = run_ok("hwclient", &[&endpoint]);
        let _ = server.kill();
        let _ = server.wait();
        let replies = out
            .lines()
            .filter(|l| l.starts_with("Received reply"))
            .count();
        assert_eq!(replies, 10, "{endpoint}: {out}");
    }
}

/// A transport zeroring lacks gets a clear message and exit code 2.
#[test]
fn unsupported_transports_are_reported() {
    let (status, stdout, stderr) = run(
        "hwserver",
        &["udp://127.0.0.1:5555"],
        Duration::from_secs(60),
    );
    assert_eq!(status.code(), Some(2), "{stdout}\n{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some("udp:// is not supported: use tcp://, ipc:// or --inproc")
    );
}

/// A port nobody listens on now, for a tool that binds it later. Chosen
/// below Linux's ephemeral range (32768 and up): a port the kernel hands
/// out may be taken meanwhile as the source port of any test's connection.
fn free_port() -> u16 {
    let seed = std::process::id() as u64
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
    (0..1000u64)
        .map(|i| 20000 + ((seed.wrapping_mul(6364136223846793005) + i * 7919) % 12000) as u16)
        .find(|&port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("no free port in 20000..32000")
}

/// Runs perf tool `local` (which binds) and `remote` (which connects) on
/// `endpoint` with `size` and `count`; both must succeed. Their stdouts.
fn perf_pair(
    local: &str,
    remote: &str,
    endpoint: &str,
    size: &str,
    count: &str,
) -> (String, String) {
    build_examples();
    let args = [endpoint, size, count];
    let (local, args_l) = (local.to_owned(), args.map(str::to_owned));
    let server = thread::spawn(move || {
        let args: Vec<&str> = args_l.iter().map(String::as_str).collect();
        run_ok(&local, &args)
    });
    let client = run_ok(remote, &args);
    (server.join().expect("the local tool failed"), client)
}

/// libzmq's perf tools' lines, exactly: `local_thr`'s report.
fn check_thr_report(out: &str, size: usize, count: u64) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("message count: {count}"));
    let msgs = lines[2]
        .strip_prefix("mean throughput: ")
        .and_then(|l| l.strip_suffix(" [msg/s]"))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(msgs.is_some_and(|n| n > 0), "{out}");
    let mbits = lines[3]
        .strip_prefix("mean throughput: ")
        .and_then(|l| l.strip_suffix(" [Mb/s]"));
    assert!(
        mbits.is_some_and(|m| m.split_once('.').is_some_and(|(_, f)| f.len() == 3)),
        "{out}"
    );
}

/// `remote_lat`'s report.
fn check_lat_report(out: &str, size: usize, count: u64) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], format!("message size: {size} [B]"));
    assert_eq!(lines[1], format!("roundtrip count: {count}"));
    let us = lines[2]
        .strip_prefix("average latency: ")
        .and_then(|l| l.strip_suffix(" [us]"))
        .and_then(|n| n.parse::<f64>().ok());
    assert!(us.is_some_and(|u| u > 0.0), "{out}");
}

/// zeroring's perf tools against libzmq's, both roles, over tcp and ipc.
#[test]
fn perf_tools_interoperate_with_libzmq_in_both_roles() {
    let dir = std::env::temp_dir();
    for (i, (local, remote)) in [
        ("local_thr", "zmq_remote_thr"),
        ("zmq_local_thr", "remote_thr"),
    ]
    .into_iter()
    .enumerate()
    {
        let tcp = format!("tcp://127.0.0.1:{}", free_port());
        let ipc = format!(
            "ipc://{}/zr-perf-thr-{}-{i}",
            dir.display(),
            std::process::id()
        );
        // Over ipc, libzmq's receiver loses the tail of the stream when its
        // peer closes while it is at its high-water mark (libzmq to libzmq
        // too, about one run in five with 5000 messages): stay below it.
        for (endpoint, count) in [(tcp, 20000), (ipc, 900)] {
            let (out, _) = perf_pair(local, remote, &endpoint, "32", &count.to_string());
            check_thr_report(&out, 32, count);
        }
    }
    for (i, (local, remote)) in [
        ("local_lat", "zmq_remote_lat"),
        ("zmq_local_lat", "remote_lat"),
    ]
    .into_iter()
    .enumerate()
    {
        let tcp = format!("tcp://127.0.0.1:{}", free_port());
        let ipc = format!(
            "ipc://{}/zr-perf-lat-{}-{i}",
            dir.display(),
            std::process::id()
        );
        for endpoint in [tcp, ipc] {
            let (_, out) = perf_pair(local, remote, &endpoint, "64", "500");
            check_lat_report(&out, 64, 500);
        }
    }
}
