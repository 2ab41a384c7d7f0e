//! A headless Chromium driven through chromedriver (WebDriver), with axe-core at hand.
//!
//! Each test gets its own chromedriver on a free port and a fresh profile, so tests run in
//! parallel without sharing cookies. Chromium, chromedriver and axe-core are installed by
//! `.ci/install-deps`; under `CI=true` a missing one fails the test, on a developer's machine
//! the test is skipped with the reason.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, free_port, repo};

/// The window every test and every screenshot uses.
pub const WIDTH: u32 = 1280;
pub const HEIGHT: u32 = 900;

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver takes its Chromium with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn found(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// Missing a part: fail under `CI=true`, else say why the test is skipped.
fn missing(what: &str) -> Option<Browser> {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} is required under CI=true: run .ci/install-deps"
    );
    eprintln!("skipped: {what} not found (run .ci/install-deps)");
    None
}

/// axe-core's script, from the project's pinned npm install.
pub fn axe_source() -> Option<String> {
    std::fs::read_to_string(repo().join("tests/browser/node_modules/axe-core/axe.min.js")).ok()
}

/// A new headless browser, or `None` (skipped) on a machine without one.
pub async fn browser() -> Option<Browser> {
    let Some(chromedriver) = found("chromedriver") else {
        return missing("chromedriver");
    };
    let Some(chromium) = found("chromium").or_else(|| found("chromium-browser")) else {
        return missing("chromium");
    };
    if axe_source().is_none() {
        return missing("axe-core (tests/browser/node_modules)");
    }
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--hide-scrollbars",
                "--force-device-scale-factor=1", "--lang=de-DE",
                format!("--window-size={WIDTH},{HEIGHT}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let mut last = None;
    // The port was free a moment ago; when another process took it first, chromedriver
    // exits and is started again on another.
    for _ in 0..5 {
        let port = free_port();
        let mut driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if driver.try_wait().unwrap().is_some() {
                break;
            }
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    });
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = driver.kill();
        let _ = driver.wait();
    }
    panic!("chromedriver did not start a session: {last:?}");
}

impl Browser {
    pub async fn goto(&self, app: &TestApp, path: &str) {
        self.client
            .goto(&format!("{}{path}", app.base))
            .await
            .unwrap();
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// The page's main text, for failure messages.
    pub async fn main_text(&self) -> String {
        self.eval("return (document.querySelector('main') || document.body).innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(2000)
            .collect()
    }

    pub async fn html(&self) -> String {
        self.client.source().await.unwrap()
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Runs `script` (a function body; `return` answers) in the page.
    pub async fn eval(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// Waits until `script` returns something truthy, up to `secs` seconds.
    pub async fn until(&self, what: &str, secs: u64, script: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.eval(script).await;
            if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
                return v;
            }
            assert!(tokio::time::Instant::now() < deadline, "waited for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element and waits for the next page to load.
    pub async fn click_and_wait(&self, css: &str) {
        let before = self.eval("return performance.timeOrigin").await;
        self.find(css).await.click().await.unwrap();
        self.loaded_after(before).await;
    }

    /// Waits until a page newer than the one started at `before` has loaded.
    pub async fn loaded_after(&self, before: Value) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(v) = self
                .client
                .execute(
                    "return [performance.timeOrigin, document.readyState]",
                    vec![],
                )
                .await
                && v[0] != before
                && v[1] == "complete"
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the next page did not load"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in through the login page; lands in the inbox.
    pub async fn sign_in(&self, app: &TestApp, name: &str) {
        self.goto(app, "/login").await;
        self.find("#username").await.send_keys(name).await.unwrap();
        self.find("#password")
            .await
            .send_keys(PASSWORD)
            .await
            .unwrap();
        self.click_and_wait("form button[type=submit]").await;
        let at = self.path().await;
        assert_eq!(
            at,
            "/app",
            "{name} is signed in: {}",
            self.main_text().await
        );
    }

    /// axe-core's WCAG 2.1 A/AA rules on the current page; panics on any violation of impact
    /// serious or critical, and prints the lesser ones.
    pub async fn assert_accessible(&self, page: &str) {
        let loaded = self.eval("return typeof axe !== 'undefined'").await;
        if loaded != json!(true) {
            self.client
                .execute(&axe_source().unwrap(), vec![])
                .await
                .unwrap();
        }
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {runOnly: {type: 'tag',
                     values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                   .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                     help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))))
                   .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e),
                     nodes: []}]));",
                vec![],
            )
            .await
            .unwrap();
        let violations = found.as_array().cloned().unwrap_or_default();
        let (grave, lesser): (Vec<_>, Vec<_>) = violations
            .iter()
            .partition(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")));
        for v in &lesser {
            eprintln!("axe on {page} (impact {}): {v}", v["impact"]);
        }
        assert!(
            grave.is_empty(),
            "axe-core on {page}: {}",
            serde_json::to_string_pretty(&grave).unwrap()
        );
    }

    /// A screenshot of the whole window into `$ANLIEGEN_SCREENSHOTS/{name}.png` when that
    /// variable names a directory (`make screenshots`); otherwise nothing.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("ANLIEGEN_SCREENSHOTS") else {
            return;
        };
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), png).unwrap();
    }

    /// No script dialog is open.
    pub async fn assert_no_dialog(&self) {
        assert!(
            self.client.get_alert_text().await.is_err(),
            "a dialog opened"
        );
    }
}
