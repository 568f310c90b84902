//! `suat serve`: a Graph-API-compatible token authority for system-user access tokens.
//!
//! Request path (see the README's "Architecture"): [`graph::versioned`] strips the version, the router picks a
//! `graph::*` handler, [`params`] merges query and body once, the extractors of [`graph`] hand the handler its
//! inputs and authenticated caller, the handler calls one `suat_service` use case and translates its answer; errors
//! become the Graph envelope in [`error`] only.

pub mod audit;
pub mod config;
pub mod console;
pub mod control;
pub mod error;
pub mod faults;
pub mod graph;
pub mod headers;
pub mod journal;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod state;
pub mod test_support;

use anyhow::Context;
use axum::Router;
use config::{Keys, ServeArgs};
use state::{AppState, Inner};
use std::sync::Arc;
use suat_service::Service;
use suat_store::{PgStore, SqliteStore, Store};

/// The whole HTTP application: the version prefix stripped before routing, then the Graph routes and the control
/// plane.
pub type App = tower::util::MapRequest<Router, fn(axum::extract::Request) -> axum::extract::Request>;

/// What the HTTP application is configured with, besides its store and keys.
pub struct Settings {
    pub admin_key: String,
    /// Reported in `facebook-api-version` when a path names none.
    pub api_version: String,
    /// Where clients reach the server (`--public-url`), for absolute paging URLs.
    pub public_url: String,
    /// Entries kept by the request journal (`--journal-size`).
    pub journal_size: usize,
    /// A wall clock other than the system's (tests that need a still clock); `None` in `suat serve`.
    pub wall_clock: Option<suat_service::WallClock>,
    /// Default rate-limit quotas (`--app-rate-limit` etc.).
    pub quotas: suat_service::limits::Quotas,
    /// Token records the read cache holds (`--cache-tokens`).
    pub cache_tokens: usize,
}

/// Builds the HTTP application over a store.
pub async fn app(store: Arc<dyn Store>, keys: Keys, settings: Settings) -> anyhow::Result<(App, AppState)> {
    let Settings { admin_key, api_version, public_url, journal_size, wall_clock, quotas, cache_tokens } = settings;
    metrics::install();
    let mut svc = Service::with_cache(store, keys, cache_tokens).await.context("starting the store cache")?;
    svc.limits = suat_service::limits::Limiter::new(quotas);
    if let Some(w) = wall_clock {
        svc.set_wall_clock(w);
    }
    let api_version_header = axum::http::HeaderValue::from_str(&api_version).context("--api-version")?;
    let public_url = public_url.trim_end_matches('/').to_owned();
    url::Url::parse(&public_url).with_context(|| format!("--public-url {public_url:?} is not a URL"))?;
    let state = AppState(Arc::new(Inner {
        svc,
        admin_key,
        api_version,
        api_version_header,
        public_url,
        server_errors: Default::default(),
        faults: Default::default(),
        journal: journal::Journal::new(journal_size),
        connections: Default::default(),
    }));
    let inner = graph::batch::Inner(graph::router(state.clone(), false).with_state(state.clone()));
    let router = Router::new()
        .nest("/_suat", control::router(state.clone()))
        .route("/metrics", axum::routing::get(metrics::render))
        .merge(graph::router(state.clone(), true))
        .layer(axum::middleware::from_fn_with_state(
            Outer { state: state.clone(), pages: console::router().with_state(state.clone()), inner },
            outer,
        ))
        .with_state(state.clone());
    let strip: fn(axum::extract::Request) -> axum::extract::Request = graph::versioned;
    Ok((tower::util::MapRequest::new(router, strip), state))
}

/// What [`outer`] needs besides the request.
#[derive(Clone)]
struct Outer {
    state: AppState,
    /// The console's pages.
    pages: Router,
    /// The Graph routes a batch runs its operations through.
    inner: graph::batch::Inner,
}

/// Around every request, outermost first: the server clock's `Date`; the request run whole even if its client
/// hangs up; JSON envelopes for the framework's own errors; the console's pages before the Graph routes. One
/// middleware rather than one layer each: every axum layer clones the stack inside it on each request.
async fn outer(
    axum::extract::State(o): axum::extract::State<Outer>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    req.extensions_mut().insert(o.inner.clone());
    let pages = o.pages.clone();
    let request = async move { error::json_errors(console::gate(&pages, req, next).await).await };
    let mut response = graph::run_whole(&o.state, request).await;
    headers::server_date(&o.state, &mut response);
    response
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes. The listener's own answers (every
/// connection busy, a request hyper cannot parse, a head over the limit) are Graph envelopes dated by the server
/// clock, like every other answer.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    state: &AppState,
    limits: suat_listener::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let clock = state.clone();
    let answers: suat_listener::Answers =
        Arc::new(move |status| error::listener_answer(status, &headers::http_date(clock.now())));
    suat_listener::serve(listener, app, limits, answers, state.connections.clone(), shutdown).await
}

/// Opens the configured store: PostgreSQL if a URL is given, else the SQLite file.
pub async fn open_store(args: &ServeArgs, keys: &Keys) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &args.database_url {
        Some(url) if url.starts_with("postgres") => {
            Arc::new(PgStore::connect(url).await.context("connecting to PostgreSQL")?)
        }
        Some(url) => anyhow::bail!(
            "unsupported --database-url scheme (use postgres://...): {}",
            url.split(':').next().unwrap_or("")
        ),
        None => Arc::new(
            SqliteStore::open(&args.db, keys.audit.clone())
                .await
                .with_context(|| format!("opening {}", args.db.display()))?,
        ),
    })
}

/// Runs `suat serve` until Ctrl-C or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let keys = Keys::from_master(&config::load_master_key(&args.key_file)?);
    let admin_key = config::load_admin_key(&args)?;
    let store = open_store(&args, &keys).await?;
    let listener =
        tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let public_url = match &args.public_url {
        Some(u) => u.clone(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let settings = Settings {
        admin_key,
        api_version: args.api_version.clone(),
        public_url,
        journal_size: args.journal_size as usize,
        wall_clock: None,
        quotas: args.quotas(),
        cache_tokens: args.cache_tokens as usize,
    };
    let (router, state) = app(store, keys, settings).await?;
    if let Some(path) = &args.seed {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let report = suat_service::seed::apply(&state.svc, &text, args.print_secrets).await?;
        for line in report.lines {
            println!("{line}");
        }
        suat_service::operator::remember_seeded_state(&state.svc).await.context("reading the seeded state")?;
    }
    let where_ = match &args.database_url {
        Some(_) => "PostgreSQL".to_owned(),
        None => args.db.display().to_string(),
    };
    tracing::info!(addr = %listener.local_addr()?, store = %where_, "suat serving");
    eprintln!("suat listening on http://{} (store: {where_})", listener.local_addr()?);
    serve(listener, router, &state, args.connection_limits(), shutdown()).await?;
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
