//! Accounts of the web UI: users (a name, a role, an argon2id password
//! hash) and their sessions (stored by the SHA-256 of the session cookie).

use marsad_core::UtcTime;

use crate::Role;

/// A user to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// The unique name the user signs in with.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// The password's argon2id hash, in PHC string form.
    pub password_hash: String,
}

/// A stored user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The password's argon2id hash (PHC string).
    pub password_hash: String,
    /// When it was made.
    pub created_at: UtcTime,
    /// When its password was last set.
    pub password_changed_at: UtcTime,
    /// When it was disabled (it cannot sign in).
    pub disabled_at: Option<UtcTime>,
}

/// A session to store: only the cookie's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// SHA-256 of the session cookie's value.
    pub hash: [u8; 32],
    /// The user signed in.
    pub user_id: i64,
    /// The CSRF token the session's forms and requests carry.
    pub csrf: String,
    /// When it was made.
    pub created_at: UtcTime,
    /// When it ends.
    pub expires_at: UtcTime,
}

/// A live session with its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The user signed in (never disabled).
    pub user: UserRecord,
    /// The session's CSRF token.
    pub csrf: String,
    /// When it was made.
    pub created_at: UtcTime,
    /// When it ends.
    pub expires_at: UtcTime,
}

/// Users and their sessions.
pub trait AccountStore {
    /// Stores a user; [`crate::StoreError::Conflict`] if the name is taken
    /// (by a disabled user too).
    fn add_user(&mut self, user: &NewUser) -> crate::Result<UserRecord>;

    /// Every user, disabled ones too, by name.
    fn users(&self) -> crate::Result<Vec<UserRecord>>;

    /// The user of that name.
    fn user(&self, name: &str) -> crate::Result<Option<UserRecord>>;

    /// Sets a user's password hash, now, and ends every session of the
    /// user; `false` if no user has that name.
    fn set_password(&mut self, name: &str, password_hash: &str) -> crate::Result<bool>;

    /// Disables a user, now, and ends every session of the user; `false`
    /// if no user not disabled has that name.
    fn disable_user(&mut self, name: &str) -> crate::Result<bool>;

    /// Stores a session (and deletes every session expired by its start).
    fn add_session(&mut self, session: &NewSession) -> crate::Result<()>;

    /// The session whose cookie hashes to `hash`, if it has not expired by
    /// `now` and its user is not disabled.
    fn session(&self, hash: &[u8; 32], now: UtcTime) -> crate::Result<Option<SessionRecord>>;

    /// Ends the session whose cookie hashes to `hash`; `false` if there is
    /// none.
    fn end_session(&mut self, hash: &[u8; 32]) -> crate::Result<bool>;
}
