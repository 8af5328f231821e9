//! Authentication and authorization of every request, and its metrics and
//! audit record: one middleware in front of every route.
//!
//! Every route but `/status`, `/status/live` and `/site-map` needs
//! `Authorization: Bearer <token>` (with `--hma-open`, the `/h` and `/m`
//! routes do not), or the web UI's session cookie, with the session's
//! CSRF token in `X-CSRF-Token` for anything but a read (the UI's own
//! requests). The role a route needs is decided here, from its method
//! and path, for every route at once; a handler never decides it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use marsad_core::UtcTime;
use marsad_store::{NewAuditEvent, Role};

use crate::error::ApiError;
use crate::state::AppState;

/// Who is calling: put in the request's extensions by the middleware.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's name (`-` for an open route).
    pub name: String,
    /// Its role (`None` on an open route).
    pub role: Option<Role>,
}

/// What a route needs: nothing (open), or a role at least.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone.
    Open,
    /// A token with this role or a higher one.
    Role(Role),
}

/// The role a request to `path` with `method` needs.
pub fn need(method: &Method, path: &str, hma_open: bool) -> Need {
    let write = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if matches!(path, "/status" | "/status/live" | "/site-map") {
        return Need::Open;
    }
    if path.starts_with("/h/") || path.starts_with("/m/") {
        // Hashing and matching only read, whatever the method.
        return if hma_open { Need::Open } else { Need::Role(Role::Viewer) };
    }
    if path.starts_with("/c/signal_type") && write {
        return Need::Role(Role::Admin);
    }
    if path.starts_with("/c/") {
        return Need::Role(if write { Role::Moderator } else { Role::Viewer });
    }
    if path.starts_with("/api/v1/audit") || path.starts_with("/api/v1/tokens") {
        return Need::Role(Role::Admin);
    }
    // The review queue and its decisions are the moderators', to read too.
    if path.starts_with("/api/v1/review") || path.starts_with("/api/v1/decisions") {
        return Need::Role(Role::Moderator);
    }
    if path.starts_with("/api/v1/") && write {
        return Need::Role(Role::Analyst);
    }
    Need::Role(Role::Viewer)
}

/// What the audit log calls a request: lookups and hashing by name (their
/// content is never recorded), reads as `read`, writes by method and route.
fn action(method: &Method, path: &str, route: &str) -> String {
    if path.starts_with("/m/") {
        return "lookup".to_owned();
    }
    if path.starts_with("/h/") {
        return "hash".to_owned();
    }
    if matches!(*method, Method::GET | Method::HEAD) {
        return "read".to_owned();
    }
    format!("{method} {route}")
}

fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The middleware: authenticates, authorizes, answers, then counts the
/// request and records it in the audit log.
pub async fn guard(State(state): State<Arc<AppState>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let need = need(&method, &path, state.cfg.hma_open);
    let mut actor = "-".to_owned();
    let response = match need {
        Need::Open => {
            let client = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "-".to_owned(), |c| format!("address {}", c.0.ip()));
            req.extensions_mut().insert(Caller { name: actor.clone(), role: None });
            match state.request_slot(&client) {
                Some(_slot) => next.run(req).await,
                None => too_many(&state, &client),
            }
        }
        Need::Role(role) => match authenticate(&state, Credentials::of(&req)).await {
            Err(refusal) => {
                state.audit(NewAuditEvent {
                    at: UtcTime::now(),
                    actor: "-".to_owned(),
                    action: "auth.refused".to_owned(),
                    target: Some(route.clone()),
                    status: Some(refusal.status.as_u16()),
                    detail: None,
                });
                refusal.into_response()
            }
            Ok(caller) => {
                actor = caller.name.clone();
                if caller.role.is_some_and(|r| r >= role) {
                    let name = format!("token {:?}", caller.name);
                    req.extensions_mut().insert(caller);
                    match state.request_slot(&name) {
                        Some(_slot) => next.run(req).await,
                        None => too_many(&state, &name),
                    }
                } else {
                    ApiError::forbidden(format!(
                        "this needs the {role} role; token {:?} has {}",
                        caller.name,
                        caller.role.map_or("none", Role::as_str)
                    ))
                    .into_response()
                }
            }
        },
    };
    let status = response.status().as_u16();
    observed(&state, &method, &path, &route, status, started, &actor);
    if !matches!(path.as_str(), "/status" | "/status/live" | "/site-map" | "/metrics") && status != 401 {
        state.audit(NewAuditEvent {
            at: UtcTime::now(),
            actor,
            action: action(&method, &path, &route),
            target: Some(if route == "unmatched" { path } else { route }),
            status: Some(status),
            detail: None,
        });
    }
    response
}

/// Counts a request in the metrics and writes its line of the request log
/// (`marsad -v serve`, or `MARSAD_LOG=marsad_serve::access=info`): never
/// the query string, which carries the hashes looked up.
pub(crate) fn observed(
    state: &AppState,
    method: &Method,
    path: &str,
    route: &str,
    status: u16,
    started: Instant,
    who: &str,
) {
    let seconds = started.elapsed().as_secs_f64();
    state.metrics.request(method.as_str(), route, status, seconds);
    tracing::info!(
        target: "marsad_serve::access",
        method = %method,
        path = %path,
        status,
        ms = format_args!("{:.3}", seconds * 1e3),
        who = %who,
        "request"
    );
}

/// 429 for a caller over its share of requests in flight.
fn too_many(state: &AppState, caller: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "{caller} has {} requests in flight already (--token-concurrency); try again when one is answered",
            state.cfg.token_concurrency
        ),
    )
    .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// What a request brings to authenticate with.
struct Credentials {
    bearer: Option<String>,
    session: Option<String>,
    csrf: Option<String>,
    read: bool,
}

impl Credentials {
    fn of(req: &Request) -> Credentials {
        use crate::ui::session;
        Credentials {
            bearer: bearer(req).map(str::to_owned),
            session: session::cookie(req.headers(), session::SESSION_COOKIE).map(str::to_owned),
            csrf: req.headers().get(session::CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned),
            read: matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS),
        }
    }
}

async fn authenticate(state: &Arc<AppState>, creds: Credentials) -> Result<Caller, ApiError> {
    use crate::ui::session;
    let Some(token) = creds.bearer else {
        if let Some(cookie) = creds.session {
            let found = state.session(cookie).await?;
            let Some(s) = found else {
                return Err(ApiError::unauthorized("the session has ended: sign in again"));
            };
            if !creds.read && !creds.csrf.is_some_and(|c| session::same_secret(&c, &s.csrf)) {
                return Err(ApiError::forbidden(
                    "a request with the session cookie needs its CSRF token in X-CSRF-Token",
                ));
            }
            return Ok(Caller { name: s.user, role: Some(s.role) });
        }
        return Err(ApiError::unauthorized("Authentication required: send Authorization: Bearer <token>"));
    };
    if !token.starts_with(marsad_engine::access::TOKEN_PREFIX) || token.len() > 128 {
        return Err(ApiError::unauthorized("invalid token"));
    }
    match state.token(marsad_engine::access::token_hash(&token)).await? {
        Some(t) => Ok(Caller { name: t.name, role: Some(t.role) }),
        None => Err(ApiError::unauthorized("invalid token")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_need_what_the_readme_says() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(need(&get, "/status", false), Need::Open);
        assert_eq!(need(&get, "/m/raw_lookup", false), Need::Role(Role::Viewer));
        assert_eq!(need(&get, "/m/raw_lookup", true), Need::Open);
        assert_eq!(need(&post, "/m/lookup", true), Need::Open);
        assert_eq!(need(&post, "/c/banks", true), Need::Role(Role::Moderator));
        assert_eq!(need(&get, "/c/banks", false), Need::Role(Role::Viewer));
        assert_eq!(need(&Method::PUT, "/c/signal_type/pdq", false), Need::Role(Role::Admin));
        assert_eq!(need(&get, "/api/v1/audit", false), Need::Role(Role::Admin));
        assert_eq!(need(&get, "/api/v1/releases", false), Need::Role(Role::Viewer));
        assert_eq!(need(&get, "/api/v1/export", false), Need::Role(Role::Viewer));
        assert_eq!(need(&post, "/api/v1/outlets", false), Need::Role(Role::Analyst));
        assert_eq!(need(&get, "/metrics", false), Need::Role(Role::Viewer));
        assert_eq!(need(&post, "/api/v1/jobs", false), Need::Role(Role::Analyst));
        assert_eq!(need(&get, "/api/v1/jobs/1", false), Need::Role(Role::Viewer));
        assert_eq!(need(&get, "/nowhere", false), Need::Role(Role::Viewer));
    }
}
