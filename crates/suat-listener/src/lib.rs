//! Every TCP listener of suat, under limits that a hostile or careless client cannot exhaust.
//!
//! `axum::serve` gives no handle on a connection, so an idle socket stays open forever, a client that sends one byte
//! of header a minute holds a task and a file descriptor, and 1,100 idle sockets against a 1,024 descriptor limit stop
//! every other client. Here each connection is hyper's HTTP/1 connection driven by its own task, which knows which
//! phase its connection is in and closes it when that phase has lasted too long:
//!
//! - **idle** (waiting for a request, after accept or after an answer): [`Limits::idle_timeout`];
//! - **reading a head** (from the first byte of a request to the end of its headers): [`Limits::header_timeout`];
//! - **reading a body**: the body itself fails after [`Limits::body_timeout`] from the end of the head, so the handler
//!   answers (see [`BODY_TIMEOUT`]);
//! - **in a handler**: never closed here (handlers bound their own work).
//!
//! At [`Limits::max_connections`] a new connection closes the connection that has been idle (or reading a head) the
//! longest; only when every connection is busy in a handler is the new one refused, with the [`Answers`] 503. The
//! answers hyper writes by itself (400 for an unparseable request, 414, 431 for a head over
//! [`Limits::max_header_bytes`]) are replaced by the [`Answers`] too, so every answer of the listener is the caller's
//! format (for `suat serve`, a Graph error envelope).

use axum::{body::Body, extract::ConnectInfo, http::StatusCode};
use bytes::Bytes;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::{
    collections::HashMap,
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc, Mutex,
    },
    task::{ready, Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{watch, Notify},
    time::{Instant, Sleep},
};
use tower::ServiceExt;

/// The limits of one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most. Past it the longest-idle connection makes room; see the module docs.
    pub max_connections: usize,
    /// From the first byte of a request to the end of its head.
    pub header_timeout: Duration,
    /// From the end of a request's head to the end of its body.
    pub body_timeout: Duration,
    /// How long a connection may wait for its first or next request.
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers), at least 8 KiB (hyper's floor).
    pub max_header_bytes: usize,
}

/// Descriptors kept back from [`Limits::max_connections`] for the database, its journal and log files.
const RESERVED_FDS: u64 = 128;

impl Limits {
    /// The defaults: a cap below the descriptor limit (raised to its hard limit first, see [`raise_fd_limit`]), 10 s
    /// for a head, 30 s for a body, 60 s idle (above the 5-60 s keep-alive of common HTTP clients, so they close
    /// first and never send on a socket being closed), 64 KiB of head.
    pub fn defaults() -> Limits {
        let fds = raise_fd_limit();
        Limits {
            max_connections: fds.saturating_sub(RESERVED_FDS).clamp(64, 100_000) as usize,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Raises this process's soft descriptor limit to its hard limit, once, and returns the soft limit now in force.
pub fn raise_fd_limit() -> u64 {
    static RAISED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *RAISED.get_or_init(|| match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024)
        }
    })
}

/// The answers the listener writes itself: for 503 (every connection busy) and for the requests hyper refuses before
/// any handler sees them (400, 414, 431). Each is a complete answer: status, headers and body; the listener adds
/// `content-length` and `connection: close`.
pub type Answers = Arc<dyn Fn(StatusCode) -> axum::http::Response<Vec<u8>> + Send + Sync>;

/// The message of the error a request body gives when it has not arrived within [`Limits::body_timeout`]; the
/// caller's error mapping can recognise it (axum reports it as a body that could not be buffered).
pub const BODY_TIMEOUT: &str = "request body not received in time";

/// What the listener counts, for tests and `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    /// Idle (or head-reading) connections closed to make room for a new one.
    pub evicted: AtomicU64,
    /// New connections refused with 503 because every connection was busy.
    pub refused: AtomicU64,
    /// Connections closed by the idle, header or body timeouts.
    pub timed_out: AtomicU64,
    /// Answers of hyper's replaced by [`Answers`].
    pub rewritten: AtomicU64,
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then lets each connection finish its
/// current request (at most `limits.body_timeout` more).
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: Limits,
    answers: Answers,
    counters: Arc<Counters>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()>
where
    S: tower::Service<axum::extract::Request, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let registry = Arc::new(Registry::new(limits.max_connections));
    let limits = Arc::new(limits);
    let (closing_tx, closing) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors or memory: back off rather than spin; the per-connection errors of a peer
                    // that went away before accept are not the listener's.
                    if !matches!(e.kind(), io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset) {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    continue;
                }
            },
        };
        counters.accepted.fetch_add(1, Relaxed);
        let _ = stream.set_nodelay(true);
        match registry.admit(&counters) {
            Some(slot) => {
                let c = ConnTask {
                    app: app.clone(),
                    limits: limits.clone(),
                    answers: answers.clone(),
                    counters: counters.clone(),
                    registry: registry.clone(),
                    slot,
                    peer,
                };
                tokio::spawn(c.run(stream, closing.clone()));
            }
            None => {
                counters.refused.fetch_add(1, Relaxed);
                let answer = serialise(&answers(StatusCode::SERVICE_UNAVAILABLE));
                tokio::spawn(async move {
                    let mut stream = stream;
                    let write = tokio::io::AsyncWriteExt::write_all(&mut stream, &answer);
                    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
                });
            }
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    registry.drained().await;
    Ok(())
}

/// One connection's phase, shared by its task, its IO and its service. Times are milliseconds since the
/// registry's start, plus one (0 means unset).
struct Slot {
    id: u64,
    busy: AtomicBool,
    idle_since: AtomicU64,
    reading_since: AtomicU64,
    /// Evicted: the task closes the connection.
    kill: Notify,
    base: Instant,
}

impl Slot {
    fn now(&self) -> u64 {
        self.base.elapsed().as_millis() as u64 + 1
    }

    /// Bytes arrived: if the connection was idle, a head has begun. Nobody is woken: see [`ConnTask::run`].
    fn bytes_arrived(&self) {
        if !self.busy.load(Relaxed) && self.reading_since.load(Relaxed) == 0 {
            self.reading_since.store(self.now(), Relaxed);
        }
    }

    fn request_began(&self) {
        self.busy.store(true, Relaxed);
        self.reading_since.store(0, Relaxed);
    }

    fn request_ended(&self) {
        self.idle_since.store(self.now(), Relaxed);
        self.reading_since.store(0, Relaxed);
        self.busy.store(false, Relaxed);
    }

    /// When the current phase ends, or `None` while a handler runs.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.busy.load(Relaxed) {
            return None;
        }
        let (since, allowed) = match self.reading_since.load(Relaxed) {
            0 => (self.idle_since.load(Relaxed), limits.idle_timeout),
            r => (r, limits.header_timeout),
        };
        Some(self.base + Duration::from_millis(since.saturating_sub(1)) + allowed)
    }

    /// Since when this connection has been waiting for a client that is not in a handler (eviction order).
    fn waiting_since(&self) -> Option<u64> {
        (!self.busy.load(Relaxed)).then(|| self.idle_since.load(Relaxed))
    }
}

struct Registry {
    max: usize,
    base: Instant,
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Slot>>>,
    /// Connection tasks still running (evicted ones included, until they are gone).
    live: AtomicU64,
    gone: Notify,
}

impl Registry {
    fn new(max: usize) -> Registry {
        Registry {
            max: max.max(1),
            base: Instant::now(),
            next: AtomicU64::new(1),
            conns: Mutex::new(HashMap::new()),
            live: AtomicU64::new(0),
            gone: Notify::new(),
        }
    }

    /// A slot for a new connection, making room by evicting the longest-waiting one if the cap is reached; `None`
    /// if every connection is in a handler.
    fn admit(&self, counters: &Counters) -> Option<Arc<Slot>> {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if conns.len() >= self.max {
            let victim = conns.values().filter_map(|s| s.waiting_since().map(|t| (t, s.id))).min()?.1;
            if let Some(v) = conns.remove(&victim) {
                v.kill.notify_one();
                counters.evicted.fetch_add(1, Relaxed);
            }
        }
        let slot = Arc::new(Slot {
            id: self.next.fetch_add(1, Relaxed),
            busy: AtomicBool::new(false),
            idle_since: AtomicU64::new(self.base.elapsed().as_millis() as u64 + 1),
            reading_since: AtomicU64::new(0),
            kill: Notify::new(),
            base: self.base,
        });
        conns.insert(slot.id, slot.clone());
        self.live.fetch_add(1, Relaxed);
        Some(slot)
    }

    fn remove(&self, slot: &Slot) {
        self.conns.lock().unwrap_or_else(|p| p.into_inner()).remove(&slot.id);
        if self.live.fetch_sub(1, Relaxed) == 1 {
            self.gone.notify_waiters();
        }
    }

    async fn drained(&self) {
        loop {
            let gone = self.gone.notified();
            if self.live.load(Relaxed) == 0 {
                return;
            }
            gone.await;
        }
    }

    #[cfg(test)]
    fn open(&self) -> usize {
        self.conns.lock().unwrap().len()
    }
}

struct ConnTask<S> {
    app: S,
    limits: Arc<Limits>,
    answers: Answers,
    counters: Arc<Counters>,
    registry: Arc<Registry>,
    slot: Arc<Slot>,
    peer: SocketAddr,
}

impl<S> ConnTask<S>
where
    S: tower::Service<axum::extract::Request, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    async fn run(self, stream: TcpStream, mut closing: watch::Receiver<bool>) {
        let ConnTask { app, limits, answers, counters, registry, slot, peer } = self;
        let io = Watched { io: stream, slot: slot.clone(), answers, counters: counters.clone(), pending: None };
        let (svc_slot, body_timeout) = (slot.clone(), limits.body_timeout);
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            svc_slot.request_began();
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(ConnectInfo(peer));
            let body = if http_body::Body::is_end_stream(&body) {
                Body::new(body)
            } else {
                Body::new(Deadline { body, timer: Box::pin(tokio::time::sleep(body_timeout)) })
            };
            let (app, slot) = (app.clone(), svc_slot.clone());
            async move {
                let answer = app.oneshot(axum::extract::Request::from_parts(parts, body)).await;
                slot.request_ended();
                answer
            }
        });
        // No timer, and hyper's own header timeout off: with a timer hyper would also close any connection idle for
        // 30 s (its header timer runs while it waits for the next request), under the idle timeout configured here.
        let conn = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(None)
            .max_buf_size(limits.max_header_bytes.max(8192))
            .serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        // The deadline is checked at least every `period` and exactly when it falls due (see [`next_check`]). A phase
        // change wakes nobody: a phase begun after a check ends at least `period` after it, so the next check (at
        // most `period` after the last) is never late for it. That is one timer wake-up per connection per period
        // (an idle connection wakes every 10 s by default), instead of two wake-ups and two timer re-arms of the
        // connection's task per request.
        let period = limits.header_timeout.min(limits.idle_timeout).max(Duration::from_millis(1));
        let first = next_check(slot.deadline(&limits), Instant::now(), period).unwrap_or_else(Instant::now);
        let check = tokio::time::sleep_until(first);
        tokio::pin!(check);
        loop {
            tokio::select! {
                _ = conn.as_mut() => break,
                _ = slot.kill.notified() => break,
                _ = check.as_mut() => match next_check(slot.deadline(&limits), Instant::now(), period) {
                    Some(at) => check.as_mut().reset(at),
                    None => {
                        counters.timed_out.fetch_add(1, Relaxed);
                        break;
                    }
                },
                _ = closing.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(limits.body_timeout, conn.as_mut()).await;
                    break;
                }
            }
        }
        registry.remove(&slot);
    }
}

/// When a connection's task next checks its deadline: at the deadline if it comes within `period`, else after
/// `period` (a phase may begin meanwhile); `None` if the deadline has passed.
fn next_check(deadline: Option<Instant>, now: Instant, period: Duration) -> Option<Instant> {
    match deadline {
        Some(d) if d <= now => None,
        Some(d) => Some(d.min(now + period)),
        None => Some(now + period),
    }
}

/// A request body that fails once [`Limits::body_timeout`] has passed without its end.
struct Deadline {
    body: Incoming,
    timer: Pin<Box<Sleep>>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(f) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(f.map(|r| r.map_err(Into::into)));
        }
        ready!(self.timer.as_mut().poll(cx));
        Poll::Ready(Some(Err(BODY_TIMEOUT.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The socket, watched: bytes arriving on an idle connection start a head; an answer hyper writes by itself is
/// replaced by the caller's.
struct Watched {
    io: TcpStream,
    slot: Arc<Slot>,
    answers: Answers,
    counters: Arc<Counters>,
    /// A replacement answer being written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl Watched {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, at)) = &mut self.pending {
            if *at == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &bytes[*at..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *at += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.slot.bytes_arrived();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(status) = hyper_own_answer(buf) {
            self.counters.rewritten.fetch_add(1, Relaxed);
            let answer = serialise(&(self.answers)(status));
            self.pending = Some((answer, 0));
            // Hyper's bytes count as written; flush and shutdown finish writing ours.
            if let Poll::Ready(Err(e)) = self.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The status of an answer hyper wrote by itself for a request it could not parse: exactly its status line, then
/// only `content-length: 0`, `connection` and `date` headers, and no body. The application's answers always carry a
/// content type, so they never match.
fn hyper_own_answer(buf: &[u8]) -> Option<StatusCode> {
    // Every answer passes here: rule out the application's (any status but these three) before scanning the bytes.
    if !(buf.starts_with(b"HTTP/1.1 4") || buf.starts_with(b"HTTP/1.0 4"))
        || !matches!(buf.get(9..12), Some(b"400" | b"414" | b"431"))
        || buf.len() > 512
    {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != buf.len() {
        return None;
    }
    let mut lines = buf[..end].split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status = match lines.next()? {
        b"HTTP/1.1 400 Bad Request" | b"HTTP/1.0 400 Bad Request" => StatusCode::BAD_REQUEST,
        b"HTTP/1.1 414 URI Too Long" | b"HTTP/1.0 414 URI Too Long" => StatusCode::URI_TOO_LONG,
        b"HTTP/1.1 431 Request Header Fields Too Large" | b"HTTP/1.0 431 Request Header Fields Too Large" => {
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        }
        _ => return None,
    };
    lines
        .all(|l| {
            let l = l.to_ascii_lowercase();
            l == b"content-length: 0" || l.starts_with(b"date: ") || l.starts_with(b"connection: ")
        })
        .then_some(status)
}

/// An answer as HTTP/1.1 bytes, closing the connection.
fn serialise(r: &axum::http::Response<Vec<u8>>) -> Vec<u8> {
    let s = r.status();
    let mut out = format!("HTTP/1.1 {} {}\r\n", s.as_u16(), s.canonical_reason().unwrap_or("")).into_bytes();
    for (k, v) in r.headers() {
        if k == axum::http::header::CONTENT_LENGTH || k == axum::http::header::CONNECTION {
            continue;
        }
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", r.body().len()).as_bytes());
    out.extend_from_slice(r.body());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_hypers_own_answers() {
        let own = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 23 Nov 2026 21:00:00 GMT\r\n\r\n";
        assert_eq!(hyper_own_answer(own), Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
        let bad = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(hyper_own_answer(bad), Some(StatusCode::BAD_REQUEST));
        // The application's 400 has a content type and a body.
        let app = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(hyper_own_answer(app), None);
        let app_head_only = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n";
        assert_eq!(hyper_own_answer(app_head_only), None);
        assert_eq!(hyper_own_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"), None);
    }

    #[test]
    fn serialises_with_length_and_close() {
        let r = axum::http::Response::builder()
            .status(503)
            .header("content-type", "application/json")
            .body(b"{\"e\":1}".to_vec())
            .unwrap();
        let s = String::from_utf8(serialise(&r)).unwrap();
        assert_eq!(
            s,
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\
             connection: close\r\n\r\n{\"e\":1}"
        );
    }

    fn slot_of(r: &Registry) -> Arc<Slot> {
        r.admit(&Counters::default()).expect("room")
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_cap_the_longest_waiting_connection_makes_room_and_busy_ones_never_do() {
        let r = Registry::new(2);
        let a = slot_of(&r);
        tokio::time::advance(Duration::from_millis(10)).await;
        let b = slot_of(&r);
        // a has waited longest: it is evicted for c.
        let c = slot_of(&r);
        assert_eq!(r.open(), 2);
        assert!(!r.conns.lock().unwrap().contains_key(&a.id));
        assert!(r.conns.lock().unwrap().contains_key(&b.id) && r.conns.lock().unwrap().contains_key(&c.id));
        // Both remaining connections in a handler: no room, the new one is refused.
        b.request_began();
        c.request_began();
        assert!(r.admit(&Counters::default()).is_none());
        assert_eq!(r.open(), 2);
        // c answers and waits again: it makes room.
        c.request_ended();
        assert!(r.admit(&Counters::default()).is_some());
        assert!(!r.conns.lock().unwrap().contains_key(&c.id));
    }

    #[test]
    fn the_next_check_is_the_deadline_when_it_comes_within_the_period() {
        let (now, period) = (Instant::now(), Duration::from_secs(10));
        let s = Duration::from_secs;
        assert_eq!(next_check(Some(now + s(3)), now, period), Some(now + s(3)), "due within the period: exactly then");
        assert_eq!(next_check(Some(now + s(60)), now, period), Some(now + s(10)), "later: look again after a period");
        assert_eq!(next_check(None, now, period), Some(now + s(10)), "in a handler: look again after a period");
        assert_eq!(next_check(Some(now), now, period), None, "due: time out");
        assert_eq!(next_check(Some(now - s(1)), now, period), None, "past: time out");
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_phase() {
        let limits = Limits {
            max_connections: 10,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 8192,
        };
        let r = Registry::new(10);
        let s = slot_of(&r);
        let t0 = Instant::now();
        assert_eq!(s.deadline(&limits), Some(t0 + Duration::from_secs(60)));
        tokio::time::advance(Duration::from_secs(5)).await;
        s.bytes_arrived();
        assert_eq!(s.deadline(&limits), Some(t0 + Duration::from_secs(15)), "a head has 10 s from its first byte");
        s.bytes_arrived();
        assert_eq!(s.deadline(&limits), Some(t0 + Duration::from_secs(15)), "later bytes do not extend it");
        s.request_began();
        assert_eq!(s.deadline(&limits), None, "a handler is never timed out here");
        tokio::time::advance(Duration::from_secs(100)).await;
        s.request_ended();
        assert_eq!(s.deadline(&limits), Some(t0 + Duration::from_secs(165)));
    }
}
