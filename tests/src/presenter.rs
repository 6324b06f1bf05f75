//! A presenter: the console's JSON API with the admin token, and the console itself through
//! a signed-in session cookie.

use bytes::Bytes;
use spin_test_host::{App, Response};

/// The admin token [`Setup::console`](crate::Setup::console) turns the console on with.
pub const ADMIN_TOKEN: &str = "presenter-token-for-tests-0123456789";

/// A presenter holding the admin token.
pub struct Presenter {
    app: App,
    token: String,
}

impl Presenter {
    pub fn new(app: &App, token: &str) -> Presenter {
        Presenter {
            app: app.clone(),
            token: token.to_owned(),
        }
    }

    /// `method path` of the JSON API with `Authorization: Bearer <token>` and `json` as body.
    pub async fn api(&self, method: &str, path: &str, json: &str) -> anyhow::Result<Response> {
        let request = App::request(method, path)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .body(Bytes::copy_from_slice(json.as_bytes()))?;
        self.app.send(request).await
    }

    /// The JSON answer of the API, which must be `status`.
    pub async fn api_json(
        &self,
        method: &str,
        path: &str,
        json: &str,
        status: u16,
    ) -> anyhow::Result<serde_json::Value> {
        let response = self.api(method, path, json).await?;
        anyhow::ensure!(
            response.status() == status,
            "{method} {path} answered {}: {}",
            response.status(),
            String::from_utf8_lossy(response.body())
        );
        Ok(serde_json::from_slice(response.body())?)
    }

    /// The error the API answers, which must be `status`: its `error` text.
    pub async fn api_error(
        &self,
        method: &str,
        path: &str,
        json: &str,
        status: u16,
    ) -> anyhow::Result<String> {
        let answer = self.api_json(method, path, json, status).await?;
        answer["error"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no error in {answer}"))
    }

    /// Starts a round of `options` asking `question`; answers its number.
    pub async fn start_round(&self, question: &str, options: &[&str]) -> anyhow::Result<i64> {
        let body = serde_json::json!({ "question": question, "options": options }).to_string();
        let round = self
            .api_json("POST", "/admin/api/rounds", &body, 201)
            .await?;
        round["round"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("no round number in {round}"))
    }

    /// Signs in at the console's form; answers the session cookie (`admin_session=…`).
    pub async fn sign_in(&self) -> anyhow::Result<String> {
        let response = self
            .console_post("/admin/sign-in", &format!("token={}", self.token), None)
            .await?;
        anyhow::ensure!(
            response.status() == 303,
            "sign-in answered {}",
            response.status()
        );
        let cookie = response
            .headers()
            .get("set-cookie")
            .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
            .to_str()?;
        Ok(cookie.split(';').next().unwrap_or_default().to_owned())
    }

    /// A form POST to the console, with the session `cookie` if any, from the console's own page.
    pub async fn console_post(
        &self,
        path: &str,
        form: &str,
        cookie: Option<&str>,
    ) -> anyhow::Result<Response> {
        let mut request = App::request("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", "http://127.0.0.1:3000")
            .header("sec-fetch-site", "same-origin");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        self.app
            .send(request.body(Bytes::copy_from_slice(form.as_bytes()))?)
            .await
    }

    /// Where a console form's `303` leads, as a browser follows it: the page at its
    /// `Location`, with the session `cookie` and the notice the answer set, if any.
    pub async fn follow(&self, response: &Response, cookie: &str) -> anyhow::Result<Response> {
        anyhow::ensure!(
            response.status() == 303,
            "a console form answered {}, not a redirect",
            response.status()
        );
        let location = response
            .headers()
            .get("location")
            .ok_or_else(|| anyhow::anyhow!("a 303 without a Location"))?
            .to_str()?;
        let notice = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.starts_with("admin_notice="))
            .and_then(|value| value.split(';').next());
        let cookies = match notice {
            Some(notice) if !cookie.is_empty() => format!("{cookie}; {notice}"),
            Some(notice) => notice.to_owned(),
            None => cookie.to_owned(),
        };
        self.console_get(location, &cookies).await
    }

    /// A console page, with the session `cookie`.
    pub async fn console_get(&self, path: &str, cookie: &str) -> anyhow::Result<Response> {
        let request = App::request("GET", path)
            .header("cookie", cookie)
            .body(Bytes::new())?;
        self.app.send(request).await
    }
}
