//! A real browser for the admin page's test: Debian's `chromium`, headless, driven over the WebDriver protocol
//! (fantoccini) through Debian's `chromedriver` (package `chromium-driver`) on a free loopback port. Nothing comes
//! from npm. [`Browser::step`] runs one named step of a test, screenshots the page into the output folder after it
//! (`NN-name.png`, or `NN-name-FAILED.png`) and fails the test at the first step that fails or leaves an uncaught
//! error in the page.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// Where Debian's packages put the browser and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's `chromium-driver`.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long one wait inside a step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// Why a step failed: a message for the test's output.
#[derive(Debug)]
pub struct Failure(pub String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// What a step's body answers.
pub type Outcome<T = ()> = Result<T, Failure>;

/// Fails the step with `message` unless `cond` holds.
pub fn ensure(cond: bool, message: impl Into<String>) -> Outcome {
    if cond {
        Ok(())
    } else {
        Err(Failure(message.into()))
    }
}

/// Headless chromium under chromedriver, with a folder for its screenshots.
pub struct Browser {
    client: Client,
    driver: Child,
    out_dir: PathBuf,
    steps: usize,
}

impl Browser {
    /// Starts chromedriver on a free port and opens chromium at a 1280×800 viewport; empties `out_dir` for the
    /// screenshots. Fails naming the missing package when chromium or its driver is not installed.
    pub async fn start(out_dir: &Path) -> Outcome<Self> {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            ensure(
                Path::new(path).exists(),
                format!("{path} is missing: `apt-get install {package}` (.ci/run does)"),
            )?;
        }
        let _ = std::fs::remove_dir_all(out_dir);
        std::fs::create_dir_all(out_dir)?;
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut browser_driver = DriverGuard(Some(driver));
        let url = format!("http://127.0.0.1:{port}");
        wait_for_driver(&url).await?;
        let mut caps = Capabilities::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,800",
                ],
            }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await?;
        Ok(Browser {
            client,
            driver: browser_driver.0.take().expect("the driver"),
            out_dir: out_dir.to_path_buf(),
            steps: 0,
        })
    }

    /// The WebDriver client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs one step: its body, then a check for uncaught errors in the page, then a screenshot. On failure the
    /// screenshot is `NN-name-FAILED.png`, the browser closes and the test panics with the step's name and reason.
    pub async fn step(&mut self, name: &str, body: impl AsyncFnOnce(&Browser) -> Outcome) {
        self.steps += 1;
        let label = format!("{:02}-{name}", self.steps);
        let started = Instant::now();
        let mut result = body(&*self).await;
        if result.is_ok() {
            result = self.uncaught_errors().await;
        }
        match result {
            Ok(()) => {
                self.screenshot(&label).await;
                println!("ok   {label} ({} ms)", started.elapsed().as_millis());
            }
            Err(Failure(reason)) => {
                self.screenshot(&format!("{label}-FAILED")).await;
                let _ = self.client.clone().close().await;
                panic!(
                    "browser step {label} failed: {reason}\n(screenshots in {})",
                    self.out_dir.display()
                );
            }
        }
    }

    /// Saves a screenshot of the page as `<out_dir>/<label>.png` (best effort: a failed screenshot is reported, not
    /// fatal).
    pub async fn screenshot(&self, label: &str) {
        match self.client.screenshot().await {
            Ok(png) => {
                if let Err(e) = std::fs::write(self.out_dir.join(format!("{label}.png")), png) {
                    eprintln!("screenshot {label}: {e}");
                }
            }
            Err(e) => eprintln!("screenshot {label}: {e}"),
        }
    }

    /// Closes the browser and its driver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> Outcome {
        Ok(self.client.goto(url).await?)
    }

    /// Waits until `op` succeeds (as a person waits for the page to be ready), failing with its last error after
    /// the step timeout.
    pub async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Outcome<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Outcome<T>>,
    {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(Failure(e)) if Instant::now() >= deadline => {
                    return Err(Failure(format!("{what}: still failing after {STEP_TIMEOUT:?}: {e}")))
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// The first element matching `css`, once it is shown.
    pub async fn visible(&self, css: &str) -> Outcome<Element> {
        self.retry(&format!("wait for {css} to be shown"), || async {
            let el = self.client.find(Locator::Css(css)).await?;
            ensure(el.is_displayed().await?, "present but hidden")?;
            Ok(el)
        })
        .await
    }

    /// Waits until nothing matching `css` is shown (hidden or gone).
    pub async fn hidden(&self, css: &str) -> Outcome {
        self.until(
            &format!("{css} to be hidden"),
            "const e = document.querySelector(arguments[0]); return !e || !e.checkVisibility();",
            vec![json!(css)],
        )
        .await
        .map(drop)
    }

    /// Clicks the element matching `css` once it can be clicked.
    pub async fn click(&self, css: &str) -> Outcome {
        self.retry(&format!("click {css}"), || async {
            Ok(self.find(css).await?.click().await?)
        })
        .await
    }

    /// The first element matching `css`, scrolled to the middle of the viewport (where no sticky header covers
    /// it, as a person would scroll before clicking).
    pub async fn find(&self, css: &str) -> Outcome<Element> {
        let el = self.client.find(Locator::Css(css)).await?;
        self.client
            .execute(
                "arguments[0].scrollIntoView({ block: 'center', inline: 'center' });",
                vec![serde_json::to_value(&el)?],
            )
            .await?;
        Ok(el)
    }

    /// Replaces the value of the input matching `css` with `text`, typed as a person would.
    pub async fn fill(&self, css: &str, text: &str) -> Outcome {
        self.retry(&format!("fill {css}"), || async {
            let el = self.find(css).await?;
            el.clear().await?;
            el.send_keys(text).await?;
            Ok(())
        })
        .await
    }

    /// Puts the file at `path` into the file input matching `css`, as a person picking it from disk.
    pub async fn pick_file(&self, css: &str, path: &Path) -> Outcome {
        let path = path.display().to_string();
        self.retry(&format!("pick {path} in {css}"), || async {
            Ok(self.client.find(Locator::Css(css)).await?.send_keys(&path).await?)
        })
        .await
    }

    /// Chooses the option with this `value` in the select matching `css`.
    pub async fn select_value(&self, css: &str, value: &str) -> Outcome {
        self.retry(&format!("select {value} in {css}"), || async {
            Ok(self.find(css).await?.select_by_value(value).await?)
        })
        .await
    }

    /// Chooses the option labelled `label` in the select matching `css`.
    pub async fn select_label(&self, css: &str, label: &str) -> Outcome {
        self.retry(&format!("select {label:?} in {css}"), || async {
            Ok(self.find(css).await?.select_by_label(label).await?)
        })
        .await
    }

    /// Clicks the link whose text is `text` inside the element matching `container`.
    pub async fn click_link_in(&self, container: &str, text: &str) -> Outcome {
        self.retry(&format!("click link {text:?} in {container}"), || async {
            let scope = self.find(container).await?;
            Ok(scope.find(Locator::LinkText(text)).await?.click().await?)
        })
        .await
    }

    /// The current value of the input matching `css`.
    pub async fn value(&self, css: &str) -> Outcome<String> {
        let el = self.visible(css).await?;
        Ok(el.prop("value").await?.unwrap_or_default())
    }

    /// The text content of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Outcome<String> {
        let v = self
            .js(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                vec![json!(css)],
            )
            .await?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| Failure(format!("nothing matches {css}")))
    }

    /// Waits until an element matching `css` contains `text`.
    pub async fn has_text(&self, css: &str, text: &str) -> Outcome {
        self.until(
            &format!("{css} containing {text:?}"),
            "return [...document.querySelectorAll(arguments[0])].some(e => e.textContent.includes(arguments[1]));",
            vec![json!(css), json!(text)],
        )
        .await
        .map(drop)
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> Outcome<usize> {
        let v = self
            .js(
                "return document.querySelectorAll(arguments[0]).length;",
                vec![json!(css)],
            )
            .await?;
        Ok(v.as_u64().unwrap_or(0) as usize)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and answers what it returns.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Outcome<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Waits until `script` returns a truthy value in the page, and answers that value.
    pub async fn until(&self, what: &str, script: &str, args: Vec<Value>) -> Outcome<Value> {
        self.retry(&format!("wait for {what}"), || async {
            let v = self.js(script, args.clone()).await?;
            let truthy = !matches!(v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            ensure(truthy, format!("not yet (the page answers {v})"))?;
            Ok(v)
        })
        .await
    }

    /// Makes the page's viewport `width`×`height` CSS pixels, as a phone's screen (DevTools emulation through
    /// chromedriver).
    pub async fn set_viewport(&self, width: u32, height: u32) -> Outcome {
        self.client
            .issue_cmd(ChromeCommand::Cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
            ))
            .await?;
        Ok(())
    }

    /// Fails when the page logged an uncaught error since the last look (chromium's console log, read through
    /// chromedriver); other console errors are printed.
    async fn uncaught_errors(&self) -> Outcome {
        let entries = self.client.issue_cmd(ChromeCommand::BrowserLog).await?;
        let mut uncaught = Vec::new();
        for entry in entries.as_array().into_iter().flatten() {
            let message = entry["message"].as_str().unwrap_or_default();
            if entry["level"] == "SEVERE" {
                if message.contains("Uncaught") {
                    uncaught.push(message.to_string());
                } else {
                    eprintln!("[page console] {message}");
                }
            }
        }
        ensure(
            uncaught.is_empty(),
            format!("uncaught error in the page: {}", uncaught.join("; ")),
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Kills chromedriver if the browser never starts.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// chromedriver's own commands beside the standard WebDriver ones.
#[derive(Debug)]
enum ChromeCommand {
    /// A DevTools protocol command with its params (`goog/cdp/execute`).
    Cdp(&'static str, Value),
    /// The browser console's entries since the last read (`se/log`, type `browser`).
    BrowserLog,
}

impl WebDriverCompatibleCommand for ChromeCommand {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        let session = session.unwrap_or_default();
        match self {
            ChromeCommand::Cdp(..) => base.join(&format!("session/{session}/goog/cdp/execute")),
            ChromeCommand::BrowserLog => base.join(&format!("session/{session}/se/log")),
        }
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = match self {
            ChromeCommand::Cdp(cmd, params) => json!({ "cmd": cmd, "params": params }),
            ChromeCommand::BrowserLog => json!({ "type": "browser" }),
        };
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Waits until chromedriver answers ready on `url`.
async fn wait_for_driver(url: &str) -> Outcome {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Ok(r) = http.get(format!("{url}/status")).send().await {
            if let Ok(v) = r.json::<Value>().await {
                if v["value"]["ready"] == true {
                    return Ok(());
                }
            }
        }
        ensure(
            Instant::now() < deadline,
            format!("chromedriver at {url} never became ready"),
        )?;
        tokio::time::sleep(POLL).await;
    }
}

/// A port nothing listens on now (the OS's pick for an ephemeral bind, released at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
