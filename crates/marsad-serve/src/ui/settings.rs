//! Settings: each user's blur level (never below the admin's floor); for
//! admins, the blur floor and the daily exposure soft limit, and the
//! accounts (made with a password typed twice, as `marsad user create`
//! asks, and disabled).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use marsad_engine::protection::MAX_BLUR;
use marsad_store::Role;
use maud::html;

use super::catalogue::problem;
use super::{UiUser, error_page, html_response, page, see_other};
use crate::state::AppState;

type Form = axum::Form<Vec<(String, String)>>;

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

/// `GET /settings`.
pub(super) async fn settings(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
) -> Response {
    let admin = user.role >= Role::Admin;
    let users = if admin { or_page!(user, state.with_engine(|e| Ok(e.users()?)).await) } else { Vec::new() };
    let p = user.protection;
    let body = html! {
        h1 { (user.t("Settings")) }
        h2 { "Reviewer protection" }
        p.meta { "Images and video frames are shown blurred and grey at this level; 0 is no blur. The lowest level allowed is " (p.floor) "." }
        form.filters method="post" action="/settings/blur" {
            input type="hidden" name="csrf" value=(user.csrf);
            label {
                span { (user.t("Blur level")) }
                select name="blur" {
                    option value="" selected[p.chosen.is_none()] { "the default" }
                    @for l in p.floor..=MAX_BLUR { option value=(l) selected[p.chosen == Some(l)] { (l) } }
                }
            }
            button type="submit" { (user.t("Save")) }
        }
        @if admin {
            h2 { "For everyone (admin)" }
            form.filters method="post" action="/admin/protection" {
                input type="hidden" name="csrf" value=(user.csrf);
                label { span { "Blur floor" } input type="text" name="floor" value=(p.floor) inputmode="numeric"; }
                label { span { "Items revealed per day before a warning" } input type="text" name="limit" value=(p.exposure_limit) inputmode="numeric"; }
                button type="submit" { (user.t("Save")) }
            }
            h2 { (user.t("Accounts (admin)")) }
            table.list {
                thead { tr { th { (user.t("Name")) } th { "Role" } th { "Made" } th { "Password set" } th { "" } } }
                tbody {
                    @for u in &users {
                        tr {
                            td { bdi { (u.name) } }
                            td { (u.role) }
                            td { time { (u.created_at) } }
                            td { time { (u.password_changed_at) } }
                            td {
                                @if let Some(d) = &u.disabled_at { "disabled " time { (d) } }
                                @else if u.name != user.name {
                                    form.inline method="post" action="/admin/users/disable" {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        input type="hidden" name="name" value=(u.name);
                                        button.reject type="submit" { "Disable" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "A new account" }
            form.filters method="post" action="/admin/users" {
                input type="hidden" name="csrf" value=(user.csrf);
                label { span { (user.t("Name")) } input type="text" name="name" required autocomplete="off"; }
                label {
                    span { "Role" }
                    select name="role" { @for r in ["viewer", "analyst", "moderator", "admin"] { option value=(r) { (r) } } }
                }
                label { span { (user.t("Password")) } input type="password" name="password" required autocomplete="new-password"; }
                label { span { "Again" } input type="password" name="again" required autocomplete="new-password"; }
                button type="submit" { "Create" }
            }
        }
    };
    html_response(StatusCode::OK, page(user.t("Settings"), Some(&user), body))
}

/// `POST /settings/blur`: the user's own level.
pub(super) async fn set_blur(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    axum::Form(form): Form,
) -> Response {
    let level = match field(&form, "blur") {
        "" => None,
        v => match v.parse::<u8>() {
            Ok(l) => Some(l),
            Err(_) => {
                return error_page(StatusCode::BAD_REQUEST, Some(&user), &format!("blur {v:?}: not a level"));
            }
        },
    };
    let who = user.name.clone();
    match state.with_engine(move |e| Ok(e.set_blur(&who, level)?)).await {
        Ok(_) => see_other("/settings"),
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}

/// `POST /admin/protection`: the floor and the soft limit.
pub(super) async fn set_protection(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    axum::Form(form): Form,
) -> Response {
    let (Ok(floor), Ok(limit)) =
        (field(&form, "floor").trim().parse::<u8>(), field(&form, "limit").trim().parse::<u64>())
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&user),
            "The floor and the limit are whole numbers.",
        );
    };
    let who = user.name.clone();
    match state.with_engine(move |e| Ok(e.set_protection(&who, floor, limit)?)).await {
        Ok(()) => see_other("/settings"),
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}

/// `POST /admin/users`: a new account.
pub(super) async fn create_user(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    axum::Form(form): Form,
) -> Response {
    let (name, password) = (field(&form, "name").to_owned(), field(&form, "password").to_owned());
    if password != field(&form, "again") {
        return error_page(StatusCode::BAD_REQUEST, Some(&user), "The two passwords differ.");
    }
    let role = match marsad_engine::access::parse_role(field(&form, "role")) {
        Ok(r) => r,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, Some(&user), &e.to_string()),
    };
    let who = user.name.clone();
    match state.with_engine(move |e| Ok(e.create_user(&who, &name, role, &password)?)).await {
        Ok(_) => see_other("/settings"),
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}

/// `POST /admin/users/disable`.
pub(super) async fn disable_user(
    State(state): State<Arc<AppState>>,
    Extension(user): Extension<UiUser>,
    axum::Form(form): Form,
) -> Response {
    let name = field(&form, "name").to_owned();
    if name == user.name {
        return error_page(StatusCode::BAD_REQUEST, Some(&user), "You cannot disable your own account here.");
    }
    let who = user.name.clone();
    match state.with_engine(move |e| Ok(e.disable_user(&who, &name)?)).await {
        Ok(()) => see_other("/settings"),
        Err(e) => error_page(e.status, Some(&user), &problem(&e)),
    }
}
