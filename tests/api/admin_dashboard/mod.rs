//! The HTML dashboard under /admin, over HTTP with a hand-kept cookie:
//! accounts, login, sessions, CSRF and Origin checks, and the pages' actions.

mod accounts;
mod pages;

use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::helpers::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

/// A browser-like client: no redirects followed, our cookie sent by hand.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub client: reqwest::Client,
    pub cookie: Option<String>,
    /// Sent as `X-Forwarded-For` (the app must trust 127.0.0.1 as a proxy).
    pub forwarded_for: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Browser<'a> {
        Browser {
            app,
            client: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
            cookie: None,
            forwarded_for: None,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        let mut request = self.client.get(self.app.url(path));
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.text().await.unwrap()
    }

    /// A form post from our own origin.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.post_from(path, fields, Some(&self.app.address)).await
    }

    pub async fn post_from(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> reqwest::Response {
        let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut request =
            self.client.post(self.app.url(path)).header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        if let Some(client) = &self.forwarded_for {
            request = request.header("x-forwarded-for", client);
        }
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// Logs in through the form; returns the login POST's answer.
    pub async fn login(&mut self, email: &str, password: &str) -> reqwest::Response {
        let form = self.page("/admin/login").await;
        let csrf = hidden(&form, "csrf_token");
        let response =
            self.post("/admin/login", &[("email", email), ("password", password), ("csrf_token", &csrf)]).await;
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
            self.cookie = Some(pair);
        }
        response
    }

    /// The CSRF token of the logged-in session (from the logout form).
    pub async fn csrf(&self) -> String {
        hidden(&self.page("/admin").await, "csrf_token")
    }
}

/// An hour ago: within DIGEST_MAX_AGE, not embargoed.
pub fn recent() -> String {
    (bulletin::clock::now() - chrono::TimeDelta::hours(1)).to_rfc3339()
}

pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub async fn add_admin(app: &TestApp, email: &str) {
    let password = bulletin::admins::AdminPassword::parse(PASSWORD).unwrap();
    let hash = bulletin::admins::hash_password(password).await.unwrap();
    assert!(app.store.add_admin(email, &hash, bulletin::clock::now()).await.unwrap());
}

async fn logged_in(app: &TestApp) -> Browser<'_> {
    add_admin(app, "editor@example.org").await;
    let mut browser = Browser::new(app);
    let response = browser.login("editor@example.org", PASSWORD).await;
    assert_eq!(response.status(), 303);
    browser
}
