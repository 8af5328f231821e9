//! Access tokens and the audit log: tokens are made here, shown once, and
//! stored as their SHA-256 only; the audit log is appended to by every
//! front end and read by admins.

use marsad_core::UtcTime;
use marsad_store::{AuditRecord, NewAuditEvent, NewToken, Role, StoreError, TokenRecord};
use serde::Serialize;
use sha2::Digest as _;

use crate::{Engine, EngineError, Result};

/// What every token starts with (so that secret scanners and people can
/// tell one).
pub const TOKEN_PREFIX: &str = "marsad_";

/// A token made by [`Engine::create_token`]: the only time it is seen.
#[derive(Clone, Debug, Serialize)]
pub struct TokenCreated {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: &'static str,
    /// The token itself (`marsad_` and 64 hex digits).
    pub token: String,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
}

/// A token as `token list` shows it (never the token).
#[derive(Clone, Debug, Serialize)]
pub struct TokenRow {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: &'static str,
    /// Its first characters.
    pub prefix: String,
    /// When it was made.
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

impl From<TokenRecord> for TokenRow {
    fn from(t: TokenRecord) -> Self {
        TokenRow {
            name: t.name,
            role: t.role.as_str(),
            prefix: t.prefix,
            created_at: t.created_at.to_rfc3339(),
            revoked_at: t.revoked_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// An audit event as `marsad audit` and the API show it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    /// Its place in the log.
    pub id: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// The status answered, for requests.
    pub status: Option<u16>,
    /// More (a JSON object).
    pub detail: Option<serde_json::Value>,
}

impl From<AuditRecord> for AuditRow {
    fn from(r: AuditRecord) -> Self {
        let e = r.event;
        AuditRow {
            id: r.id,
            at: e.at.to_rfc3339(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            status: e.status,
            detail: e.detail.map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
        }
    }
}

/// The SHA-256 a token is stored and looked up by.
pub fn token_hash(token: &str) -> [u8; 32] {
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// A role by name, or an error listing the roles.
pub fn parse_role(name: &str) -> Result<Role> {
    Role::parse(name).ok_or_else(|| {
        EngineError::Invalid(format!("unknown role {name:?}: use viewer, analyst, moderator or admin"))
    })
}

/// A token name: 1–64 printable characters.
fn check_token_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(EngineError::Invalid(format!(
            "invalid token name {name:?}: use 1 to 64 printable characters"
        )));
    }
    Ok(())
}

impl Engine {
    /// Makes a new random token with a role, stores its hash, and returns
    /// it (it cannot be shown again). [`EngineError::Conflict`] if a token
    /// not revoked has that name.
    pub fn create_token(&mut self, name: &str, role: Role) -> Result<TokenCreated> {
        check_token_name(name)?;
        let token = format!("{TOKEN_PREFIX}{}", crate::accounts::random_hex());
        let record = NewToken {
            name: name.to_owned(),
            role,
            hash: token_hash(&token),
            prefix: token[..TOKEN_PREFIX.len() + 6].to_owned(),
        };
        let stored = match self.store_mut().add_token(&record) {
            Err(StoreError::Conflict(_)) => {
                return Err(EngineError::Conflict(format!(
                    "a token named {name:?} exists (revoke it first)"
                )));
            }
            other => other?,
        };
        self.audit_now("cli", "token.create", Some(name), None)?;
        Ok(TokenCreated {
            name: stored.name,
            role: stored.role.as_str(),
            token,
            created_at: stored.created_at.to_rfc3339(),
        })
    }

    /// Every token, revoked ones too.
    pub fn tokens(&self) -> Result<Vec<TokenRow>> {
        Ok(self.store().tokens()?.into_iter().map(TokenRow::from).collect())
    }

    /// Revokes a token by name.
    pub fn revoke_token(&mut self, name: &str) -> Result<()> {
        if !self.store_mut().revoke_token(name)? {
            return Err(EngineError::NotFound(format!("no token named {name:?} (or it is revoked already)")));
        }
        self.audit_now("cli", "token.revoke", Some(name), None)
    }

    /// The token's record, if it is one not revoked.
    pub fn authenticate(&self, token: &str) -> Result<Option<TokenRecord>> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
            return Ok(None);
        }
        Ok(self.store().token_by_hash(&token_hash(token))?)
    }

    /// Appends events to the audit log.
    pub fn record_audit(&mut self, events: &[NewAuditEvent]) -> Result<()> {
        Ok(self.store_mut().append_audit(events)?)
    }

    /// Appends one event, now.
    pub fn audit_now(
        &mut self,
        actor: &str,
        action: &str,
        target: Option<&str>,
        detail: Option<String>,
    ) -> Result<()> {
        self.record_audit(&[NewAuditEvent {
            at: UtcTime::now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            status: None,
            detail,
        }])
    }

    /// The audit log from `since` (all when `None`), at most `limit` newest
    /// events, oldest first.
    pub fn audit(&self, since: Option<UtcTime>, limit: Option<u64>) -> Result<Vec<AuditRow>> {
        let mut out = Vec::new();
        self.store().audit(since, limit, &mut |r| {
            out.push(AuditRow::from(r));
            Ok(())
        })?;
        Ok(out)
    }
}
