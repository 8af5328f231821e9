//! Accounts of the web UI: users with a role and a password, stored only as
//! an argon2id hash, and their sessions, stored by the SHA-256 of the
//! session cookie. Every change is audited with who made it.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use marsad_core::UtcTime;
use marsad_store::{NewSession, NewUser, Role, StoreError, UserRecord};
use rand::RngCore as _;
use serde::Serialize;

use crate::access::token_hash;
use crate::error::invalid;
use crate::{Engine, EngineError, Result};

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The most bytes a password may have (it is hashed whole).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How long a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;

/// A user as `user list` shows it (never the password or its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UserRow {
    /// The name the user signs in with.
    pub name: String,
    /// `viewer`, `analyst`, `moderator` or `admin`.
    pub role: &'static str,
    /// When the user was made (RFC 3339, UTC).
    pub created_at: String,
    /// When the password was last set (RFC 3339, UTC).
    pub password_changed_at: String,
    /// When the user was disabled (RFC 3339, UTC), if so.
    pub disabled_at: Option<String>,
}

impl From<UserRecord> for UserRow {
    fn from(u: UserRecord) -> UserRow {
        UserRow {
            name: u.name,
            role: u.role.as_str(),
            created_at: u.created_at.to_rfc3339(),
            password_changed_at: u.password_changed_at.to_rfc3339(),
            disabled_at: u.disabled_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A session made by [`Engine::login`]: the cookie's value is seen only here.
#[derive(Clone, Debug)]
pub struct SessionCreated {
    /// The session cookie's value (64 hex digits).
    pub cookie: String,
    /// The CSRF token of the session's forms.
    pub csrf: String,
    /// Who signed in.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// When the session ends.
    pub expires_at: UtcTime,
}

/// A live session, found by its cookie.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who is signed in.
    pub user: String,
    /// The user's role.
    pub role: Role,
    /// The CSRF token the session's forms and requests must carry.
    pub csrf: String,
    /// When the session ends.
    pub expires_at: UtcTime,
}

/// The hasher: argon2id with OWASP's recommended minimum (19 MiB, two
/// passes, one lane), argon2's defaults.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A user name: 1–64 letters, digits, `.`, `_`, `-` or `@`.
fn check_user_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if !ok {
        return Err(invalid!(
            "invalid user name {name:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ));
    }
    Ok(())
}

/// A password: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_BYTES`] bytes, no control characters.
fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid!("the password is too short: use at least {MIN_PASSWORD_CHARS} characters"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(invalid!("the password is too long: use at most {MAX_PASSWORD_BYTES} bytes"));
    }
    if password.chars().any(char::is_control) {
        return Err(invalid!("the password has a control character"));
    }
    Ok(())
}

/// The argon2id hash of a password, in PHC string form, with a new salt.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| invalid!("cannot make a salt: {e}"))?;
    let hash = hasher()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| invalid!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` is the one `phc` (an argon2id PHC string) was made from.
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| hasher().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash no password matches, verified when the user is unknown so that
/// a sign-in takes as long whether the name exists or not.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_hex()).unwrap_or_default())
}

/// 32 random bytes as 64 hex digits (tokens, session cookies, CSRF tokens).
pub fn random_hex() -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret.iter().map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// Makes a user with a role and a password (stored as its argon2id
    /// hash); `actor` made it. [`EngineError::Conflict`] if the name is
    /// taken, by a disabled user too.
    pub fn create_user(&mut self, actor: &str, name: &str, role: Role, password: &str) -> Result<UserRow> {
        check_user_name(name)?;
        check_password(password)?;
        let user = NewUser { name: name.to_owned(), role, password_hash: hash_password(password)? };
        let stored = match self.store_mut().add_user(&user) {
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::Conflict(format!(
                    "a user named {name:?} exists (disabled users keep their name)"
                )));
            }
            other => other?,
        };
        self.audit_now(
            actor,
            "user.create",
            Some(name),
            Some(serde_json::json!({ "role": role.as_str() }).to_string()),
        )?;
        Ok(UserRow::from(stored))
    }

    /// Every user, disabled ones too, by name.
    pub fn users(&self) -> Result<Vec<UserRow>> {
        Ok(self.store().users()?.into_iter().map(UserRow::from).collect())
    }

    /// Disables a user (who can no longer sign in; their sessions end);
    /// `actor` did it.
    pub fn disable_user(&mut self, actor: &str, name: &str) -> Result<()> {
        if !self.store_mut().disable_user(name)? {
            return Err(EngineError::NotFound(format!("no user named {name:?} (or it is disabled already)")));
        }
        self.audit_now(actor, "user.disable", Some(name), None)
    }

    /// Sets a user's password (their sessions end); `actor` did it.
    pub fn set_password(&mut self, actor: &str, name: &str, password: &str) -> Result<()> {
        check_password(password)?;
        let hash = hash_password(password)?;
        if !self.store_mut().set_password(name, &hash)? {
            return Err(EngineError::NotFound(format!("no user named {name:?}")));
        }
        self.audit_now(actor, "user.passwd", Some(name), None)
    }

    /// Signs a user in: a new session when the name and password are a
    /// user's not disabled, else `None` (the same work either way, so the
    /// time taken does not tell whether the name exists). Both outcomes
    /// are audited.
    pub fn login(&mut self, name: &str, password: &str) -> Result<Option<SessionCreated>> {
        let user = if password.len() <= MAX_PASSWORD_BYTES { self.store().user(name)? } else { None };
        let verified = match &user {
            Some(u) => verify_password(&u.password_hash, password),
            None => verify_password(decoy_hash(), password),
        };
        let known = user.is_some();
        let Some(user) = user.filter(|u| verified && u.disabled_at.is_none()) else {
            // The name typed is kept only when it is a user's: an unknown
            // one may be a password typed in the wrong field.
            let detail =
                if known { serde_json::json!({ "user": name }) } else { serde_json::json!({ "user": null }) };
            self.audit_now("-", "auth.refused", Some("login"), Some(detail.to_string()))?;
            return Ok(None);
        };
        let cookie = random_hex();
        let csrf = random_hex();
        let now = UtcTime::now();
        let expires_at = UtcTime::from_unix_micros(now.unix_micros() + SESSION_HOURS * 3_600_000_000)
            .ok_or_else(|| invalid!("the clock is past the range of times"))?;
        self.store_mut().add_session(&NewSession {
            hash: token_hash(&cookie),
            user_id: user.id,
            csrf: csrf.clone(),
            created_at: now,
            expires_at,
        })?;
        self.audit_now(&user.name, "auth.login", None, None)?;
        Ok(Some(SessionCreated { cookie, csrf, user: user.name, role: user.role, expires_at }))
    }

    /// The live session of a cookie's value.
    pub fn session(&self, cookie: &str) -> Result<Option<Session>> {
        let found = self.store().session(&token_hash(cookie), UtcTime::now())?;
        Ok(found.map(|s| Session {
            user: s.user.name,
            role: s.user.role,
            csrf: s.csrf,
            expires_at: s.expires_at,
        }))
    }

    /// Ends the session of a cookie's value; whether there was one.
    pub fn logout(&mut self, cookie: &str) -> Result<bool> {
        let hash = token_hash(cookie);
        let who = self.store().session(&hash, UtcTime::now())?.map(|s| s.user.name);
        let ended = self.store_mut().end_session(&hash)?;
        if let Some(who) = who.filter(|_| ended) {
            self.audit_now(&who, "auth.logout", None, None)?;
        }
        Ok(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_as_argon2id_with_a_new_salt_and_verify() {
        let a = hash_password("correct horse battery").expect("hash");
        let b = hash_password("correct horse battery").expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a new salt each time");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse batterY"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        assert!(!verify_password(decoy_hash(), ""));
    }

    #[test]
    fn names_and_passwords_are_checked() {
        for ok in ["amal", "a.b-c_d@x", "عمر"] {
            assert!(check_user_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a\u{202e}b", "x/y", &"n".repeat(65)] {
            assert!(check_user_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_password("elevenchars").is_err());
        assert!(check_password("twelve chars").is_ok());
        assert!(check_password("كلمة سر طويلة").is_ok(), "characters, not bytes, are counted");
        assert!(check_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(check_password("twelve chars\t").is_err());
    }
}
