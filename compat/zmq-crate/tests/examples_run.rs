//! Runs the `zmq` crate's examples built against zeroring and the same
//! sources built against libzmq (`../zmq-crate-libzmq`), and checks that
//! they end (or answer) and print the same, up to timings and random
//! numbers.
//!
//! Each scenario runs in several casts (see `Cast`): its programs as
//! written (over tcp, or what they name), and the copy of them whose tcp
//! endpoints are ipc ones (`../wrap_examples.rs`), on zeroring, on libzmq,
//! and mixed (one side on each). Zeroring's output in a cast must be
//! libzmq's on the same endpoints.
//!
//! The examples as written use fixed tcp ports (5555 ...), so those runs
//! take turns (`ports`); an ipc run binds paths relative to a directory of
//! its own, so the ipc runs of a scenario go on at once, beside its tcp
//! ones. Every run is bounded: a program not done in its time is killed and
//! the test fails, saying which.

#[path = "../../wrap_examples.rs"]
mod wrap_examples;

use std::io::{BufRead, BufReader, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    Zeroring,
    Libzmq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoints {
    /// As the example names them: tcp for the program pairs.
    AsWritten,
    /// Every tcp endpoint made an ipc path in the run's directory.
    Ipc,
}

/// Which library the programs of one run are built on: the binding side
/// (`servers`: brokers, servers, sinks, publishers) and the connecting one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cast {
    endpoints: Endpoints,
    servers: Lib,
    clients: Lib,
}

impl Cast {
    const fn all(endpoints: Endpoints, lib: Lib) -> Cast {
        Cast {
            endpoints,
            servers: lib,
            clients: lib,
        }
    }

    /// The run whose output this one's must equal: libzmq's on the same
    /// endpoints.
    fn reference(self) -> Cast {
        Cast::all(self.endpoints, Lib::Libzmq)
    }
}

use Endpoints::{AsWritten, Ipc};
use Lib::{Libzmq, Zeroring};

/// A single program (its threads talk over tcp, or over what it names).
const ONE_PROGRAM: &[Cast] = &[Cast::all(AsWritten, Zeroring), Cast::all(AsWritten, Libzmq)];

/// A single program whose threads talk over tcp, each with its own context.
const ONE_PROGRAM_TCP: &[Cast] = &[
    Cast::all(AsWritten, Zeroring),
    Cast::all(AsWritten, Libzmq),
    Cast::all(Ipc, Zeroring),
    Cast::all(Ipc, Libzmq),
];

/// Programs that talk to each other: also mixed over ipc, where a zeroring
/// peer finds a libzmq one and talks ZMTP over the unix socket (between two
/// zeroring programs the connection becomes shared memory).
const PAIR: &[Cast] = &[
    Cast::all(AsWritten, Zeroring),
    Cast::all(AsWritten, Libzmq),
    Cast::all(Ipc, Zeroring),
    Cast::all(Ipc, Libzmq),
    Cast {
        endpoints: Ipc,
        servers: Zeroring,
        clients: Libzmq,
    },
    Cast {
        endpoints: Ipc,
        servers: Libzmq,
        clients: Zeroring,
    },
];

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

/// The examples as written bind fixed tcp ports: one such run at a time
/// (and a run that must not share the machine).
fn ports() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn program(lib: Lib, endpoints: Endpoints, name: &str) -> Command {
    // target/<profile>/deps/examples_run-HASH -> target/<profile>
    let mut path: PathBuf = std::env::current_exe().unwrap();
    path.pop();
    path.pop();
    let mut cmd = match (lib, endpoints) {
        (Zeroring, AsWritten) => Command::new(path.join("examples").join(name)),
        (Zeroring, Ipc) => Command::new(path.join("examples").join("over_ipc")),
        (Libzmq, _) => Command::new(path.join("zmq-crate-libzmq")),
    };
    cmd.env("ZMQ_EXAMPLE", name);
    if endpoints == Ipc {
        cmd.env("ZMQ_EXAMPLE_TRANSPORT", "ipc");
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd
}

/// One run of a scenario: its cast and its working directory (where the
/// ipc endpoints, relative paths, are).
struct Run {
    cast: Cast,
    dir: tempfile::TempDir,
}

impl Run {
    /// Starts a program that binds (a server, broker, sink, publisher).
    fn server(&self, name: &str, args: &[&str]) -> Running {
        self.start(self.cast.servers, name, args)
    }

    /// Starts a program that connects.
    fn client(&self, name: &str, args: &[&str]) -> Running {
        self.start(self.cast.clients, name, args)
    }

    fn start(&self, lib: Lib, name: &str, args: &[&str]) -> Running {
        let child = program(lib, self.cast.endpoints, name)
            .args(args)
            .current_dir(self.dir.path())
            .spawn()
            .expect("cannot start example");
        Running::new(format!("{name} ({lib:?}, {:?})", self.cast), child)
    }

    /// `endpoint` (a tcp one, for a program that takes it as an argument)
    /// as this run's programs name it.
    fn endpoint(&self, endpoint: &str) -> String {
        match self.cast.endpoints {
            AsWritten => endpoint.to_owned(),
            Ipc => wrap_examples::over_ipc(&format!("{endpoint:?}"))
                .trim_matches('"')
                .to_owned(),
        }
    }
}

/// A running example; killed when dropped.
struct Running {
    name: String,
    child: Child,
    /// Its stdout, line by line (a last line without its newline too).
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn new(name: String, mut child: Child) -> Running {
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            name,
            child,
            lines,
            seen: Vec::new(),
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

    /// Waits for the program's first `n` lines of output.
    fn first_lines(&mut self, n: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        while self.seen.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} printed {} of {n} lines within {limit:?}: {:?}",
                    self.name,
                    self.seen.len(),
                    self.seen
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{} ended after {} of {n} lines: {:?}",
                    self.name,
                    self.seen.len(),
                    self.seen
                ),
            }
        }
        self.seen[..n].to_vec()
    }

    /// Waits for the program to end by itself within `limit`; its stdout.
    fn finish(self, limit: Duration) -> String {
        let name = self.name.clone();
        self.finish_within(limit)
            .unwrap_or_else(|| panic!("{} did not finish within {:?}", name, limit))
    }

    /// Its stdout if it ends by itself within `limit` (successfully); else
    /// `None`, and it is killed (dropped).
    fn finish_within(mut self, limit: Duration) -> Option<String> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{} failed: {status}", self.name);
                return Some(self.stdout(limit.saturating_sub(start.elapsed()) + LIMIT));
            }
            if start.elapsed() > limit {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Asserts that the program still runs.
    fn assert_running(&mut self) {
        let status = self.child.try_wait().unwrap();
        assert!(status.is_none(), "{} ended: {status:?}", self.name);
    }

    /// Kills a program that serves forever; what it printed.
    fn stop(mut self) -> String {
        self.child.kill().ok();
        self.child.wait().ok();
        self.stdout(LIMIT)
    }

    /// All it printed, once it has ended.
    fn stdout(&mut self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{}: its output did not end", self.name)
                }
            }
        }
        self.seen.iter().map(|l| format!("{l}\n")).collect()
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

/// Runs `scenario` in each of `casts`, the as-written runs one at a time
/// (fixed ports), the ipc ones at once beside them, and checks that each
/// run's output is the output of libzmq's run on the same endpoints.
/// Returns the outputs.
fn compare(casts: &[Cast], scenario: impl Fn(&Run) -> String + Sync) -> Vec<(Cast, String)> {
    compare_runs(casts, false, scenario)
}

/// As [`compare`], every run taking its turn with the as-written ones:
/// for a scenario that the load of its other runs could make fail.
fn compare_in_turn(
    casts: &[Cast],
    scenario: impl Fn(&Run) -> String + Sync,
) -> Vec<(Cast, String)> {
    compare_runs(casts, true, scenario)
}

fn compare_runs(
    casts: &[Cast],
    in_turn: bool,
    scenario: impl Fn(&Run) -> String + Sync,
) -> Vec<(Cast, String)> {
    built();
    let run = |cast: Cast| {
        let _turn = (in_turn || cast.endpoints == AsWritten).then(ports);
        let dir = tempfile::tempdir().expect("no temporary directory");
        scenario(&Run { cast, dir })
    };
    let outputs: Vec<(Cast, thread::Result<String>)> = thread::scope(|s| {
        let as_written = s.spawn(|| {
            casts
                .iter()
                .filter(|c| c.endpoints == AsWritten)
                .map(|&c| (c, panic::catch_unwind(AssertUnwindSafe(|| run(c)))))
                .collect::<Vec<_>>()
        });
        let ipc: Vec<_> = casts
            .iter()
            .filter(|c| c.endpoints == Ipc)
            .map(|&c| (c, s.spawn(move || run(c))))
            .collect();
        let mut outputs = as_written.join().unwrap();
        outputs.extend(ipc.into_iter().map(|(c, h)| (c, h.join())));
        outputs
    });
    let mut failed = Vec::new();
    let mut done = Vec::new();
    for (cast, output) in outputs {
        match output {
            Ok(output) => done.push((cast, output)),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failed.push(format!("{cast:?}: {why}"));
            }
        }
    }
    assert!(failed.is_empty(), "runs failed:\n{}", failed.join("\n"));
    for (cast, output) in &done {
        let (_, reference) = done
            .iter()
            .find(|(c, _)| *c == cast.reference())
            .expect("every cast's reference runs too");
        assert_eq!(
            output,
            reference,
            "{cast:?} printed otherwise than {:?}",
            cast.reference()
        );
    }
    done
}

/// The output of a cast.
fn output_of(outputs: &[(Cast, String)], cast: Cast) -> &str {
    &outputs.iter().find(|(c, _)| *c == cast).unwrap().1
}

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn version_prints_the_libzmq_version_followed() {
    compare(ONE_PROGRAM, |run| run.server("version", &[]).finish(LIMIT));
}

/// mtrelay's threads share one context and talk over inproc.
#[test]
fn mtrelay_relays_between_threads_over_inproc() {
    let outputs = compare(ONE_PROGRAM, |run| run.server("mtrelay", &[]).finish(LIMIT));
    assert!(!output_of(&outputs, Cast::all(AsWritten, Zeroring)).is_empty());
}

#[test]
fn helloworld_client_and_server() {
    let outputs = compare(PAIR, |run| {
        let server = run.server("helloworld_server", &[]);
        let client = run.client("helloworld_client", &[]).finish(LIMIT);
        client + &server.stop()
    });
    let ours = output_of(&outputs, Cast::all(Ipc, Zeroring));
    assert!(ours.contains("Received World World: 9"), "{}", ours);
}

#[test]
fn rrclient_rrworker_through_rrbroker() {
    compare(PAIR, |run| {
        let _broker = run.server("rrbroker", &[]);
        let worker = run.client("rrworker", &[]);
        let client = run.client("rrclient", &[]).finish(LIMIT);
        client + &worker.stop()
    });
}

#[test]
fn taskvent_taskwork_tasksink() {
    compare(PAIR, |run| {
        let sink = run.server("tasksink", &[]);
        let worker = run.client("taskwork", &[]);
        let mut vent = run.server("taskvent", &[]);
        vent.first_lines(1, LIMIT);
        vent.input("\n");
        let vent = vent.finish(LIMIT);
        let sink = sink.finish(LIMIT);
        worker.stop();
        shape(&(vent + &sink))
    });
}

/// libzmq's subscribers get fewer than the million updates under load, and
/// may lose END, then wait for ever: seen over ipc, from a libzmq and from
/// a zeroring publisher alike (one or more of ten subscribers in one run of
/// three when the machine is busy, each short of some 90,000 to 250,000
/// updates); zeroring's subscribers got all 1,000,001 from either. So a
/// libzmq subscriber still waiting `END_LOST` after the publisher ended is
/// stopped and not counted; a zeroring one must end. Its runs take turns,
/// so that 55 more processes do not load the machine meanwhile.
#[test]
fn syncpub_and_ten_syncsubs() {
    const END_LOST: Duration = Duration::from_secs(10);
    compare_in_turn(PAIR, |run| {
        let subs: Vec<_> = (0..10).map(|_| run.client("syncsub", &[])).collect();
        let publisher = run.server("syncpub", &[]);
        let mut out = publisher.finish(LIMIT * 5);
        let mut ended = 0;
        for sub in subs {
            if let Some(sub) = sub.finish_within(END_LOST) {
                out += &sub;
                ended += 1;
            }
        }
        assert!(
            ended == 10 || (run.cast.clients == Libzmq && ended > 0),
            "{:?}: {} of 10 subscribers ended: {}",
            run.cast,
            ended,
            out
        );
        for count in out.lines().filter_map(|l| l.strip_prefix("Received ")) {
            let n: u32 = count.trim_end_matches(" updates").parse().unwrap();
            assert!(n > 0 && n <= 1_000_000, "{:?}: {}", run.cast, out);
        }
        // The kinds of line, each once: how many subscribers printed
        // theirs is checked above.
        let mut kinds: Vec<_> = out.lines().map(shape).collect();
        kinds.dedup();
        kinds.join("\n")
    });
}

/// lbbroker's threads, each with a context of its own, talk over ipc
/// (relative paths, in the run's directory). Its main returns once the
/// broker has sent the last reply, so the last client's (or worker's)
/// line may be cut off by the exit, on libzmq too (CI saw 9 of each from
/// libzmq once): at least 9 of the 10 of each, and nothing else.
#[test]
fn lbbroker_serves_every_client() {
    compare(ONE_PROGRAM, |run| {
        let out = run.server("lbbroker", &[]).finish(LIMIT);
        for line in ["Client: OK", "Worker: HELLO"] {
            let n = out.lines().filter(|l| *l == line).count();
            assert!(
                (9..=10).contains(&n),
                "{:?}: {n} of {line:?}:\n{out}",
                run.cast
            );
        }
        let mut kinds: Vec<_> = out.lines().map(str::to_owned).collect();
        kinds.sort();
        kinds.dedup();
        kinds.join("\n")
    });
}

#[test]
fn fileio3_transfers_the_file() {
    compare(ONE_PROGRAM_TCP, |run| {
        run.server("fileio3", &[]).finish(LIMIT)
    });
}

/// asyncsrv: random replies for five seconds, so only that it ends and
/// prints replies. Its server's workers share the server's context and
/// talk to it over inproc; its clients have their own.
#[test]
fn asyncsrv_runs_to_its_end() {
    compare(ONE_PROGRAM_TCP, |run| {
        let out = run.server("asyncsrv", &[]).finish(LIMIT);
        assert!(
            out.lines().any(|l| l.starts_with("request #")),
            "{:?}: {}",
            run.cast,
            out
        );
        String::new()
    });
}

/// msgsend's threads share one context and talk over inproc.
#[test]
fn msgsend_runs_to_its_end_over_inproc() {
    compare(ONE_PROGRAM, |run| {
        shape(&run.server("msgsend", &[]).finish(LIMIT))
    });
}

/// rtreq and rtdealer give each worker ten random bytes as its routing id
/// (one run in 26 draws one starting with a zero byte, which libzmq 4.3
/// and zeroring take).
#[test]
fn rtreq_and_rtdealer_run_to_their_end() {
    for name in ["rtreq", "rtdealer"] {
        compare(ONE_PROGRAM_TCP, |run| {
            let out = run.server(name, &[]).finish(LIMIT);
            assert!(!out.is_empty(), "{:?}: {} printed nothing", run.cast, name);
            // Random ids and counts, and the main thread may end before the
            // last worker prints (with libzmq too): the same kinds of line.
            // Once main has returned stdout is unbuffered, so a worker still
            // printing then can be cut off mid-line by the exit: a last line
            // without its newline is such a cut, not a kind of line.
            let whole = out.rfind('\n').map_or(0, |i| i + 1);
            // Worker ids are hex: digits and letters vary.
            let out = out[..whole].replace(|c: char| c.is_ascii_hexdigit(), "0");
            let mut kinds: Vec<_> = out.lines().map(shape).collect();
            kinds.sort();
            kinds.dedup();
            kinds.join("\n")
        });
    }
}

/// mtserver's workers share its context and talk to it over inproc; its
/// clients come over tcp (or ipc).
#[test]
fn helloworld_client_and_mtserver() {
    compare(PAIR, |run| {
        let _server = run.server("mtserver", &[]);
        run.client("helloworld_client", &[]).finish(LIMIT)
    });
}

#[test]
fn rrclient_rrworker_through_msgqueue() {
    compare(PAIR, |run| {
        let _queue = run.server("msgqueue", &[]);
        let worker = run.client("rrworker", &[]);
        let client = run.client("rrclient", &[]).finish(LIMIT);
        client + &worker.stop()
    });
}

#[test]
fn taskvent_taskwork2_tasksink2_end_with_the_kill_signal() {
    compare(PAIR, |run| {
        let sink = run.server("tasksink2", &[]);
        let worker = run.client("taskwork2", &[]);
        let mut vent = run.server("taskvent", &[]);
        vent.first_lines(1, LIMIT);
        vent.input("\n");
        let vent = vent.finish(LIMIT);
        let sink = sink.finish(LIMIT);
        // The worker ends on the sink's KILL.
        shape(&(vent + &sink + &worker.finish(LIMIT)))
    });
}

/// weather_client with the filter "10" (its argument) ends after 100 of
/// the updates whose zip code starts so, a hundredth of them (with its
/// default, "10001", it would wait for some ten million).
#[test]
fn weather_client_and_server() {
    compare(PAIR, |run| {
        let server = run.server("weather_server", &[]);
        let client = run.client("weather_client", &["10"]).finish(LIMIT);
        server.stop();
        // The average temperature is around 27F: not negative, but for
        // one run in a million.
        shape(&client.replace('-', ""))
    });
}

/// psenvsub prints the "B" envelopes only, for ever: its first lines.
#[test]
fn psenvpub_and_psenvsub() {
    compare(PAIR, |run| {
        let _publisher = run.server("psenvpub", &[]);
        let mut subscriber = run.client("psenvsub", &[]);
        subscriber.first_lines(3, LIMIT).join("\n")
    });
}

/// pathopub sends its 1,000 topics once, a second after it binds (its own
/// wait for subscribers), then one update a second: the subscriber,
/// started first, gets its topic's "Save Roger" from that first round.
#[test]
fn pathopub_and_pathosub() {
    compare(PAIR, |run| {
        let mut subscriber = run.client("pathosub", &[]);
        let _publisher = run.server("pathopub", &[]);
        subscriber.first_lines(1, LIMIT).join("\n")
    });
}

/// lvcache between pathopub (its argument: where to bind, here lvcache's
/// upstream) and pathosub (where to connect, here lvcache): lvcache says
/// it sends the subscriber its topic's cached value, and the subscriber
/// gets "Save Roger" (from the cache or passed on as it came).
#[test]
fn pathopub_lvcache_pathosub() {
    compare(PAIR, |run| {
        let mut cache = run.server("lvcache", &[]);
        let mut subscriber = run.client("pathosub", &[&run.endpoint("tcp://localhost:5558")]);
        let _publisher = run.server("pathopub", &[&run.endpoint("tcp://*:5557")]);
        let first = subscriber.first_lines(1, LIMIT).join("\n");
        shape(&(cache.first_lines(1, LIMIT).join("\n") + "\n" + &first))
    });
}

/// msreader and mspoller read a taskvent's tasks and a weather server's
/// updates, and print nothing: each runs on while taskvent sends it its
/// batch and ends, which it does only once the tasks went.
#[test]
fn msreader_and_mspoller_read_taskvent_and_weather_server() {
    for reader in ["msreader", "mspoller"] {
        compare(PAIR, |run| {
            let sink = run.server("tasksink", &[]);
            let _weather = run.server("weather_server", &[]);
            let mut reader = run.client(reader, &[]);
            let mut vent = run.server("taskvent", &[]);
            vent.first_lines(1, LIMIT);
            vent.input("\n");
            let vent = vent.finish(LIMIT);
            reader.assert_running();
            sink.stop();
            shape(&(vent + &reader.stop()))
        });
    }
}

/// stream-logserver (a STREAM socket) prints what a plain byte-stream
/// client, telnet in the example's words, sends it.
#[test]
fn stream_logserver_prints_what_a_raw_client_sends() {
    compare(ONE_PROGRAM_TCP, |run| {
        let mut server = run.server("stream-logserver", &[]);
        // It binds after this line; the client tries until it answers.
        server.first_lines(1, LIMIT);
        let mut client = raw_connect(run, Instant::now() + LIMIT);
        client.write_all(b"hello from a raw peer\n").unwrap();
        shape(&server.first_lines(2, LIMIT).join("\n"))
    });
}

/// A plain connection to stream-logserver's endpoint (tcp 8888, or its ipc
/// path), tried until `deadline`.
fn raw_connect(run: &Run, deadline: Instant) -> Box<dyn Write> {
    loop {
        let client: std::io::Result<Box<dyn Write>> = match run.cast.endpoints {
            AsWritten => std::net::TcpStream::connect("127.0.0.1:8888").map(|s| Box::new(s) as _),
            Ipc => std::os::unix::net::UnixStream::connect(run.dir.path().join("8888.ipc"))
                .map(|s| Box::new(s) as _),
        };
        match client {
            Ok(client) => return client,
            Err(e) if Instant::now() > deadline => panic!("stream-logserver never answered: {}", e),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}
