//! An example of testing a Rust app with suat-testkit: "the app" is a function that keeps a system user's token
//! fresh through `suat-client` (any Graph client works: give it `suat.url()` instead of https://graph.facebook.com).
//! The test makes the token, moves the server's clock to near its expiry instead of waiting 53 days, and checks
//! the app refreshes it; then lets it expire and checks the app says so.

use suat_client::{Caller, ClientError, GenerateRequest, GraphClient};
use suat_core::{AccessToken, AppId, AppSecret, UserId};
use suat_testkit::{Suat, DEMO};

const DAY: i64 = 86_400;

/// The app under test: the token to use from now on (refreshed when less than a week is left).
async fn keep_fresh(
    graph: &GraphClient,
    app: AppId,
    secret: &AppSecret,
    token: AccessToken,
) -> Result<AccessToken, ClientError> {
    let info = graph.inspect(&token, Some(app), Some(secret)).await?;
    if let Some(problem) = info.problem() {
        return Err(problem.into());
    }
    let now = graph.sync_clock().await?;
    match info.expires_at() {
        Some(at) if at - now < 7 * DAY => Ok(graph.refresh_token(app, secret, &token).await?.token),
        _ => Ok(token),
    }
}

#[tokio::test]
async fn the_app_refreshes_a_token_near_expiry_and_reports_an_expired_one() {
    let suat = Suat::start().await.unwrap();
    let graph = GraphClient::new(suat.url(), "v25.0").unwrap();
    let (app, secret): (AppId, AppSecret) = (DEMO.app_id.parse().unwrap(), AppSecret::new(DEMO.app_secret.to_owned()));
    let su: UserId = DEMO.system_user_id.parse().unwrap();
    let admin = Caller::new(AccessToken::from_presented(DEMO.admin_token)).with_secret(Some(secret.clone()));
    graph.install_app(&admin, su, app).await.unwrap();
    let req = GenerateRequest { system_user: su, app, scopes: vec!["ads_read".into()], expiring: true };
    let token = graph.generate_token(&admin, &req).await.unwrap();

    assert_eq!(keep_fresh(&graph, app, &secret, token.clone()).await.unwrap(), token, "young: kept");
    suat.advance(55 * DAY).await.unwrap();
    let fresh = keep_fresh(&graph, app, &secret, token.clone()).await.unwrap();
    assert_ne!(fresh, token, "near expiry: refreshed");

    suat.advance(61 * DAY).await.unwrap();
    let err = keep_fresh(&graph, app, &secret, fresh).await.unwrap_err();
    assert_eq!(err.graph().map(|g| (g.code, g.subcode)), Some((190, Some(463))), "{err}");
}
