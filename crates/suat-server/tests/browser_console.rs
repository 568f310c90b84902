//! Issue 13 in a real browser: headless Debian Chromium (driven by playwright-core, `tests/js/console.js`) walks
//! seed 004 through the web console end to end, and this test checks what it saw, the Graph state and the audit log
//! afterwards. Screenshots of every step are kept in `target/artefacts/console/`.

mod common;
use common::*;
use std::path::Path;

#[tokio::test]
async fn seed_004_through_the_console_in_chromium() {
    let s = TestServer::start().await;
    let business =
        s.admin("POST", "/businesses", json!({"name": "Jasper's Market"})).await["id"].as_str().unwrap().to_owned();
    let app = s
        .admin(
            "POST",
            "/apps",
            json!({"name": "Jasper's Messenger", "owner_business": business, "access_level": "standard"}),
        )
        .await;
    let (app_id, secret) = (app["id"].as_str().unwrap().to_owned(), app["secret"].as_str().unwrap().to_owned());
    let admin = s
        .admin(
            "POST",
            "/users",
            json!({"name": "Jasper", "business_id": business, "admin": true, "password": "correct horse"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = s
        .admin(
            "POST",
            "/pages",
            json!({"name": "Jasper's Market", "business_id": business, "category": "Grocery Store"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shots = workspace_root().join("target/artefacts/console");
    // This run's screenshots only.
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let out = run_json(
        Path::new("node"),
        &[Path::new("console.js")],
        &js_dir(),
        &[
            ("BASE", &s.url),
            ("USER_ID", &admin),
            ("PASSWORD", "correct horse"),
            ("APP_ID", &app_id),
            ("APP_SECRET", &secret),
            ("PAGE_ID", &page),
            ("SHOTS", &shots.display().to_string()),
        ],
    )
    .await;

    assert_eq!(out["landingTitle"], "suat · suat");
    assert_eq!(out["firstTab"], "Skip to content", "the skip link is the first Tab stop");
    assert_eq!(out["tabToPassword"], "password", "Tab goes from the user id to the password");
    assert_eq!(out["signedIn"], format!("Signed in as Jasper ({admin})"));
    assert!(out["created"].as_str().unwrap().starts_with("System user Messenger bot created"), "{out}");
    let su = out["systemUser"].as_str().unwrap();
    assert!(out["pagePeople"].as_str().unwrap().contains(&format!("Messenger bot ({su}): MANAGE")), "{out}");
    assert!(out["installed"].as_str().unwrap().contains("installed"), "{out}");
    let offered: Vec<&str> = out["offered"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(offered.contains(&"pages_messaging") && offered.contains(&"ads_read"), "{offered:?}");
    assert_eq!(out["tokenScopes"], "pages_messaging");
    assert_eq!(out["copied"], true, "the copy button put the token on the clipboard");
    assert_eq!(out["tokenInUrl"], false);
    assert_eq!(out["pageTokenWorks"], true);
    assert_eq!(out["debugged"]["type"], "PAGE");
    assert_eq!(out["debugged"]["valid"], "True");
    assert_eq!(out["debugged"]["expires"], "Never");
    assert_eq!(out["debugged"]["page"], page.as_str());
    assert!(out["debugged"]["scopes"].as_str().unwrap().contains("pages_messaging"), "{out}");
    assert!(out["revoked"].as_str().unwrap().starts_with("Token revoked"), "{out}");
    assert_eq!(out["pageTokenAfter"], json!({"status": 400, "code": 190, "subcode": 466}));
    assert!(out["debuggedAfter"]["valid"].as_str().unwrap().starts_with("False"), "{out}");
    assert!(out["debuggedAfter"]["subcode"].as_str().unwrap().contains("466"), "{out}");
    assert_eq!(out["explorer"]["status"], "HTTP 200 OK");
    assert_eq!(out["explorer"]["body"]["data"], json!({"is_valid": false, "type": "PAGE"}));
    let curl = out["explorer"]["curl"].as_str().unwrap();
    assert!(curl.starts_with(&format!("curl -i -X GET '{}/v25.0/debug_token?", s.url)), "{curl}");
    assert!(curl.contains("-H 'Authorization: Bearer "), "{curl}");
    assert_eq!(out["explorer"]["hasTraceHeader"], true);
    assert_eq!(out["unlabelled"], json!([]), "every control has a label");
    assert_eq!(out["cspViolations"], json!([]), "nothing the CSP had to block");
    for (name, width) in out["phone"].as_object().unwrap() {
        assert!(width.as_i64().unwrap() <= 390, "{name} scrolls sideways at 390px: {width}");
    }
    for step in out["steps"].as_array().unwrap() {
        let file = shots.join(format!("{}.png", step.as_str().unwrap()));
        assert!(std::fs::metadata(&file).map(|m| m.len() > 1000).unwrap_or(false), "{}", file.display());
    }

    // The console's actions are the Graph's: the audit log names the admin for each, as the API would.
    let audit: Value = s.admin("GET", "/audit?limit=100", Value::Null).await;
    let by_admin: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == admin.as_str())
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(by_admin, ["create_system_user", "assign_page", "install", "issue", "revoke"], "{audit}");
}
