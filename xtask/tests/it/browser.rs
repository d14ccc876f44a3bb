//! A headless Chromium driven through ChromeDriver's W3C WebDriver protocol
//! (JSON over HTTP on loopback, spoken here over a plain `TcpStream`):
//! navigate, run a script, read the console and network logs, screenshot.
//!
//! The browser is Debian's `chromium` with `chromium-driver` (`.ci/run`
//! installs them); `CHROMIUM` and `CHROMEDRIVER` name others. Where neither
//! is installed, [`Browser::start`] returns `None` and the tests say they
//! were skipped.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// Flags that keep Chromium off the network (this machine's is closed, and
/// a test must see only the page's own requests) and out of the user's profile.
const FLAGS: [&str; 11] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--hide-scrollbars",
];

fn find(variable: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.exists().then_some(path)
}

/// One HTTP/1.1 exchange with `Connection: close`.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    // ChromeDriver keeps the connection open whatever the request says:
    // the body is read by its length (or its chunks), not to the end.
    let mut response = Vec::new();
    let mut buffer = [0u8; 16_384];
    let split = loop {
        if let Some(split) = response.windows(4).position(|window| window == b"\r\n\r\n") {
            break split;
        }
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no response head"));
        }
        response.extend_from_slice(&buffer[..read]);
    };
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let mut payload = response[split + 4..].to_vec();
    let length =
        head.lines().find_map(|line| line.strip_prefix("content-length:")).and_then(|n| n.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked") || head.contains("transfer-encoding:chunked");
    loop {
        let complete = match length {
            Some(length) => payload.len() >= length,
            None if chunked => payload.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        payload.extend_from_slice(&buffer[..read]);
    }
    if chunked {
        payload = dechunk(&payload);
    }
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
    Ok((status, value))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|window| window == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = data.get(start + size + 2..).unwrap_or_default();
    }
    out
}

/// A browser session; the driver is stopped when it is dropped.
pub(crate) struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium with a fresh profile;
    /// `None` (after saying why) where no browser is installed.
    pub(crate) fn start(name: &str) -> Option<Browser> {
        let (Some(chromium), Some(chromedriver)) =
            (find("CHROMIUM", "/usr/bin/chromium"), find("CHROMEDRIVER", "/usr/bin/chromedriver"))
        else {
            eprintln!(
                "SKIPPED {name}: no headless Chromium here (install Debian's chromium and chromium-driver, as \
                 .ci/run does, or set CHROMIUM and CHROMEDRIVER)"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).unwrap().port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let started = Instant::now();
        while !http(port, "GET", "/status", None).is_ok_and(|(_, status)| status["value"]["ready"] == true) {
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = std::env::temp_dir().join(format!("xtask-chromium-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut args: Vec<String> = FLAGS.iter().map(|flag| (*flag).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push("--window-size=1280,1000".to_owned());
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            "goog:loggingPrefs": { "browser": "ALL", "performance": "ALL" },
        }}});
        let (status, created) = http(port, "POST", "/session", Some(&capabilities)).expect("a session");
        assert_eq!(status, 200, "creating a session: {created}");
        let session = created["value"]["sessionId"].as_str().expect("a session id").to_owned();
        let browser = Browser { driver, port, session, _profile: TempDir(profile) };
        // The new-tab page's own requests and messages are not the test's.
        browser.open("about:blank");
        browser.console();
        browser.requests();
        Some(browser)
    }

    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, value) = http(self.port, method, &path, body).expect("the driver answers");
        assert_eq!(status, 200, "{method} {path}: {value}");
        value["value"].clone()
    }

    /// Opens `url` and waits for the document to load.
    pub(crate) fn open(&self, url: &str) {
        self.command("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub(crate) fn run(&self, script: &str, args: &[Value]) -> Value {
        self.command("POST", "/execute/sync", Some(&json!({ "script": script, "args": args })))
    }

    /// Polls `condition` (a script returning a boolean) until it holds.
    pub(crate) fn wait_for(&self, condition: &str, timeout: Duration) {
        let started = Instant::now();
        while self.run(condition, &[]) != Value::Bool(true) {
            assert!(started.elapsed() < timeout, "timed out waiting for: {condition}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The console's entries since the last call, as (level, message).
    pub(crate) fn console(&self) -> Vec<(String, String)> {
        let entries = self.command("POST", "/se/log", Some(&json!({ "type": "browser" })));
        entries
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
                (text("level"), text("message"))
            })
            .collect()
    }

    /// The URLs the browser requested since the last call (DevTools'
    /// `Network.requestWillBeSent`, the page's own document included).
    pub(crate) fn requests(&self) -> Vec<String> {
        let entries = self.command("POST", "/se/log", Some(&json!({ "type": "performance" })));
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| serde_json::from_str::<Value>(entry["message"].as_str()?).ok())
            .filter(|message| message["message"]["method"] == "Network.requestWillBeSent")
            .filter_map(|message| message["message"]["params"]["request"]["url"].as_str().map(str::to_owned))
            .collect()
    }

    /// Resizes the window to `width` × the page's height (at most
    /// `max_height`) and writes a PNG of it to `path`.
    pub(crate) fn screenshot(&self, width: u32, max_height: u32, path: &Path) {
        self.command("POST", "/window/rect", Some(&json!({ "width": width, "height": 800 })));
        let height = self.run("return document.documentElement.scrollHeight;", &[]).as_u64().unwrap_or(800);
        let height = (height as u32).clamp(400, max_height);
        self.command("POST", "/window/rect", Some(&json!({ "width": width, "height": height })));
        self.run("window.scrollTo(0, 0);", &[]);
        let encoded = self.command("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD.decode(encoded.as_str().expect("base64")).expect("a PNG");
        assert_eq!(&png[1..4], b"PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.session), None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
