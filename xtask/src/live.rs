//! `cargo xtask regression --serve [ADDR]`: the dashboard of the run,
//! live. A small HTTP server (tiny_http, bound to loopback unless told
//! otherwise, an ephemeral port by default) serves the dashboard page with
//! the stored history and streams the run as server-sent events:
//! `progress` (which bench binary, how many runs done), `samples` (the
//! benchmarks whose points changed, after each process run), `verdicts`
//! (after each look of the gate), `commits` (the run's points on the x
//! axis) and `end`. Every benchmark in an event is the whole benchmark as
//! `dashboard::model` makes it, so the page, once it has every event,
//! holds what the static dashboard of the stored run holds.
//!
//! The event log is kept for the whole run: a page opened late replays it.
//! The stream ends with the run; the process waits (a few seconds at most)
//! for open pages to receive the end.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use homodyne_perf::{Baseline, BenchmarkRecord, Verdict};
use serde_json::{Value, json};

use crate::dashboard::model::Model;
use crate::dashboard::page;
use crate::divan::Row;
use crate::options::time_records;
use crate::suite::{Observer, Samples};

/// How long a page may take to receive the end once the run is over.
const DRAIN: Duration = Duration::from_secs(5);

/// Keep-alive comments on an idle stream, so that a closed page is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The address to serve on: `--serve` alone is loopback on an ephemeral
/// port; a port alone is loopback on that port; a host alone gets an
/// ephemeral port.
pub(crate) fn address(value: Option<&str>) -> Result<SocketAddr> {
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(SocketAddr::new(loopback, 0));
    };
    if let Ok(port) = value.parse::<u16>() {
        return Ok(SocketAddr::new(loopback, port));
    }
    if let Ok(ip) = value.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    value
        .to_socket_addrs()
        .with_context(|| format!("--serve takes an address (127.0.0.1:8080, a port, or a host), not {value:?}"))?
        .next()
        .ok_or_else(|| anyhow!("--serve: {value:?} names no address"))
}

/// The events so far, shared with the streams.
struct Log {
    frames: Vec<Arc<str>>,
    finished: bool,
    /// Streams still sending.
    open: usize,
}

struct Shared {
    log: Mutex<Log>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The live dashboard of one run.
pub(crate) struct Live {
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
    accept: Option<JoinHandle<()>>,
    /// The page's address, e.g. `http://127.0.0.1:41234/`.
    pub(crate) url: String,
    history: Model,
    head: Baseline,
    base: Option<Baseline>,
    base_commit: Option<String>,
    head_samples: Samples,
    base_samples: Samples,
    verdicts: BTreeMap<String, Verdict>,
    /// What the page holds: each benchmark and the commits as last sent.
    sent: BTreeMap<String, Value>,
    sent_commits: Value,
}

impl Live {
    /// Binds `address`, prints the page's address, and serves the page with
    /// `history` and the run to come: `head` (and the measured `base`) as
    /// made before any sample, compared with `base_commit`.
    pub(crate) fn start(
        address: SocketAddr,
        history: Model,
        head: Baseline,
        base: Option<Baseline>,
        base_commit: Option<String>,
    ) -> Result<Live> {
        let server = tiny_http::Server::http(address)
            .map_err(|error| anyhow!("--serve: cannot listen on {address}: {error}"))?;
        let bound = server.server_addr().to_ip().ok_or_else(|| anyhow!("--serve: the server has no IP address"))?;
        let shared = Arc::new(Shared {
            log: Mutex::new(Log { frames: Vec::new(), finished: false, open: 0 }),
            changed: Condvar::new(),
        });
        let mut live = Live {
            shared: Arc::clone(&shared),
            server: Arc::new(server),
            accept: None,
            url: format!("http://{bound}/"),
            history,
            head,
            base,
            base_commit,
            head_samples: Samples::new(),
            base_samples: Samples::new(),
            verdicts: BTreeMap::new(),
            sent: BTreeMap::new(),
            sent_commits: Value::Null,
        };
        let model = live.model();
        live.sent = model.benchmark_ids().filter_map(|id| Some((id.clone(), model.benchmark_json(id)?))).collect();
        live.sent_commits = model.commits_json();
        let html: Arc<str> = page(&model.to_json(), "homodyne-rs performance: live run", Some("/events")).into();
        let server = Arc::clone(&live.server);
        live.accept = Some(std::thread::spawn(move || accept(&server, &html, &shared)));
        if !bound.ip().is_loopback() {
            eprintln!("warning: --serve {bound} is reachable from other machines; the page shows this run's results");
        }
        eprintln!("dashboard live at {} (until the run ends)", live.url);
        Ok(live)
    }

    fn baseline_of(template: &Baseline, samples: &Samples) -> Baseline {
        let mut baseline = template.clone();
        baseline.benchmarks.extend(time_records(samples));
        baseline
    }

    /// The history and the run as far as it has come.
    fn model(&self) -> Model {
        let mut model = self.history.clone();
        let head = Live::baseline_of(&self.head, &self.head_samples);
        let base = self.base.as_ref().map(|base| Live::baseline_of(base, &self.base_samples));
        let verdicts: Vec<Verdict> = self.verdicts.values().cloned().collect();
        model.add_run(base.as_ref(), &head, &verdicts, self.base_commit.as_deref());
        model
    }

    fn send(&self, event: &str, data: &Value) {
        let frame: Arc<str> = format!("event: {event}\ndata: {data}\n\n").into();
        self.shared.lock().frames.push(frame);
        self.shared.changed.notify_all();
    }

    /// Sends what changed since the last event: the commits, then every
    /// benchmark whose JSON differs from what the page holds.
    fn send_changes(&mut self, event: &str, extra: Value) {
        let model = self.model();
        let commits = model.commits_json();
        if commits != self.sent_commits {
            self.send("commits", &commits);
            self.sent_commits = commits;
        }
        let mut changed = Vec::new();
        for id in model.benchmark_ids() {
            let Some(json) = model.benchmark_json(id) else { continue };
            if self.sent.get(id) != Some(&json) {
                self.sent.insert(id.clone(), json.clone());
                changed.push(json);
            }
        }
        if !changed.is_empty() {
            let mut data = extra;
            data["benchmarks"] = Value::Array(changed);
            self.send(event, &data);
        }
    }

    /// Instruction counts measured before the runs (`--instructions`).
    pub(crate) fn counts(
        &mut self,
        head: &BTreeMap<String, BenchmarkRecord>,
        base: &BTreeMap<String, BenchmarkRecord>,
    ) {
        self.head.benchmarks.extend(head.clone());
        if let Some(measured) = &mut self.base {
            measured.benchmarks.extend(base.clone());
        }
        self.send_changes("samples", json!({ "rows": head.keys().collect::<Vec<_>>() }));
    }

    /// The verdicts of one look (the latest verdict of a benchmark wins).
    pub(crate) fn verdicts(&mut self, verdicts: &[Verdict]) {
        for verdict in verdicts {
            self.verdicts.insert(verdict.name.clone(), verdict.clone());
        }
        self.send_changes("verdicts", json!({}));
    }

    /// The run is over: the stored `head` and measured `base`, the gate's
    /// final `verdicts`; sends the changes and the end (`message`), waits
    /// for open pages to receive them, and stops the server.
    pub(crate) fn finish(mut self, head: &Baseline, base: Option<&Baseline>, verdicts: &[Verdict], message: &str) {
        // The final sides hold every sample and count: the run is rebuilt from them.
        self.head = head.clone();
        self.head_samples.clear();
        if self.base.is_some() {
            self.base = base.cloned();
        }
        self.base_samples.clear();
        self.verdicts = verdicts.iter().map(|verdict| (verdict.name.clone(), verdict.clone())).collect();
        self.send_changes("verdicts", json!({}));
        self.send("end", &json!({ "message": message }));
        let deadline = Instant::now() + DRAIN;
        let mut log = self.shared.lock();
        log.finished = true;
        self.shared.changed.notify_all();
        while log.open > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            log = self.shared.changed.wait_timeout(log, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        drop(log);
        self.server.unblock();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Observer for Live {
    fn progress(&mut self, done: usize, total: usize, message: &str) {
        self.send("progress", &json!({ "done": done, "total": total, "message": message }));
    }

    fn rows(&mut self, group: usize, groups: usize, rows: &[Row]) {
        // The head is the last group; a measured base the first.
        let samples = if group + 1 == groups { &mut self.head_samples } else { &mut self.base_samples };
        for row in rows {
            samples.entry(row.path.clone()).or_default().push(row.median_ns);
        }
        let names: Vec<String> = rows.iter().map(|row| format!("{}/time", row.path)).collect();
        self.send_changes(
            "samples",
            json!({ "rows": names, "side": if group + 1 == groups { "head" } else { "base" } }),
        );
    }
}

/// Answers requests until the server is unblocked: the page, the event
/// stream (a thread each), nothing else.
fn accept(server: &tiny_http::Server, html: &Arc<str>, shared: &Arc<Shared>) {
    let header = |name: &str, value: &str| tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).ok();
    while let Ok(request) = server.recv() {
        let path = request.url().split('?').next().unwrap_or("").to_owned();
        let response = if *request.method() != tiny_http::Method::Get {
            tiny_http::Response::from_string("only GET").with_status_code(405)
        } else if path == "/" || path == "/index.html" {
            let mut response = tiny_http::Response::from_string(html.to_string());
            for (name, value) in [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")] {
                if let Some(header) = header(name, value) {
                    response.add_header(header);
                }
            }
            response
        } else if path == "/events" {
            let shared = Arc::clone(shared);
            shared.lock().open += 1;
            std::thread::spawn(move || {
                // A page that went away ends its stream: nothing to report.
                let _ = stream(request.into_writer(), &shared);
                shared.lock().open -= 1;
                shared.changed.notify_all();
            });
            continue;
        } else if path == "/favicon.ico" {
            tiny_http::Response::from_string("").with_status_code(204)
        } else {
            tiny_http::Response::from_string("not found").with_status_code(404)
        };
        // A client that hung up: nothing to do.
        let _ = request.respond(response);
    }
}

/// Writes the event log to one page, then every event as it comes, until
/// the run ends (written by hand: tiny_http buffers streamed bodies).
fn stream(mut writer: Box<dyn Write + Send>, shared: &Shared) -> std::io::Result<()> {
    writer.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
          Connection: close\r\nX-Content-Type-Options: nosniff\r\n\r\nretry: 60000\n\n",
    )?;
    writer.flush()?;
    let mut next = 0;
    loop {
        let (frames, finished) = {
            let mut log = shared.lock();
            let started = Instant::now();
            while next == log.frames.len() && !log.finished && started.elapsed() < KEEP_ALIVE {
                log = shared.changed.wait_timeout(log, KEEP_ALIVE).unwrap_or_else(PoisonError::into_inner).0;
            }
            (log.frames[next..].to_vec(), log.finished)
        };
        if frames.is_empty() && !finished {
            writer.write_all(b": keep-alive\n\n")?;
        }
        for frame in &frames {
            writer.write_all(frame.as_bytes())?;
        }
        writer.flush()?;
        next += frames.len();
        if finished && next == shared.lock().frames.len() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::net::TcpStream;

    use homodyne_perf::compare_baselines;

    use super::*;

    fn baseline(commit: char, rows: &[(&str, f64)]) -> Baseline {
        let rows: Vec<(&str, &str, Vec<f64>)> =
            rows.iter().map(|(name, center)| (*name, "ns", vec![center * 0.999, *center, center * 1.001])).collect();
        crate::testing::baseline(&commit.to_string().repeat(40), 1_790_000_000, &rows)
    }

    fn get(address: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(stream, "{request}\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    }

    #[test]
    fn a_page_gets_the_whole_run_then_the_stream_and_the_server_end() {
        let stored = baseline('b', &[("k/a/10/time", 100.0)]);
        let history = Model::new(&[(&stored, crate::dashboard::model::Kind::Ancestor)], "git", BTreeMap::new());
        let mut live =
            Live::start(address(None).unwrap(), history, baseline('h', &[]), None, Some(stored.commit.clone()))
                .unwrap();
        let bound: SocketAddr = live.url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
        assert!(bound.ip().is_loopback() && bound.port() != 0, "{bound}");

        let page = get(bound, "GET / HTTP/1.1");
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("connect-src 'self'") && page.contains("\"live\":\"/events\""));
        assert!(get(bound, "GET /nothing HTTP/1.1").starts_with("HTTP/1.1 404"));
        assert!(get(bound, "POST /events HTTP/1.1").starts_with("HTTP/1.1 405"));

        let reader = std::thread::spawn(move || get(bound, "GET /events HTTP/1.1"));
        while live.shared.lock().open == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        live.progress(0, 2, "run 1/2");
        live.rows(0, 1, &[Row { path: "k/a/10".to_owned(), median_ns: 150.0 }]);
        live.rows(0, 1, &[Row { path: "k/new/1".to_owned(), median_ns: 7.0 }]);
        let mut head = baseline('h', &[("k/a/10/time", 150.0), ("k/new/1/time", 7.0)]);
        // Made when the run ends: a later timestamp than the page was given.
        head.timestamp += 86_400;
        let verdicts = compare_baselines(Some(&stored), &head, &crate::suite::thresholds()).verdicts;
        live.finish(&head, None, &verdicts, "The run ended.");
        let stream = reader.join().unwrap();

        assert!(stream.contains("Content-Type: text/event-stream"), "{stream}");
        let events: Vec<&str> = stream.lines().filter_map(|line| line.strip_prefix("event: ")).collect();
        // The run's commit changes once, at the end (its final metadata).
        assert_eq!(events, ["progress", "samples", "samples", "commits", "verdicts", "end"], "{stream}");
        let data: Vec<Value> = stream
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect();
        assert_eq!(data[1]["benchmarks"][0]["id"], "k/a/10");
        assert_eq!(data[1]["benchmarks"][0]["series"]["time"]["points"][1]["median"], 150.0);
        assert_eq!(data[2]["benchmarks"][0]["id"], "k/new/1", "only what changed");
        assert_eq!(data[3]["commits"][1]["date"], "2026-09-22", "{}", data[3]);
        assert_eq!(data[5]["message"], "The run ended.");
        // The verdicts arrive with the final sides; the server is gone after the end.
        let verdict = &data[4]["benchmarks"][0]["series"]["time"]["points"][1]["verdict"];
        assert_eq!(verdict["against"], "b".repeat(10), "{}", data[4]);
        // Three runs a side: 20 arrangements, too few to call anything (×1.5 stays undecided).
        assert_eq!(verdict["outcome"], "undecided");
        assert!((verdict["ratio"].as_f64().unwrap() - 1.5).abs() < 0.01, "{verdict}");
        // tiny_http's listening thread ends just after the server is dropped.
        let stopped = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            TcpStream::connect(bound).is_err()
        });
        assert!(stopped, "the server stops with the run");
    }

    #[test]
    fn addresses_default_to_loopback() {
        assert_eq!(address(None).unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(address(Some("8080")).unwrap(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(address(Some("0.0.0.0")).unwrap(), "0.0.0.0:0".parse().unwrap());
        assert_eq!(address(Some("[::1]")).unwrap(), "[::1]:0".parse().unwrap());
        assert_eq!(address(Some("127.0.0.1:9")).unwrap(), "127.0.0.1:9".parse().unwrap());
        assert!(address(Some("no such host name.invalid:1")).is_err());
    }
}
