//! Issue 13, the web console over plain HTTP: the landing page only for browsers (Graph clients keep Graph's `/`),
//! forms refused without the browser's form token or from another origin, escaping, operator-key and password
//! sign-in (throttled like the consent page), and console actions landing in the audit log like the Graph's.

mod common;
use common::*;
use std::collections::HashMap;

/// A browser over reqwest: keeps cookies, sends its page's Origin on POSTs, follows no redirects.
struct Browser<'a> {
    s: &'a TestServer,
    http: reqwest::Client,
    jar: HashMap<String, String>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    html: String,
}

impl Page {
    /// The form token the page's forms carry.
    fn csrf(&self) -> String {
        let at = self.html.find("name=\"csrf\" value=\"").expect("a form token") + "name=\"csrf\" value=\"".len();
        self.html[at..].split('"').next().unwrap().to_owned()
    }
}

impl<'a> Browser<'a> {
    fn new(s: &'a TestServer) -> Browser<'a> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { s, http, jar: HashMap::new() }
    }

    fn cookie(&self) -> String {
        self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn keep(&mut self, r: reqwest::Response) -> Page {
        for v in r.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.jar.insert(k.to_owned(), v.to_owned());
        }
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        Page { status, headers, html: r.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self
            .http
            .get(format!("{}{path}", self.s.url))
            .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
            .header("cookie", self.cookie())
            .send()
            .await
            .unwrap();
        self.keep(r).await
    }

    /// A form POST as a browser sends it: this origin, the cookies, and `fields`.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = self
            .http
            .post(format!("{}{path}", self.s.url))
            .header("accept", "text/html")
            .header("origin", self.s.url.clone())
            .header("cookie", self.cookie())
            .form(fields)
            .send()
            .await
            .unwrap();
        self.keep(r).await
    }

    /// Signs in with the control-plane key.
    async fn operator(&mut self) -> Page {
        let csrf = self.get("/business_settings").await.csrf();
        let key = self.s.admin_key.clone();
        let r = self.post("/business_settings/sign_in", &[("csrf", &csrf), ("kind", "operator"), ("key", &key)]).await;
        assert_eq!(r.status, 303, "{}", r.html);
        self.get("/business_settings").await
    }

    async fn person(&mut self, user: &str, password: &str) -> Page {
        let csrf = self.get("/business_settings").await.csrf();
        self.post(
            "/business_settings/sign_in",
            &[("csrf", &csrf), ("kind", "person"), ("user", user), ("password", password)],
        )
        .await
    }
}

#[tokio::test]
async fn browsers_get_the_landing_page_and_graph_clients_keep_graphs_root() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let mut b = Browser::new(&s);
    let landing = b.get("/").await;
    assert_eq!(landing.status, 200);
    assert!(landing.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = landing.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(landing.headers["x-frame-options"], "DENY");
    assert_eq!(landing.headers["cache-control"], "no-store");
    for link in ["/business_settings", "/tools/debug/accesstoken", "/tools/explorer"] {
        assert!(landing.html.contains(&format!("href=\"{link}\"")), "{link}");
    }

    // What a Graph client gets at `/` is what it got before the console existed, whatever it accepts.
    let graph = |accept: Option<&'static str>, query: &'static str| {
        let mut r = s.http.get(format!("{}/{query}", s.url));
        if let Some(a) = accept {
            r = r.header("accept", a);
        }
        r
    };
    for accept in [None, Some("*/*"), Some("application/json")] {
        let a = answer(graph(accept, "").send().await.unwrap()).await;
        assert_eq!(a.status, 400, "{accept:?}: {}", a.text);
        assert!(a.headers["content-type"].to_str().unwrap().starts_with("application/json"));
    }
    // A browser asking with Graph parameters is a Graph call too.
    let ids = format!("?ids={}&access_token={}", f.app_id, f.admin_token);
    let r = s.http.get(format!("{}/{ids}", s.url)).header("accept", "text/html").send().await.unwrap();
    let a = answer(r).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.body[&f.app_id].is_object(), "{}", a.text);
    let r = s.http.get(format!("{}/v25.0/", s.url)).header("accept", "text/html").send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    // Console paths are pages only for browsers, and only unversioned.
    let r = s.http.get(format!("{}/business_settings", s.url)).header("accept", "*/*").send().await.unwrap();
    let a = answer(r).await;
    assert_eq!(a.err().0, 803, "{}", a.text);
    let r =
        s.http.get(format!("{}/v25.0/business_settings", s.url)).header("accept", "text/html").send().await.unwrap();
    assert_eq!(answer(r).await.err().0, 803);
    let r = s.http.post(format!("{}/tools/explorer", s.url)).form(&[("path", "/me")]).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let r = b.get("/business_settings/nothing_here").await;
    assert_eq!(r.status, 404);
    assert!(r.html.contains("There is no such page"));
    // Batch is untouched.
    let batch = json!([{"method": "GET", "relative_url": "me"}]).to_string();
    let r = s
        .http
        .post(format!("{}/", s.url))
        .header("accept", "text/html")
        .form(&[("batch", batch.as_str()), ("access_token", &f.admin_token)])
        .send()
        .await
        .unwrap();
    let a = answer(r).await;
    assert_eq!(a.body[0]["code"], 200, "{}", a.text);
}

#[tokio::test]
async fn forms_need_the_browsers_token_and_this_origin() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let mut b = Browser::new(&s);
    let page = b.operator().await;
    let csrf = page.csrf();
    let create = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("business".to_owned(), f.business_id.clone()),
            ("name".to_owned(), "forged".to_owned()),
            ("role".to_owned(), "ADMIN".to_owned()),
        ]
    };
    // No token.
    let r = b.post("/business_settings/system_users", &[("business", &f.business_id), ("name", "forged")]).await;
    assert_eq!(r.status, 403, "{}", r.html);
    // Another browser's token.
    let other = Browser::new(&s).get("/business_settings").await.csrf();
    let fields = create(&other);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(b.post("/business_settings/system_users", &fields).await.status, 403);
    // The right token from another site.
    let fields = create(&csrf);
    let r = b
        .http
        .post(format!("{}/business_settings/system_users", s.url))
        .header("origin", "https://evil.example")
        .header("accept", "text/html")
        .header("cookie", b.cookie())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // And no Origin or Referer at all.
    let r = b
        .http
        .post(format!("{}/business_settings/system_users", s.url))
        .header("accept", "text/html")
        .header("cookie", b.cookie())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let dump = dump(&s).await;
    assert!(!dump.to_string().contains("forged"), "nothing was created");
    // The same form from this origin with its token works.
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = b.post("/business_settings/system_users", &fields).await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert!(r.html.contains("System user forged created"), "{}", r.html);
}

#[tokio::test]
async fn every_console_form_is_refused_without_its_token() {
    let s = TestServer::start().await;
    let mut b = Browser::new(&s);
    b.operator().await;
    for path in [
        "/business_settings/sign_in",
        "/business_settings/sign_out",
        "/business_settings/system_users",
        "/business_settings/install",
        "/business_settings/share_app",
        "/business_settings/assign",
        "/business_settings/generate",
        "/business_settings/revoke",
        "/business_settings/revoke_all",
        "/tools/debug/accesstoken",
        "/tools/debug/accesstoken/extend",
        "/tools/explorer",
    ] {
        let r = b.post(path, &[("csrf", "0".repeat(64).as_str())]).await;
        assert_eq!(r.status, 403, "{path}: {}", r.html);
        assert_eq!(r.headers["x-frame-options"], "DENY");
    }
}

#[tokio::test]
async fn names_are_escaped() {
    let s = TestServer::start().await;
    let evil = "<script>alert(1)</script>\"'&";
    let biz = s.admin("POST", "/businesses", json!({"name": evil})).await["id"].as_str().unwrap().to_owned();
    s.admin(
        "POST",
        "/system_users",
        json!({"business_id": biz, "name": "<img src=x onerror=alert(2)>", "role": "ADMIN"}),
    )
    .await;
    let mut b = Browser::new(&s);
    let page = b.operator().await;
    assert!(!page.html.contains("<script>alert"), "{}", page.html);
    assert!(!page.html.contains("<img src=x"), "{}", page.html);
    assert!(page.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;"), "{}", page.html);
    assert!(page.html.contains("&lt;img src=x onerror=alert(2)&gt;"));
}

#[tokio::test]
async fn the_operator_signs_in_with_the_key_and_a_wrong_key_is_refused() {
    let s = TestServer::start().await;
    s.fixture().await;
    let mut b = Browser::new(&s);
    let csrf = b.get("/business_settings").await.csrf();
    let r =
        b.post("/business_settings/sign_in", &[("csrf", &csrf), ("kind", "operator"), ("key", "not-the-key")]).await;
    assert_eq!(r.status, 401);
    assert!(!b.jar.contains_key("suat_console"));
    let page = b.operator().await;
    assert!(page.html.contains("Signed in as the operator"), "{}", page.html);
    assert!(page.html.contains("Acme"));
    // The session cookie is HttpOnly and SameSite=Strict; the key never appears in a URL or the page.
    assert!(!page.html.contains(&s.admin_key));
    let set = b.jar["suat_console"].clone();
    assert!(!set.contains(&s.admin_key));
    // Sign out forgets it.
    let csrf = page.csrf();
    let r = b.post("/business_settings/sign_out", &[("csrf", &csrf)]).await;
    assert_eq!(r.status, 303);
    let again = b.get("/business_settings").await;
    assert!(again.html.contains("Sign in as the operator"));
}

#[tokio::test]
async fn console_sign_in_is_throttled_like_the_consent_page() {
    let s = TestServer::start_at(1_900_000_000).await;
    let f = s.fixture().await;
    let person = s
        .admin(
            "POST",
            "/users",
            json!({"name": "Pat", "business_id": f.business_id, "admin": true, "password": "correct horse"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = Browser::new(&s);
    // Three failures are free; after the fourth, the next try must wait (the clock stands still).
    for _ in 0..4 {
        assert_eq!(b.person(&person, "wrong").await.status, 401);
    }
    let r = b.person(&person, "correct horse").await;
    assert_eq!(r.status, 429, "{}", r.html);
    assert!(r.headers.contains_key("retry-after"));
    assert!(r.html.contains("Too many failed sign-in attempts"));
    // The operator key has its own account in the same throttle.
    for _ in 0..4 {
        let csrf = b.get("/business_settings").await.csrf();
        let r = b.post("/business_settings/sign_in", &[("csrf", &csrf), ("kind", "operator"), ("key", "nope")]).await;
        assert_eq!(r.status, 401);
    }
    let csrf = b.get("/business_settings").await.csrf();
    let key = s.admin_key.clone();
    let r = b.post("/business_settings/sign_in", &[("csrf", &csrf), ("kind", "operator"), ("key", &key)]).await;
    assert_eq!(r.status, 429);
    // Past the wait, the right password gets in.
    s.advance_clock(2).await;
    assert_eq!(b.person(&person, "correct horse").await.status, 303);
    let audit: Value = s.admin("GET", "/audit?limit=100", Value::Null).await;
    let refused = audit["data"].as_array().unwrap().iter().filter(|e| e["action"] == "sign_in_refused").count();
    assert!(refused >= 2, "{audit}");
}

#[tokio::test]
async fn a_business_admin_acts_through_the_graphs_use_cases_and_rules() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let admin = s
        .admin(
            "POST",
            "/users",
            json!({"name": "Pat", "business_id": f.business_id, "admin": true, "password": "correct horse"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = Browser::new(&s);
    assert_eq!(b.person(&admin, "correct horse").await.status, 303);
    let page = b.get("/business_settings").await;
    assert!(page.html.contains("Signed in as Pat"), "{}", page.html);
    let csrf = page.csrf();
    // Generating before the app is installed is refused with the Graph's sentence.
    let r = b
        .post(
            "/business_settings/generate",
            &[("csrf", &csrf), ("system_user", &f.system_user_id), ("app", &f.app_id), ("scope", "ads_read")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.html);
    assert!(r.html.contains("has not installed app"), "{}", r.html);
    let r = b
        .post(
            "/business_settings/install",
            &[("csrf", &csrf), ("business", &f.business_id), ("system_user", &f.system_user_id), ("app", &f.app_id)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.html);
    let form = b.get(&format!("/business_settings/generate?system_user={}&app={}", f.system_user_id, f.app_id)).await;
    assert!(form.html.contains("value=\"ads_read\""), "{}", form.html);
    let r = b
        .post(
            "/business_settings/generate",
            &[
                ("csrf", &csrf),
                ("system_user", &f.system_user_id),
                ("app", &f.app_id),
                ("scope", "ads_read"),
                ("scope", "business_management"),
                ("expiry", "never"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert_eq!(r.headers["cache-control"], "no-store");
    let at = r.html.find("id=\"new-token\"").unwrap();
    let token = r.html[at..].split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let me = get(&s, "/v25.0/me", &[("access_token", &token)]).await;
    assert_eq!(me.ok()["id"], f.system_user_id.as_str());
    let audit: Value = s.admin("GET", "/audit?limit=100", Value::Null).await;
    let issue = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "issue" && e["detail"]["kind"] == "SYSTEM_USER")
        .unwrap()
        .clone();
    assert_eq!(issue["actor"], admin.as_str(), "{issue}");
    // Revoke it from the console: the Graph says 466 from then on.
    let r =
        b.post("/business_settings/revoke", &[("csrf", &csrf), ("business", &f.business_id), ("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert_eq!(get(&s, "/v25.0/me", &[("access_token", &token)]).await.err(), (190, Some(466)));
    // "Revoke all" for the system user: DELETE /{su}/access_tokens, and its tokens stop working.
    let other = generate(&s, &f, "ads_read", false).await;
    let r = b
        .post(
            "/business_settings/revoke_all",
            &[("csrf", &csrf), ("business", &f.business_id), ("system_user", &f.system_user_id)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert!(r.html.contains("All tokens of ci-bot"), "{}", r.html);
    assert_eq!(get(&s, "/v25.0/me", &[("access_token", &other)]).await.err().0, 190);
    // A non-admin person of the business is refused by the same rule as on the Graph.
    let employee = s
        .admin("POST", "/users", json!({"name": "Emp", "business_id": f.business_id, "password": "correct horse"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut e = Browser::new(&s);
    assert_eq!(e.person(&employee, "correct horse").await.status, 303);
    let csrf = e.get("/business_settings").await.csrf();
    let r = e
        .post(
            "/business_settings/system_users",
            &[("csrf", &csrf), ("business", &f.business_id), ("name", "x"), ("role", "ADMIN")],
        )
        .await;
    // The status is the Graph's for that error (#200 is a 400).
    assert_eq!(r.status, 400, "{}", r.html);
    assert!(r.html.contains("Only admins of this Business Manager"), "{}", r.html);
}

#[tokio::test]
async fn the_debugger_shows_an_expiring_token_and_extends_it() {
    let (s, f) = setup().await;
    install(&s, &f).await;
    let token = generate(&s, &f, "ads_read", true).await;
    let mut b = Browser::new(&s);
    let csrf = b.get("/tools/debug/accesstoken").await.csrf();
    let r = b.post("/tools/debug/accesstoken", &[("csrf", &csrf), ("input_token", &token)]).await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert!(r.html.contains("<td id=\"info-type\">SYSTEM_USER</td>"), "{}", r.html);
    assert!(r.html.contains("(in 60 days)"), "{}", r.html);
    assert!(r.html.contains("Extend Access Token"), "an expiring token can be extended");
    // The token was only ever in POST bodies.
    assert!(!r.html.contains(&format!("?input_token={token}")));
    // A wrong secret is the Graph's error; the right one gives a new token, shown once.
    let wrong = b
        .post(
            "/tools/debug/accesstoken/extend",
            &[("csrf", &csrf), ("input_token", &token), ("app_id", &f.app_id), ("app_secret", "nope")],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.html);
    assert!(wrong.html.contains("Could not extend"), "{}", wrong.html);
    let r = b
        .post(
            "/tools/debug/accesstoken/extend",
            &[("csrf", &csrf), ("input_token", &token), ("app_id", &f.app_id), ("app_secret", &f.app_secret)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert_eq!(r.headers["cache-control"], "no-store");
    let at = r.html.find("id=\"new-token\"").unwrap();
    let new = r.html[at..].split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert_ne!(new, token);
    get(&s, "/v25.0/me", &[("access_token", &new), ("appsecret_proof", &proof(&f.app_secret, &new))]).await.ok();
    let audit: Value = s.admin("GET", "/audit?limit=100", Value::Null).await;
    assert!(audit["data"].as_array().unwrap().iter().any(|e| e["action"] == "refresh"), "{audit}");
}

#[tokio::test]
async fn the_operator_is_told_that_graph_actions_are_made_by_a_person() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let mut b = Browser::new(&s);
    let csrf = b.operator().await.csrf();
    let r = b
        .post(
            "/business_settings/install",
            &[("csrf", &csrf), ("business", &f.business_id), ("system_user", &f.system_user_id), ("app", &f.app_id)],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.html);
    assert!(r.html.contains("sign in as an admin of the business"), "{}", r.html);
    assert_eq!(dump(&s).await["installs"], json!([]));
}

#[tokio::test]
async fn an_admin_who_develops_another_business_app_shares_it_with_theirs() {
    let s = TestServer::start().await;
    let f = s.fixture().await;
    let admin = s
        .admin(
            "POST",
            "/users",
            json!({"name": "Pat", "business_id": f.business_id, "admin": true, "password": "correct horse"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = s.admin("POST", "/businesses", json!({"name": "Agency"})).await["id"].as_str().unwrap().to_owned();
    let app = s.admin("POST", "/apps", json!({"name": "Agency Tool", "owner_business": other})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = Browser::new(&s);
    assert_eq!(b.person(&admin, "correct horse").await.status, 303);
    let csrf = b.get("/business_settings").await.csrf();
    let share = [("csrf", csrf.as_str()), ("business", &f.business_id), ("app", &app)];
    // Not yet a developer of the app: the Graph's rule refuses.
    let r = b.post("/business_settings/share_app", &share).await;
    assert_eq!(r.status, 400, "{}", r.html);
    assert!(r.html.contains("You must be a developer or admin of app"), "{}", r.html);
    s.admin("POST", &format!("/apps/{app}/roles"), json!({"user_id": admin, "role": "developer"})).await;
    let r = b.post("/business_settings/share_app", &share).await;
    assert_eq!(r.status, 200, "{}", r.html);
    assert!(r.html.contains("Agency Tool"), "{}", r.html);
    assert!(r.html.contains("shared with this business"), "{}", r.html);
}

#[tokio::test]
async fn generate_offers_only_what_the_rules_allow() {
    let s = TestServer::start().await;
    let biz = s.admin("POST", "/businesses", json!({"name": "Strict", "must_use_expiring_tokens": true})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = s
        .admin(
            "POST",
            "/apps",
            json!({"name": "Narrow", "owner_business": biz, "access_level": "standard",
                   "permissions": ["ads_read", "pages_messaging", "business_creative_asset_management"]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let su = s.admin("POST", "/system_users", json!({"business_id": biz, "name": "bot", "role": "ADMIN"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = s
        .admin("POST", "/users", json!({"name": "Pat", "business_id": biz, "admin": true, "password": "correct horse"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut b = Browser::new(&s);
    assert_eq!(b.person(&admin, "correct horse").await.status, 303);
    let form = b.get(&format!("/business_settings/generate?system_user={su}&app={app}")).await;
    let offered: Vec<&str> =
        form.html.split("name=\"scope\" value=\"").skip(1).map(|rest| rest.split('"').next().unwrap()).collect();
    // Only the app's approved permissions, and not one that needs a capability the app lacks.
    assert_eq!(offered, ["ads_read", "pages_messaging"], "{}", form.html);
    // The business requires expiring tokens: "Never" is not offered, and asking for it anyway is the Graph's error.
    assert!(form.html.contains("value=\"60_days\"") && !form.html.contains("value=\"never\""), "{}", form.html);
    let csrf = form.csrf();
    s.admin("POST", "/system_users", json!({"business_id": biz, "name": "unused", "role": "EMPLOYEE"})).await;
    let r = b
        .post("/business_settings/install", &[("csrf", &csrf), ("business", &biz), ("system_user", &su), ("app", &app)])
        .await;
    assert_eq!(r.status, 200, "{}", r.html);
    let r = b
        .post(
            "/business_settings/generate",
            &[("csrf", &csrf), ("system_user", &su), ("app", &app), ("scope", "ads_read"), ("expiry", "never")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.html);
    assert!(r.html.contains("requires expiring system user access tokens"), "{}", r.html);
    // Once the app holds the capability, the gated permission is offered too.
    s.admin("POST", &format!("/apps/{app}"), json!({"capabilities": ["business_creative_asset_management"]})).await;
    let form = b.get(&format!("/business_settings/generate?system_user={su}&app={app}")).await;
    assert!(form.html.contains("name=\"scope\" value=\"business_creative_asset_management\""), "{}", form.html);
}
