//! `suat serve`: a Graph-API-compatible token authority for system-user access tokens.
//!
//! Request path: [`params`] merges query and body, [`auth`] resolves the caller, a `graph::*` handler gathers objects,
//! calls one `suat_core::rules` function, makes one store call, and answers; errors become the Graph envelope in
//! [`error`] only.

pub mod auth;
pub mod config;
pub mod control;
pub mod error;
pub mod graph;
pub mod ops;
pub mod params;
pub mod seed;
pub mod state;
pub mod test_support;

use anyhow::Context;
use axum::Router;
use config::{Keys, ServeArgs};
use state::{AppState, Inner};
use std::sync::Arc;
use suat_store::{CachedStore, PgStore, SqliteStore, Store};

/// Cached token records (about 300 bytes each): bounds memory however many tokens are live.
const CACHE_CAPACITY: usize = 100_000;

/// Builds the HTTP application over a store.
pub async fn app(
    store: Arc<dyn Store>,
    keys: Keys,
    admin_key: String,
    api_version: String,
) -> anyhow::Result<(Router, AppState)> {
    let cache = CachedStore::new(store, CACHE_CAPACITY).await.context("starting the store cache")?;
    let api_version_header = axum::http::HeaderValue::from_str(&api_version).context("--api-version")?;
    let state = AppState(Arc::new(Inner {
        store: cache.clone() as Arc<dyn Store>,
        cache,
        keys,
        admin_key,
        api_version,
        api_version_header,
        opened: Default::default(),
    }));
    let router = Router::new()
        .nest("/_suat", control::router(state.clone()))
        .fallback(graph::dispatch)
        .with_state(state.clone());
    Ok((router, state))
}

/// Opens the configured store: PostgreSQL if a URL is given, else the SQLite file.
pub async fn open_store(args: &ServeArgs) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &args.database_url {
        Some(url) if url.starts_with("postgres") => {
            Arc::new(PgStore::connect(url).await.context("connecting to PostgreSQL")?)
        }
        Some(url) => anyhow::bail!(
            "unsupported --database-url scheme (use postgres://...): {}",
            url.split(':').next().unwrap_or("")
        ),
        None => Arc::new(SqliteStore::open(&args.db).await.with_context(|| format!("opening {}", args.db.display()))?),
    })
}

/// Runs `suat serve` until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let keys = Keys::from_master(&config::load_master_key(&args.key_file)?);
    let admin_key = config::load_admin_key(&args)?;
    let store = open_store(&args).await?;
    let (router, state) = app(store, keys, admin_key, args.api_version.clone()).await?;
    if let Some(path) = &args.seed {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report = seed::apply(&state, &text, args.print_secrets).await?;
        for line in report.lines {
            println!("{line}");
        }
    }
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let where_ = match &args.database_url {
        Some(_) => "PostgreSQL".to_owned(),
        None => args.db.display().to_string(),
    };
    tracing::info!(addr = %listener.local_addr()?, store = %where_, "suat serving");
    eprintln!("suat listening on http://{} (store: {where_})", listener.local_addr()?);
    axum::serve(listener, router).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
