//! Issue 11 on the consent page: sign-in throttling per account and per client address on the server clock (moved
//! with the control plane, never slept), the bounded password-hashing pool, and the form's binding to the browser
//! (cookie + token) and to this server's origin.

mod common;
use common::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The dialog's form fields (the binding cookie kept, as a browser does).
async fn form(s: &TestServer, app: &str) -> Vec<(String, String)> {
    let r = s
        .http
        .get(format!("{}/v25.0/dialog/oauth", s.url))
        .query(&[("client_id", app), ("redirect_uri", REDIRECT), ("scope", "email")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
    keep_cookie(s, &r);
    form_fields(&r.text().await.unwrap())
}

/// Submits the form as a browser with `user` / `password`: (status, body).
async fn sign_in(s: &TestServer, fields: &[(String, String)], user: &str, password: &str) -> (u16, String) {
    let mut all = fields.to_vec();
    all.extend([("user".into(), user.into()), ("password".into(), password.into()), ("action".into(), "allow".into())]);
    let r = as_browser(s, no_redirects().post(format!("{}/v25.0/dialog/oauth/confirm", s.url)))
        .form(&all)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn audit(s: &TestServer, action: &str) -> Vec<Value> {
    let r = s.http.get(format!("{}/_suat/audit?limit=10000", s.url)).bearer_auth(&s.admin_key).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    v["data"].as_array().unwrap().iter().filter(|e| e["action"] == action).cloned().collect()
}

async fn codes(s: &TestServer) -> usize {
    audit(s, "authorize").await.len()
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_until_the_window_passes_on_the_server_clock() {
    let s = TestServer::start_at(1_790_000_000).await;
    let (app, _, person) = oauth_world(&s).await;
    let f = form(&s, &app).await;
    let mut statuses = vec![];
    for _ in 0..5 {
        statuses.push(sign_in(&s, &f, &person, "wrong").await.0);
        // Past the growing delay, not past the window: only the lockout is left to stop a guesser.
        s.advance_clock(61).await;
    }
    assert_eq!(statuses, vec![401; 5]);
    // Locked: even the right password is refused, with the sentence, and without a code.
    let (status, body) = sign_in(&s, &f, &person, "correct horse").await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Too many failed sign-in attempts"), "{body}");
    for _ in 0..20 {
        assert_eq!(sign_in(&s, &f, &person, "wrong").await.0, 429);
    }
    assert_eq!(codes(&s).await, 0);
    // The refusals are audited once for the window, not once each.
    let refused = audit(&s, "sign_in_refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0]["detail"]["failures"], 5);
    assert_eq!(refused[0]["detail"]["locked"], true);
    // The window (15 minutes from the first failure) passes on the server clock: the right password works.
    s.advance_clock(15 * 60).await;
    let f = form(&s, &app).await;
    let (status, body) = sign_in(&s, &f, &person, "correct horse").await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(codes(&s).await, 1);
}

#[tokio::test]
async fn quick_retries_after_a_few_failures_must_wait() {
    // A still clock: on the wall clock a second could pass between the failures and the retry, ending the wait.
    let s = TestServer::start_at(1_790_000_000).await;
    let (app, _, person) = oauth_world(&s).await;
    let f = form(&s, &app).await;
    for _ in 0..4 {
        assert_eq!(sign_in(&s, &f, &person, "wrong").await.0, 401);
    }
    let (status, body) = sign_in(&s, &f, &person, "correct horse").await;
    assert_eq!(status, 429);
    assert!(body.contains("Wait 1 second(s)"), "{body}");
    s.advance_clock(1).await;
    assert_eq!(sign_in(&s, &f, &person, "correct horse").await.0, 302);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_locked_out_and_audited_once() {
    let s = TestServer::start_at(1_790_000_000).await;
    let (app, _, person) = oauth_world(&s).await;
    let f = form(&s, &app).await;
    // 20 failures, each on a different (unknown) account: no account limit is reached, the address's is.
    for i in 0..20 {
        assert_eq!(sign_in(&s, &f, &format!("9000000000{i:02}"), "password1").await.0, 401, "try {i}");
        // Past the address's growing delays (none for its first 10), all within its 15-minute window.
        if i >= 9 {
            s.advance_clock(61).await;
        }
    }
    let (status, body) = sign_in(&s, &f, &person, "correct horse").await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("locked"), "{body}");
    for i in 0..30 {
        assert_eq!(sign_in(&s, &f, &format!("8000000000{i:02}"), "password1").await.0, 429);
    }
    let refused = audit(&s, "sign_in_refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0]["actor"].as_str().unwrap().starts_with("address:"), "{refused:?}");
    assert_eq!(codes(&s).await, 0);
    s.advance_clock(15 * 60).await;
    let f = form(&s, &app).await;
    assert_eq!(sign_in(&s, &f, &person, "correct horse").await.0, 302);
}

#[tokio::test]
async fn a_control_plane_reset_forgets_the_throttle() {
    let s = TestServer::start().await;
    let (app, _, person) = oauth_world(&s).await;
    let f = form(&s, &app).await;
    for _ in 0..5 {
        sign_in(&s, &f, &person, "wrong").await;
        s.advance_clock(61).await;
    }
    assert_eq!(sign_in(&s, &f, &person, "correct horse").await.0, 429);
    let r = s.http.post(format!("{}/_suat/reset", s.url)).bearer_auth(&s.admin_key).json(&json!({})).send().await;
    assert_eq!(r.unwrap().status().as_u16(), 200);
    let (app, _, new_person) = oauth_world(&s).await;
    let f = form(&s, &app).await;
    // The old account's key is tried again: no longer throttled (401: that person is gone with the reset).
    assert_eq!(sign_in(&s, &f, &person, "correct horse").await.0, if new_person == person { 302 } else { 401 });
    assert_eq!(sign_in(&s, &f, &new_person, "correct horse").await.0, 302);
}

#[tokio::test]
async fn concurrent_sign_ins_never_exceed_the_hashing_pool() {
    let s = TestServer::start().await;
    let (app, _, person) = oauth_world(&s).await;
    let f = form(&s, &app).await;
    // 40 concurrent wrong sign-ins on 40 accounts (under the address's lockout, which counts only finished ones).
    let tries = (0..40).map(|i| {
        let (s, f) = (&s, &f);
        async move { sign_in(s, f, &format!("7000000000{i:02}"), "nope").await }
    });
    let answers = futures_util::future::join_all(tries).await;
    for (status, body) in &answers {
        assert!(*status == 401 || *status == 429, "{status} {body}");
        if *status == 429 {
            assert!(body.contains("Try again in a moment") || body.contains("Too many failed"), "{body}");
        }
    }
    let usage: Value = s
        .http
        .get(format!("{}/_suat/usage", s.url))
        .bearer_auth(&s.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pool = &usage["password_pool"];
    let (size, peak) = (pool["size"].as_u64().unwrap(), pool["peak"].as_u64().unwrap());
    assert!(peak >= 1 && peak <= size, "{pool}");
    assert_eq!(pool["in_use"], 0, "{pool}");
    let _ = person;
}

#[tokio::test]
async fn a_form_not_bound_to_this_browser_or_from_another_origin_is_refused() {
    let s = TestServer::start().await;
    let (app, _, person) = oauth_world(&s).await;
    let f = form(&s, &app).await;
    let mut all = f.clone();
    all.extend([
        ("user".into(), person.clone()),
        ("password".into(), "correct horse".into()),
        ("action".into(), "allow".into()),
    ]);
    let url = format!("{}/v25.0/dialog/oauth/confirm", s.url);
    // Without the cookie (a cross-site POST: SameSite=Lax keeps it home).
    let r = no_redirects().post(&url).header("origin", &s.url).form(&all).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("does not belong to this browser"));
    // With the cookie but a forged token.
    let forged: Vec<(String, String)> = all
        .iter()
        .map(|(k, v)| if k == "browser_token" { (k.clone(), "0".repeat(64)) } else { (k.clone(), v.clone()) })
        .collect();
    let r = as_browser(&s, no_redirects().post(&url)).form(&forged).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Another browser's cookie with this form's token.
    let r = no_redirects()
        .post(&url)
        .header("origin", &s.url)
        .header("cookie", format!("suat_dialog={}", "a".repeat(64)))
        .form(&all)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // A foreign Origin, and no Origin or Referer at all.
    let r = as_browser(&s, no_redirects().post(&url)).header("origin", "https://evil.example").form(&all).send().await;
    let r = r.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("from another site"));
    // DNS rebinding: a name the attacker controls resolves to this server, so Host and Origin agree with each
    // other, but not with the public URL.
    let port = s.url.rsplit(':').next().unwrap().to_owned();
    let r = as_browser_from(&s, no_redirects().post(&url), &format!("http://rebind.evil.example:{port}"))
        .header("host", format!("rebind.evil.example:{port}"))
        .form(&all)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // The same server under another loopback name at the same port is the same origin; at another port it is not.
    let r = as_browser_from(&s, no_redirects().post(&url), "http://localhost:1").form(&all).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let cookie = {
        let r = s
            .http
            .get(format!("{}/v25.0/dialog/oauth", s.url))
            .query(&[("client_id", app.as_str()), ("redirect_uri", REDIRECT)])
            .send()
            .await
            .unwrap();
        r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
    };
    let r = no_redirects().post(&url).header("cookie", &cookie).form(&all).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = no_redirects()
        .post(&url)
        .header("cookie", &cookie)
        .header("referer", "https://evil.example/page")
        .form(&all)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(codes(&s).await, 0);
    // As the browser that rendered it (same cookie), opened as `localhost` rather than 127.0.0.1: a code.
    let r = as_browser_from(&s, no_redirects().post(&url), &format!("http://localhost:{port}")).form(&all).send().await;
    let r = r.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    assert_eq!(codes(&s).await, 1);
}
