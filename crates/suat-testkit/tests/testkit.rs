//! The testkit's own tests: the server starts seeded, the helpers move its clock, add faults, set rate limits and
//! reset, and two servers in one test do not share anything.

use serde_json::{json, Value};
use suat_testkit::{Suat, DEMO};

async fn me(suat: &Suat) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}/me", suat.graph_url()))
        .bearer_auth(DEMO.admin_token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn starts_seeded_and_resets_to_the_seed() {
    let suat = Suat::start().await.unwrap();
    assert!(suat.url().starts_with("http://127.0.0.1:"));
    assert_eq!(me(&suat).await, (200, json!({"name": "Ada Admin", "id": DEMO.admin_user_id})));
    let before = suat.now().await.unwrap();
    assert!(suat.advance(86_400).await.unwrap() >= before + 86_400);
    suat.admin("POST", "businesses", Some(json!({"name": "Temporary"}))).await.unwrap();
    suat.reset().await.unwrap();
    let dump = suat.admin("GET", "dump", None).await.unwrap();
    let names: Vec<&str> = dump["businesses"].as_array().unwrap().iter().filter_map(|b| b["name"].as_str()).collect();
    assert_eq!(names, vec!["Acme Corp"]);
    assert_eq!(suat.admin("GET", "clock", None).await.unwrap()["offset"], 0);
}

#[tokio::test]
async fn faults_and_rate_limits() {
    let suat = Suat::start().await.unwrap();
    let rule =
        suat.add_fault(json!({"path": "/me", "times": 1, "error": {"code": 2, "is_transient": true}})).await.unwrap();
    let (_, body) = me(&suat).await;
    assert_eq!(body["error"]["code"], 2);
    assert_eq!(me(&suat).await.0, 200);
    suat.remove_fault(&rule["id"]).await.unwrap();
    assert_eq!(suat.faults().await.unwrap(), json!([]));

    // The two calls above count in this hour's window: start the count again.
    suat.reset().await.unwrap();
    suat.set_app_rate_limit(DEMO.app_id, 1).await.unwrap();
    assert_eq!(me(&suat).await.0, 200);
    let (status, body) = me(&suat).await;
    assert_eq!((status, body["error"]["code"].as_i64()), (403, Some(4)));
    assert!(suat.usage().await.unwrap()["windows"].as_array().is_some_and(|w| !w.is_empty()));
}

#[tokio::test]
async fn an_empty_server_and_a_bad_call() {
    let suat = Suat::builder().empty().start().await.unwrap();
    assert_eq!(suat.admin("GET", "dump", None).await.unwrap()["businesses"], json!([]));
    assert_eq!(me(&suat).await.1["error"]["code"], 190);
    let err = suat.admin("POST", "clock", Some(json!({"advance": "soon"}))).await.unwrap_err().to_string();
    assert!(err.contains("/_suat/clock") && err.contains("400"), "{err}");
    // Another server in the same test is another world.
    let other = Suat::start().await.unwrap();
    assert_ne!(other.url(), suat.url());
    assert_eq!(me(&other).await.0, 200);
}
