//! Sessions of the web UI: cookies, the CSRF check, and the bound on
//! failed sign-ins.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};

/// The session cookie (its value is known only to the browser; the store
/// keeps its SHA-256).
pub const SESSION_COOKIE: &str = "marsad_session";

/// The sign-in form's own CSRF cookie (double submit: the form carries the
/// same value).
pub const LOGIN_COOKIE: &str = "marsad_login";

/// The header the UI's own API requests carry the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookie_value(headers, name).filter(|v| v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The value of cookie `name` if it is 1 to 128 ASCII letters, digits,
/// `-` or `_` (a preference such as the language).
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Whether the request came over TLS to a proxy in front (which says so
/// in `X-Forwarded-Proto`): cookies are then marked `Secure`.
pub fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for `path`, lasting
/// `max_age` seconds (0 removes it), Secure behind TLS.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub use marsad_engine::accounts::random_hex;

/// Failed sign-ins allowed per user name in a window.
pub const MAX_FAILURES_PER_NAME: u32 = 5;
/// Failed sign-ins allowed per client address in a window.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 20;
/// The window.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most (the oldest windows are forgotten first).
const MAX_KEYS: usize = 100_000;

/// Failed sign-ins counted per user name and per client address over a
/// window: over the limit, sign-ins are refused without checking the
/// password until the window ends.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginLimiter {
    /// How long until `name` from `address` may try again, when over a
    /// limit now.
    pub fn blocked(&self, name: &str, address: &str) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let wait = |key: String, max: u32| {
            map.get(&key).and_then(|(n, since)| {
                let left = FAILURE_WINDOW.checked_sub(since.elapsed())?;
                (*n >= max).then_some(left)
            })
        };
        match (
            wait(format!("name {name}"), MAX_FAILURES_PER_NAME),
            wait(format!("address {address}"), MAX_FAILURES_PER_ADDRESS),
        ) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, name: &str, address: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        for key in [format!("name {name}"), format!("address {address}")] {
            let entry = map.entry(key).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= FAILURE_WINDOW {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    /// Forgets the failures of `name` (it signed in).
    pub fn succeeded(&self, name: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(&format!("name {name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_and_checked() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; marsad_session=00ff; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("marsad_login=abc"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("00ff"));
        assert_eq!(cookie(&h, LOGIN_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        let mut bad = HeaderMap::new();
        bad.insert(header::COOKIE, HeaderValue::from_static("marsad_session=zz<script>"));
        assert_eq!(cookie(&bad, SESSION_COOKIE), None);
    }

    #[test]
    fn failures_block_a_name_then_an_address() {
        let l = LoginLimiter::default();
        for _ in 0..MAX_FAILURES_PER_NAME {
            assert_eq!(l.blocked("amal", "10.0.0.1"), None);
            l.failed("amal", "10.0.0.1");
        }
        assert!(l.blocked("amal", "10.0.0.2").is_some(), "the name is blocked from anywhere");
        assert_eq!(l.blocked("badr", "10.0.0.2"), None);
        l.succeeded("amal");
        assert_eq!(l.blocked("amal", "10.0.0.2"), None);
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            l.failed(&format!("user{i}"), "10.0.0.3");
        }
        assert!(l.blocked("someone", "10.0.0.3").is_some(), "the address is blocked for any name");
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abcd", "abcd"));
        assert!(!same_secret("abcd", "abce"));
        assert!(!same_secret("abcd", "abc"));
    }
}
