//! Runs the `zmq` crate's examples built against zeroring and the same
//! sources built against libzmq (`../zmq-crate-libzmq`), and checks that
//! they end and print the same (up to timings and random numbers).
//!
//! The examples use fixed tcp ports (5555 ...), so the scenarios run one at
//! a time. Every run is bounded: a program not done in its time is killed
//! and the test fails, saying which.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
enum Lib {
    Zeroring,
    Libzmq,
}

/// Builds both packages' examples once, in this test's profile.
fn built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        // compat/, the workspace of both packages.
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut cargo = Command::new(env!("CARGO"));
        cargo.current_dir(root).args([
            "build",
            "--quiet",
            "-p",
            "zmq-crate-compat",
            "--examples",
            "-p",
            "zmq-crate-libzmq",
            "--bins",
        ]);
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        assert!(
            cargo.status().expect("cannot run cargo").success(),
            "examples do not build"
        );
    });
}

/// One scenario at a time: they share ports.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn program(lib: Lib, name: &str) -> Command {
    // target/<profile>/deps/examples_run-HASH -> target/<profile>
    let mut path: PathBuf = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    let mut cmd = match lib {
        Lib::Zeroring => Command::new(path.join("examples").join(name)),
        Lib::Libzmq => {
            let mut cmd = Command::new(path.join("zmq-crate-libzmq"));
            cmd.env("ZMQ_EXAMPLE", name);
            cmd
        }
    };
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// A running example; killed when dropped.
struct Running {
    name: String,
    child: Child,
}

impl Running {
    fn start(lib: Lib, name: &str, args: &[&str]) -> Running {
        let child = program(lib, name)
            .args(args)
            .spawn()
            .expect("cannot start example");
        Running {
            name: format!("{lib:?} {name}"),
            child,
        }
    }

    fn input(&mut self, text: &str) {
        self.child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    /// Waits for the program to end by itself within `limit`; its stdout.
    fn finish(mut self, limit: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{} failed: {status}", self.name);
                return self.stdout();
            }
            if start.elapsed() > limit {
                self.child.kill().ok();
                panic!("{} did not finish within {limit:?}", self.name);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills a program that serves forever; what it printed.
    fn stop(mut self) -> String {
        self.child.kill().ok();
        self.child.wait().ok();
        self.stdout()
    }

    fn stdout(&mut self) -> String {
        let mut out = String::new();
        if let Some(mut pipe) = self.child.stdout.take() {
            pipe.read_to_string(&mut out).unwrap();
        }
        out
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Numbers vary from run to run (timings, random ids, what a PUB dropped
/// at the high-water mark): compare the rest, each number as `N`.
fn shape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('N') {
            out.push('N');
        }
    }
    out
}

/// Runs `scenario` over both builds and returns (zeroring, libzmq) output.
fn both(scenario: impl Fn(Lib) -> String) -> (String, String) {
    built();
    let _one_at_a_time = serial();
    (scenario(Lib::Zeroring), scenario(Lib::Libzmq))
}

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn version_prints_the_libzmq_version_followed() {
    let (ours, theirs) = both(|lib| Running::start(lib, "version", &[]).finish(LIMIT));
    assert_eq!(ours, theirs);
}

#[test]
fn mtrelay_relays_between_threads() {
    let (ours, theirs) = both(|lib| Running::start(lib, "mtrelay", &[]).finish(LIMIT));
    assert_eq!(ours, theirs);
}

#[test]
fn helloworld_client_and_server_over_tcp() {
    let (ours, theirs) = both(|lib| {
        let server = Running::start(lib, "helloworld_server", &[]);
        let client = Running::start(lib, "helloworld_client", &[]).finish(LIMIT);
        client + &server.stop()
    });
    assert_eq!(ours, theirs);
    assert!(ours.contains("Received World World: 9"), "{}", ours);
}

#[test]
fn rrclient_rrworker_through_rrbroker_over_tcp() {
    let (ours, theirs) = both(|lib| {
        let _broker = Running::start(lib, "rrbroker", &[]);
        let worker = Running::start(lib, "rrworker", &[]);
        let client = Running::start(lib, "rrclient", &[]).finish(LIMIT);
        client + &worker.stop()
    });
    assert_eq!(ours, theirs);
}

#[test]
fn taskvent_taskwork_tasksink_over_tcp() {
    let (ours, theirs) = both(|lib| {
        let sink = Running::start(lib, "tasksink", &[]);
        let worker = Running::start(lib, "taskwork", &[]);
        let mut vent = Running::start(lib, "taskvent", &[]);
        vent.input("\n");
        let vent = vent.finish(LIMIT);
        let sink = sink.finish(LIMIT);
        worker.stop();
        shape(&(vent + &sink))
    });
    assert_eq!(ours, theirs);
}

#[test]
fn syncpub_and_ten_syncsubs_over_tcp() {
    let (ours, theirs) = both(|lib| {
        let subs: Vec<_> = (0..10)
            .map(|_| Running::start(lib, "syncsub", &[]))
            .collect();
        let publisher = Running::start(lib, "syncpub", &[]);
        let mut out = publisher.finish(LIMIT * 5);
        for sub in subs {
            out += &sub.finish(LIMIT);
        }
        out
    });
    // A subscriber's RCVHWM (1000) drops updates under load, with libzmq
    // too: each gets some, none more than the million sent.
    for count in ours.lines().filter_map(|l| l.strip_prefix("Received ")) {
        let n: u32 = count.trim_end_matches(" updates").parse().unwrap();
        assert!(n > 0 && n <= 1_000_000, "{}", ours);
    }
    assert_eq!(shape(&ours), shape(&theirs));
}

#[test]
fn lbbroker_serves_every_client() {
    let (ours, theirs) = both(|lib| {
        let out = Running::start(lib, "lbbroker", &[]).finish(LIMIT);
        let mut lines: Vec<_> = out.lines().map(str::to_owned).collect();
        lines.sort();
        lines.join("\n")
    });
    assert_eq!(ours, theirs);
}

#[test]
fn fileio3_transfers_the_file() {
    let (ours, theirs) = both(|lib| Running::start(lib, "fileio3", &[]).finish(LIMIT));
    assert_eq!(ours, theirs);
}

#[test]
fn asyncsrv_and_msgsend_run_to_their_end() {
    // asyncsrv: random replies for five seconds, so only that it ends.
    let (ours, _) = both(|lib| Running::start(lib, "asyncsrv", &[]).finish(LIMIT));
    assert!(!ours.is_empty(), "asyncsrv printed nothing");
    let (ours, theirs) = both(|lib| Running::start(lib, "msgsend", &[]).finish(LIMIT));
    assert_eq!(shape(&ours), shape(&theirs));
}

/// rtreq and rtdealer give each worker ten random bytes as its routing id;
/// about one run in 26 has one start with a zero byte, which zeroring
/// refuses until routing ids with a leading zero byte land (issue 13's
/// other half): that worker panics and the broker waits for it forever.
#[test]
fn rtreq_and_rtdealer_run_to_their_end() {
    for name in ["rtreq", "rtdealer"] {
        let (ours, theirs) = both(|lib| Running::start(lib, name, &[]).finish(LIMIT));
        // Random ids and counts, and the main thread may end before the
        // last worker prints (with libzmq too): the same kinds of line.
        let kinds = |s: &str| {
            // Worker ids are hex: digits and letters vary.
            let s = s.replace(|c: char| c.is_ascii_hexdigit(), "0");
            let mut k: Vec<_> = s.lines().map(shape).collect();
            k.sort();
            k.dedup();
            k
        };
        assert!(!ours.is_empty(), "{}: printed nothing", name);
        assert_eq!(kinds(&ours), kinds(&theirs), "{}", name);
    }
}

#[test]
fn helloworld_client_and_mtserver_over_tcp() {
    let (ours, theirs) = both(|lib| {
        let _server = Running::start(lib, "mtserver", &[]);
        Running::start(lib, "helloworld_client", &[]).finish(LIMIT)
    });
    assert_eq!(ours, theirs);
}

#[test]
fn rrclient_rrworker_through_msgqueue_over_tcp() {
    let (ours, theirs) = both(|lib| {
        let _queue = Running::start(lib, "msgqueue", &[]);
        let worker = Running::start(lib, "rrworker", &[]);
        let client = Running::start(lib, "rrclient", &[]).finish(LIMIT);
        client + &worker.stop()
    });
    assert_eq!(ours, theirs);
}

#[test]
fn taskvent_taskwork2_tasksink2_end_with_the_kill_signal() {
    let (ours, theirs) = both(|lib| {
        let sink = Running::start(lib, "tasksink2", &[]);
        let worker = Running::start(lib, "taskwork2", &[]);
        let mut vent = Running::start(lib, "taskvent", &[]);
        vent.input("\n");
        let vent = vent.finish(LIMIT);
        let sink = sink.finish(LIMIT);
        // The worker ends on the sink's KILL.
        shape(&(vent + &sink + &worker.finish(LIMIT)))
    });
    assert_eq!(ours, theirs);
}
