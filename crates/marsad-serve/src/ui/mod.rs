//! The web UI: server-rendered pages (maud templates compiled into the
//! binary; one stylesheet, no script, nothing fetched from elsewhere),
//! signed in with the accounts of `marsad user`.
//!
//! Pages authenticate by the session cookie ([`session::SESSION_COOKIE`]:
//! HttpOnly, SameSite=Strict, Secure behind TLS). Every state-changing
//! request carries the session's CSRF token, in the form's `csrf` field or
//! the `X-CSRF-Token` header, checked here for every page route at once;
//! the sign-in form has its own (double submit against
//! [`session::LOGIN_COOKIE`]). Failed sign-ins are bounded per name and
//! per client address ([`session::LoginLimiter`]). Every page checks the
//! role on the server ([`page_need`]).

/// The value of a page's step, or the error page answering its error (an
/// API error with its status, or a query string's problem as 400) for
/// `user`.
macro_rules! or_page {
    ($user:expr, $step:expr) => {
        match $step {
            Ok(v) => v,
            Err(e) => return $crate::ui::PageError::page(e, &$user),
        }
    };
}

mod catalogue;
mod dashboard;
mod media;
pub mod messages;
mod records;
mod release;
mod review;
pub mod session;
mod settings;
mod uploads;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Query, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use marsad_store::Role;
use maud::{DOCTYPE, Markup, html};

use crate::state::AppState;
use messages::{LANG_COOKIE, Lang};
use session::{
    CSRF_HEADER, LOGIN_COOKIE, SESSION_COOKIE, behind_tls, cookie, random_hex, same_secret, set_cookie,
};

/// Who is signed in: put in a page request's extensions by [`guard`].
#[derive(Clone, Debug)]
pub struct UiUser {
    /// The user's name.
    pub name: String,
    /// The user's role.
    pub role: Role,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
    /// What protects the user: blur level, exposure today and its limit.
    pub protection: marsad_engine::protection::Protection,
    /// The language of the pages.
    pub lang: Lang,
}

impl UiUser {
    /// `en` in the user's language.
    pub fn t(&self, en: &'static str) -> &'static str {
        self.lang.t(en)
    }
}

/// The largest form a page accepts (a sign-in, a decision, a note).
const MAX_FORM: usize = 64 * 1024;

/// The role a page request needs (the sign-in page and the stylesheet
/// need none and are not behind [`guard`]): the audit log is the admins'
/// (as `/api/v1/audit`), the review queue and its decisions the
/// moderators', every other page a viewer's.
pub fn page_need(method: &Method, path: &str) -> Role {
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/audit") || under("/admin") {
        Role::Admin
    } else if under("/review") || (path == "/banks/import" && method == Method::POST) {
        // Bank writes are a moderator's, as in the API.
        Role::Moderator
    } else if path == "/jobs" && method == Method::POST {
        // Ingest is an analyst's, as in the API.
        Role::Analyst
    } else if path.starts_with("/releases/") && path.ends_with("/codes") && method == Method::POST {
        // Coding is an analyst's work.
        Role::Analyst
    } else if under("/media") && path.ends_with("/reveal") && method == Method::POST {
        // Seeing material unblurred is an analyst's or a moderator's work.
        Role::Analyst
    } else {
        Role::Viewer
    }
}

/// The UI's routes over the app's state.
pub(crate) fn routes(state: &Arc<AppState>, jobs: crate::jobs::Jobs) -> Router<Arc<AppState>> {
    let pages = Router::new()
        .route("/", get(dashboard::dashboard))
        .route("/releases", get(catalogue::releases))
        .route("/releases/{id}", get(release::release))
        .route("/releases/{id}/codes", post(release::code))
        .route("/themes", get(release::themes))
        .route("/posts", get(catalogue::posts))
        .route("/outlets", get(release::outlets))
        .route("/outlets/{name}", get(release::outlet))
        .route("/sources", get(records::sources))
        .route("/banks", get(records::banks))
        .route("/banks/import", post(uploads::import_bank))
        .route("/banks/{name}", get(records::bank))
        .route("/banks/{name}/export", get(uploads::export_bank))
        .route("/matches", get(records::matches))
        .route("/jobs", get(records::jobs).post(uploads::upload_job))
        .route("/audit", get(records::audit))
        .route("/review", get(review::queue))
        .route("/review/decide", post(review::decide))
        .route("/review/undo", post(review::undo))
        .route("/media/{sha}/preview/{n}", get(media::preview))
        .route("/media/{sha}/reveal", post(media::reveal))
        .route("/settings", get(settings::settings))
        .route("/settings/blur", post(settings::set_blur))
        .route("/admin/protection", post(settings::set_protection))
        .route("/admin/users", post(settings::create_user))
        .route("/admin/users/disable", post(settings::disable_user))
        .route("/logout", post(logout))
        .route_layer(from_fn_with_state(state.clone(), guard))
        .layer(axum::Extension(jobs))
        .layer(axum::extract::DefaultBodyLimit::max((state.cfg.max_upload + (1 << 20)) as usize));
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/ui/marsad.css", get(stylesheet))
        .merge(pages)
        .layer(from_fn_with_state(state.clone(), page_layer))
}

/// Around every UI request: its metrics and request log line (as the API's
/// guard does), and the headers every page gets: nothing from elsewhere
/// may load, the page may not be framed, nothing is cached or sent as a
/// referrer.
async fn page_layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| path.clone(), |m| m.as_str().to_owned());
    let mut response = next.run(req).await;
    let who = response.extensions().get::<UiUser>().map_or_else(|| "-".to_owned(), |u| u.name.clone());
    crate::auth::observed(&state, &method, &path, &route, response.status().as_u16(), started, &who);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// An HTML answer.
fn html_response(status: StatusCode, markup: Markup) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], markup.into_string()).into_response()
}

/// `name` as one segment of a path: percent-encoded, a space as `%20`
/// (form encoding's `+` is a plus sign in a path).
pub(super) fn path_segment(name: &str) -> String {
    form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20")
}

/// A redirect after a form (303: the browser follows with a GET).
fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A page's frame: the header with the user and sign-out, then `body`, in
/// the user's language.
fn page(title: &str, user: Option<&UiUser>, body: Markup) -> Markup {
    page_in(user.map_or(Lang::En, |u| u.lang), title, user, body)
}

/// A page's frame in `lang` (right to left in Arabic).
fn page_in(lang: Lang, title: &str, user: Option<&UiUser>, body: Markup) -> Markup {
    let t = |en: &'static str| lang.t(en);
    let other = if lang == Lang::Ar { Lang::En } else { Lang::Ar };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) dir=(lang.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · marsad" }
                link rel="stylesheet" href="/ui/marsad.css";
                // no icon to fetch
                link rel="icon" href="data:,";
            }
            body {
                header.top {
                    a.brand href="/" { "marsad" }
                    @if let Some(u) = user {
                        nav {
                            a href="/" { (t("Dashboard")) } a href="/releases" { (t("Releases")) } a href="/posts" { (t("Posts")) }
                            a href="/outlets" { (t("Outlets")) } a href="/sources" { (t("Sources")) } a href="/banks" { (t("Banks")) }
                            a href="/matches" { (t("Matches")) } a href="/jobs" { (t("Jobs")) } a href="/themes" { (t("Themes")) }
                            @if u.role >= Role::Moderator { a href="/review" { (t("Review")) } }
                            @if u.role >= Role::Admin { a href="/audit" { (t("Audit")) } }
                        }
                    }
                    div.who {
                        a.lang href={ "?lang=" (other.code()) } hreflang=(other.code()) lang=(other.code()) {
                            @if other == Lang::Ar { "العربية" } @else { "English" }
                        }
                        @if let Some(u) = user {
                            @let p = &u.protection;
                            span.exposure.over[p.exposure_today > p.exposure_limit] title="items you revealed today (UTC), and the soft limit" {
                                (t("Revealed today")) ": " (p.exposure_today) " / " (p.exposure_limit)
                            }
                            a.user href="/settings" { bdi { (u.name) } " · " (u.role.as_str()) }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(u.csrf);
                                button type="submit" { (t("Sign out")) }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// What a page's step can fail with, as the page answering it.
trait PageError {
    fn page(self, user: &UiUser) -> Response;
}

impl PageError for crate::error::ApiError {
    fn page(self, user: &UiUser) -> Response {
        error_page(self.status, Some(user), &catalogue::problem(&self))
    }
}

/// A query string that did not parse ([`catalogue::given`]).
impl PageError for String {
    fn page(self, user: &UiUser) -> Response {
        error_page(StatusCode::BAD_REQUEST, Some(user), &self)
    }
}

/// An error page.
fn error_page(status: StatusCode, user: Option<&UiUser>, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    html_response(status, page(title, user, html! { h1 { (title) } p.error { (message) } }))
}

/// Only a path of this site (`/…`, never `//host` or a scheme) is a place
/// to go back to after signing in.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.chars().any(char::is_control) =>
        {
            p.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Authenticates a page request by its session cookie, checks the role and,
/// for a state-changing request, the CSRF token.
async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let found = match cookie(req.headers(), SESSION_COOKIE).map(str::to_owned) {
        Some(c) => match state.session(c).await {
            Ok(s) => s,
            Err(e) => return error_page(e.status, None, "the store could not be read; try again"),
        },
        None => None,
    };
    let Some(session) = found else {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let here = req.uri().path_and_query().map_or("/", |p| p.as_str());
            let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
            return see_other(&format!("/login?next={next}"));
        }
        return error_page(StatusCode::UNAUTHORIZED, None, "Your session has ended: sign in again.");
    };
    let name = session.user.clone();
    let protection = match state.with_engine(move |e| Ok(e.protection(&name)?)).await {
        Ok(p) => p,
        Err(e) => return error_page(e.status, None, "the store could not be read; try again"),
    };
    let (lang, chosen) = Lang::of_request(req.headers(), req.uri().query());
    let secure = behind_tls(req.headers());
    let user = UiUser { name: session.user, role: session.role, csrf: session.csrf, protection, lang };
    let need = page_need(req.method(), req.uri().path());
    if user.role < need {
        return error_page(
            StatusCode::FORBIDDEN,
            Some(&user),
            &format!("This page needs the {need} role; you have {}.", user.role.as_str()),
        );
    }
    let mut req = if matches!(*req.method(), Method::GET | Method::HEAD) {
        req
    } else {
        match csrf_checked(req, &user.csrf, uploads::takes_files).await {
            Ok(req) => req,
            Err(why) => return error_page(StatusCode::FORBIDDEN, Some(&user), why),
        }
    };
    req.extensions_mut().insert(user.clone());
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let mut response = next.run(req).await;
    // Every page seen and every form sent, by whom (the query string is
    // left out: a search's words are the user's business). Blurred
    // previews are not views of the material; a reveal is audited by
    // the engine as `ui.reveal`.
    if !(path.starts_with("/media/") && path.contains("/preview/")) {
        let read = matches!(method, Method::GET | Method::HEAD);
        state.audit(marsad_store::NewAuditEvent {
            at: marsad_core::UtcTime::now(),
            actor: user.name.clone(),
            action: if read { "ui.read" } else { "ui.write" }.to_owned(),
            target: Some(path),
            status: Some(response.status().as_u16()),
            detail: None,
        });
    }
    if chosen {
        // Kept for the next pages (a year).
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(LANG_COOKIE, lang.code(), "/", 365 * 86_400, secure));
    }
    // for the request log
    response.extensions_mut().insert(user);
    response
}

/// The request, if it carries the session's CSRF token in the
/// `X-CSRF-Token` header or the `csrf` field of its (URL-encoded) form; a
/// `multipart/form-data` body (a file) only to a path `takes_files`
/// names, whose handler reads the token as the body's first part
/// ([`crate::upload::csrf_first`]).
async fn csrf_checked(
    req: Request,
    csrf: &str,
    takes_files: fn(&str) -> bool,
) -> Result<Request, &'static str> {
    const REFUSED: &str =
        "This form has expired or did not come from this site: reload the page and try again.";
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same_secret(v, csrf) { Ok(req) } else { Err(REFUSED) };
    }
    let content_type =
        req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("multipart/form-data") && takes_files(req.uri().path()) {
        return Ok(req);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(REFUSED);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| "The form is too large.")?;
    let sent = form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
    if !sent.is_some_and(|s| same_secret(&s, csrf)) {
        return Err(REFUSED);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    next: Option<String>,
}

fn login_markup(lang: Lang, csrf: &str, next: &str, name: &str, error: Option<&str>) -> Markup {
    let t = |en: &'static str| lang.t(en);
    page_in(
        lang,
        t("Sign in"),
        None,
        html! {
            section.signin {
                h1 { (t("Sign in")) }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="next" value=(next);
                    label for="name" { (t("Name")) }
                    input id="name" type="text" name="name" value=(name) autocomplete="username" required autofocus;
                    label for="password" { (t("Password")) }
                    input id="password" type="password" name="password" autocomplete="current-password" required;
                    button type="submit" { (t("Sign in")) }
                }
            }
        },
    )
}

/// A sign-in form with a new CSRF cookie.
fn login_form(
    headers: &HeaderMap,
    query: Option<&str>,
    status: StatusCode,
    next: &str,
    name: &str,
    error: Option<&str>,
) -> Response {
    let csrf = random_hex();
    let (lang, chosen) = Lang::of_request(headers, query);
    let error = error.map(|e| lang.tr(e));
    let mut r = html_response(status, login_markup(lang, &csrf, next, name, error));
    let secure = behind_tls(headers);
    r.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &csrf, "/login", 3600, secure));
    if chosen {
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(LANG_COOKIE, lang.code(), "/", 365 * 86_400, secure));
    }
    r
}

async fn login_page(headers: HeaderMap, RawQuery(query): RawQuery, Query(q): Query<LoginQuery>) -> Response {
    login_form(&headers, query.as_deref(), StatusCode::OK, &local_path(q.next.as_deref()), "", None)
}

async fn login_submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Response {
    let next = local_path(f.next.as_deref());
    let name: String = f.name.chars().take(64).collect();
    if !cookie(&headers, LOGIN_COOKIE).is_some_and(|c| same_secret(c, &f.csrf)) {
        let why = "The sign-in form had expired: try again.";
        return login_form(&headers, None, StatusCode::FORBIDDEN, &next, &name, Some(why));
    }
    let address = client.ip().to_string();
    if let Some(wait) = state.logins.blocked(&name, &address) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let why = format!(
            "Too many failed sign-ins: try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let mut r = login_form(&headers, None, StatusCode::TOO_MANY_REQUESTS, &next, &name, Some(&why));
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return r;
    }
    let (who, password) = (name.clone(), f.password);
    match state.with_engine(move |e| Ok(e.login(&who, &password)?)).await {
        Ok(Some(s)) => {
            state.logins.succeeded(&name);
            let secure = behind_tls(&headers);
            let mut r = see_other(&next);
            let age = u64::try_from(marsad_engine::accounts::SESSION_HOURS * 3600).unwrap_or(3600);
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, &s.cookie, "/", age, secure));
            r.headers_mut().append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", "/login", 0, secure));
            r
        }
        Ok(None) => {
            state.logins.failed(&name, &address);
            login_form(
                &headers,
                None,
                StatusCode::UNAUTHORIZED,
                &next,
                &name,
                Some("Wrong name or password."),
            )
        }
        Err(e) => error_page(e.status, None, "the store could not be read; try again"),
    }
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(c) = cookie(&headers, SESSION_COOKIE).map(str::to_owned)
        && let Err(e) = state.with_engine(move |e| Ok(e.logout(&c)?)).await
    {
        return error_page(e.status, None, "the store could not be written; try again");
    }
    let mut r = see_other("/login");
    r.headers_mut().append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", "/", 0, behind_tls(&headers)));
    r
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("marsad.css"),
    )
        .into_response()
}
